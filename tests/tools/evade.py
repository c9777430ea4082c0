#!/usr/bin/python3
"""evade.py - the senders of tests/netns/test_evasion.sh: one way each to
get a message naming Skype/Teams past an inline reader (skyfenced and its
nDPI 4.2), while the server's own stack and application read it whole.

Run inside the client's network namespace. Each prints one line,
"evade CASE: ..." and exits 0 once it sent everything (whether the server
got it is judged at the server, from its log), 1 on a local error, 2 on
usage. The raw TCP cases do the handshake themselves: the namespace must
drop the kernel's own resets (iptables -A OUTPUT -p tcp --tcp-flags RST
RST -j DROP, and ip6tables).

Raw TCP (scapy builds the segments; sent and read on raw IP sockets; what
the server has not acknowledged is retransmitted in order, as a TCP would,
for --wait seconds):
  plain     the ClientHello in one segment, in order (baseline)
  ooo       the ClientHello in two segments, the later one (with the SNI)
            sent first
  paws      timestamps negotiated; a decoy ClientHello (--decoy) with a
            stale TSval (the server's PAWS check discards it), then the
            real one at the same sequence number
  window    no window scaling; a decoy ClientHello just past the server's
            receive window (discarded by it), then the real one in order
  urg       one junk byte inside the SNI, sent as urgent data (URG, urgent
            pointer): the server's stack takes it out of the stream
  bytes     the ClientHello in 1-byte segments
  acks      80 empty ACKs, then the ClientHello
  restart   half the ClientHello, then "half-sent" on stdout; waits for
            --go FILE to exist, then sends the other half
  reopen    a Teams ClientHello whose first extension (an unknown type)
            holds one byte and a whole ClientHello record for --decoy:
            the bytes up to that extension's content, then (--how) a FIN
            without ACK or with a stale timestamp that the server drops,
            one byte the server takes, a SYN of "another connection" whose
            number puts the decoy at its stream's start (the server answers
            it with a challenge ACK), the decoy, and the rest
Over the kernel's TCP (a normal socket):
  tls-1rec      the ClientHello in one TLS record
  tls-ssl       a whole TLS handshake (Python's ssl, no certificate check),
                then a close (with --sport: a tuple reused after an earlier
                connection's TIME_WAIT)
  tls-2rec      the ClientHello spread over two TLS records
  http-split    the Host line split across two segments
  http-lines    Host after 70 other header lines
  http-space    "Host :" (a blank before the colon)
  http-twice    two Host lines: --decoy first, --host second
  http-keepalive  a request for --decoy, its response, then one for --host
  http-proxy    an absolute-form proxy request GET http://HOST/ to the port,
                with the Host line --decoy (a proxy ignores it), none for
                --decoy -, HOST's own for --decoy ""
  dns-second    DNS over TCP: a query for --decoy, its answer, then --qname
  dns-two       DNS over TCP: --decoy and --qname queries in one segment
  dns-plain     DNS over TCP: one query (baseline)
  http-plain    one ordinary request (baseline)
  socks5        SOCKS5 CONNECT to the domain --sni (ATYP 3), then a
                ClientHello for it through the tunnel
  socks4a       SOCKS4a CONNECT to the domain, then a ClientHello
  stun-tcp      a STUN binding request over TCP, bare or --framed (RFC 4571
                2-byte length), --skype for the MS-ICE attribute
  selftest      known answers for the AES, GCM and QUIC key code (RFC 9001)
UDP (one socket, one source port --sport):
  udp           --junk N junk datagrams, then --payload PAYLOAD:
                stun-skype | stun | dns:NAME | quic:NAME (QUIC v1 Initial,
                SNI NAME) | quicv2:NAME (QUIC v2, 0x6b3343cf) |
                quicver:HEXVERSION:NAME (the v1 packet with another version)
                --mark HEX: the STUN transaction id (12 bytes) or the QUIC
                destination connection id (8 bytes), to find it at the server;
                --payload junk: one junk datagram alone
ICMP (from the server's side, raw socket):
  icmp-error    a port unreachable (ICMP type 3 code 3, ICMPv6 type 1
                code 4) to --dst, quoting a UDP datagram from --dst port
                --dport to --src port --sport: RELATED, for conntrack, to
                that flow
"""
import argparse
import hashlib
import hmac
import os
import random
import select
import socket
import ssl
import struct
import sys
import time

# --- TLS ClientHello ---------------------------------------------------------


def u16(n):
    return struct.pack("!H", n)


def u24(n):
    return struct.pack("!I", n)[1:]


def ext(t, body):
    return u16(t) + u16(len(body)) + body


def client_hello_msg(sni, quic=False, rnd=None):
    """A TLS 1.3 ClientHello handshake message (type, length, body) that
    python's ssl server and nDPI both parse: SNI, supported_versions,
    supported_groups and key_share x25519, signature algorithms. quic: the
    QUIC transport parameters too, and no legacy session id."""
    rnd = rnd or random.Random(sni)
    name = sni.encode("ascii")
    exts = b""
    exts += ext(0x0000, u16(len(name) + 3) + b"\x00" + u16(len(name)) + name)
    exts += ext(0x000b, b"\x01\x00")  # ec_point_formats
    exts += ext(0x000a, u16(4) + b"\x00\x1d\x00\x17")  # x25519, secp256r1
    exts += ext(0x000d, u16(16) + bytes.fromhex("04030804040105030805050108060601"))
    exts += ext(0x0010, u16(3) + b"\x02h2") if not quic else ext(0x0010, u16(3) + b"\x02h3")
    exts += ext(0x002b, b"\x04\x03\x04\x03\x03" if not quic else b"\x02\x03\x04")
    exts += ext(0x002d, b"\x01\x01")  # psk_key_exchange_modes
    share = bytes(rnd.getrandbits(8) for _ in range(32))
    exts += ext(0x0033, u16(36) + b"\x00\x1d" + u16(32) + share)
    if quic:
        scid = b"\x01\x02\x03\x04"
        tp = (b"\x01\x02\x67\x10"  # max_idle_timeout 10000
              b"\x04\x04\x80\x10\x00\x00"  # initial_max_data
              b"\x05\x04\x80\x01\x00\x00"
              b"\x06\x04\x80\x01\x00\x00"
              b"\x07\x04\x80\x01\x00\x00"
              b"\x08\x01\x10"
              b"\x09\x01\x10"
              b"\x0f" + bytes([len(scid)]) + scid)
        exts += ext(0x0039, tp)
    ciphers = bytes.fromhex("130113021303c02fc030c02bc02c009c")
    sid = b"" if quic else bytes(rnd.getrandbits(8) for _ in range(32))
    body = (b"\x03\x03" + bytes(rnd.getrandbits(8) for _ in range(32)) +
            bytes([len(sid)]) + sid + u16(len(ciphers)) + ciphers + b"\x01\x00" +
            u16(len(exts)) + exts)
    return b"\x01" + u24(len(body)) + body


def record(hs, ctype=0x16, version=b"\x03\x01"):
    return bytes([ctype]) + version + u16(len(hs)) + hs


def client_hello(sni):
    return record(client_hello_msg(sni))


# --- STUN, DNS ---------------------------------------------------------------


def stun_binding(skype, txid):
    """A binding request; skype: with the implementation-version attribute
    0x8070 = 2 that nDPI 4.2 names STUN.SkypeCall (as tests/tools/payloads.c
    and skyfenced's stun.c)."""
    attrs = b""
    if skype:
        attrs += struct.pack("!HHI", 0x8070, 4, 2)
    attrs += struct.pack("!HH", 0x8022, 4) + b"test"
    return struct.pack("!HHI", 0x0001, len(attrs), 0x2112A442) + txid + attrs


def dns_query(name, qid):
    q = b"".join(bytes([len(l)]) + l.encode("ascii") for l in name.rstrip(".").split(".")) + b"\x00"
    return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + q + struct.pack("!HH", 1, 1)


# --- AES-128, GCM, HKDF (QUIC Initial protection, RFC 9001/9369) -------------

SBOX = []


def _sbox():
    p = q = 1
    box = [0] * 256
    while True:
        p = p ^ ((p << 1) & 0xFF) ^ (0x1B if p & 0x80 else 0)
        q ^= q << 1
        q ^= q << 2
        q ^= q << 4
        q &= 0xFF
        if q & 0x80:
            q ^= 0x09
        x = q ^ ((q << 1 | q >> 7) & 0xFF) ^ ((q << 2 | q >> 6) & 0xFF) ^ \
            ((q << 3 | q >> 5) & 0xFF) ^ ((q << 4 | q >> 4) & 0xFF)
        box[p] = x ^ 0x63
        if p == 1:
            break
    box[0] = 0x63
    return box


def xtime(a):
    return ((a << 1) ^ 0x1B) & 0xFF if a & 0x80 else a << 1


class AES128:
    def __init__(self, key):
        if not SBOX:
            SBOX.extend(_sbox())
        w = [list(key[i:i + 4]) for i in range(0, 16, 4)]
        rcon = 1
        for i in range(4, 44):
            t = list(w[i - 1])
            if i % 4 == 0:
                t = [SBOX[b] for b in t[1:] + t[:1]]
                t[0] ^= rcon
                rcon = xtime(rcon)
            w.append([a ^ b for a, b in zip(w[i - 4], t)])
        self.rk = [sum(w[r * 4:r * 4 + 4], []) for r in range(11)]

    def encrypt(self, block):
        s = [a ^ b for a, b in zip(block, self.rk[0])]
        for r in range(1, 11):
            s = [SBOX[b] for b in s]
            # shift rows (column-major state)
            s = [s[(i + 4 * (i % 4)) % 16] for i in range(16)]
            if r != 10:
                m = []
                for c in range(4):
                    a = s[4 * c:4 * c + 4]
                    t = a[0] ^ a[1] ^ a[2] ^ a[3]
                    m += [a[j] ^ t ^ xtime(a[j] ^ a[(j + 1) % 4]) for j in range(4)]
                s = m
            s = [a ^ b for a, b in zip(s, self.rk[r])]
        return bytes(s)


def gf_mul(x, y):
    r = 0
    R = 0xE1 << 120
    for i in range(127, -1, -1):
        if (y >> i) & 1:
            r ^= x
        x = (x >> 1) ^ R if x & 1 else x >> 1
    return r


def aes_gcm_encrypt(key, iv, plain, aad):
    aes = AES128(key)
    h = int.from_bytes(aes.encrypt(bytes(16)), "big")
    j0 = iv + b"\x00\x00\x00\x01"
    out = bytearray()
    for i in range(0, len(plain), 16):
        ctr = iv + struct.pack("!I", 2 + i // 16)
        ks = aes.encrypt(ctr)
        out += bytes(a ^ b for a, b in zip(plain[i:i + 16], ks))
    ct = bytes(out)

    def ghash(data, acc):
        for i in range(0, len(data), 16):
            blk = data[i:i + 16].ljust(16, b"\x00")
            acc = gf_mul(acc ^ int.from_bytes(blk, "big"), h)
        return acc

    g = ghash(aad, 0)
    g = ghash(ct, g)
    g = gf_mul(g ^ ((len(aad) * 8) << 64 | len(ct) * 8), h)
    tag = bytes(a ^ b for a, b in zip(aes.encrypt(j0), g.to_bytes(16, "big")))
    return ct + tag


def hkdf_extract(salt, ikm):
    return hmac.new(salt, ikm, hashlib.sha256).digest()


def hkdf_expand_label(secret, label, length):
    full = b"tls13 " + label.encode()
    info = u16(length) + bytes([len(full)]) + full + b"\x00"
    out, t, i = b"", b"", 1
    while len(out) < length:
        t = hmac.new(secret, t + info + bytes([i]), hashlib.sha256).digest()
        out += t
        i += 1
    return out[:length]


QUIC_V1 = 0x00000001
QUIC_V2 = 0x6B3343CF
SALT_V1 = bytes.fromhex("38762cf7f55934b34d179ae6a4c80cadccbb7f0a")
SALT_V2 = bytes.fromhex("0dede3def700a6db819381be6e269dcbf9bd2ed9")


def quic_initial(sni, dcid, version=QUIC_V1, keys_of=None):
    """A client Initial datagram (padded to 1200 bytes) carrying a
    ClientHello for sni in a CRYPTO frame, protected with the Initial keys
    of keys_of (default: the version's own; v1's for an unknown one)."""
    keys_of = keys_of or (version if version in (QUIC_V1, QUIC_V2) else QUIC_V1)
    v2 = keys_of == QUIC_V2
    salt = SALT_V2 if v2 else SALT_V1
    pre = "quicv2 " if v2 else "quic "
    init = hkdf_extract(salt, dcid)
    cs = hkdf_expand_label(init, "client in", 32)
    key = hkdf_expand_label(cs, pre + "key", 16)
    iv = hkdf_expand_label(cs, pre + "iv", 12)
    hp = hkdf_expand_label(cs, pre + "hp", 16)
    hello = client_hello_msg(sni, quic=True)
    crypto = b"\x06\x00" + struct.pack("!H", 0x4000 | len(hello)) + hello
    scid = b"\xc1\xc2\xc3\xc4\xc5\xc6\xc7\xc8"
    pn_len = 2
    ptype = 0b01 if version == QUIC_V2 else 0b00
    first = 0xC0 | (ptype << 4) | (pn_len - 1)
    hdr_wo_len = (bytes([first]) + struct.pack("!I", version) + bytes([len(dcid)]) + dcid +
                  bytes([len(scid)]) + scid + b"\x00")
    # pad the payload so the datagram is 1200 bytes
    overhead = len(hdr_wo_len) + 2 + pn_len + 16
    payload = crypto + bytes(max(0, 1200 - overhead - len(crypto)))
    length = pn_len + len(payload) + 16
    hdr = hdr_wo_len + struct.pack("!H", 0x4000 | length) + struct.pack("!H", 0)
    nonce = iv  # packet number 0
    ct = aes_gcm_encrypt(key, nonce, payload, hdr)
    pn_off = len(hdr) - pn_len
    sample = ct[4 - pn_len:4 - pn_len + 16]
    mask = AES128(hp).encrypt(sample)
    h = bytearray(hdr)
    h[0] ^= mask[0] & 0x0F
    for i in range(pn_len):
        h[pn_off + i] ^= mask[1 + i]
    return bytes(h) + ct


# --- raw TCP -----------------------------------------------------------------


def source_for(dst):
    fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.connect((dst, 9))
    a = s.getsockname()[0]
    s.close()
    return a


class RawTCP:
    """One TCP connection made by hand: segments built by scapy, sent on a
    raw IP socket, the server's segments read from another."""

    def __init__(self, dst, dport, sport=None, ts=False, wscale=True, mss=1460):
        from scapy.layers.inet import IP, TCP
        from scapy.layers.inet6 import IPv6
        self.IP, self.IPv6, self.TCP = IP, IPv6, TCP
        self.v6 = ":" in dst
        self.dst, self.dport = dst, dport
        self.src = source_for(dst)
        self.sport = sport or random.randint(20000, 60999)
        self.ts, self.wscale, self.mss = ts, wscale, mss
        fam = socket.AF_INET6 if self.v6 else socket.AF_INET
        self.tx = socket.socket(fam, socket.SOCK_RAW, socket.IPPROTO_RAW)
        self.rx = socket.socket(fam, socket.SOCK_RAW, socket.IPPROTO_TCP)
        self.isn = random.randint(1, 2**31)
        self.tsval = random.randint(10**6, 10**9)
        self.peer_ts = 0
        self.rcv_nxt = 0
        self.acked = 0
        self.peer_win = 0
        self.reset = False

    def ip(self):
        if self.v6:
            return self.IPv6(src=self.src, dst=self.dst, hlim=64)
        return self.IP(src=self.src, dst=self.dst, ttl=64, flags="DF", id=random.randint(1, 65535))

    def opts(self, syn=False, tsval=None):
        o = []
        if syn:
            o.append(("MSS", self.mss))
            if self.wscale:
                o.append(("WScale", 7))
            o.append(("SAckOK", b""))
        if self.ts:
            self.tsval += 1
            o.append(("Timestamp", (self.tsval if tsval is None else tsval, self.peer_ts)))
        return o

    def send(self, off, data=b"", flags="PA", tsval=None, urgptr=0, seq=None):
        """Sends data at stream offset off (0 = the first byte)."""
        t = self.TCP(sport=self.sport, dport=self.dport,
                     seq=(self.isn + 1 + off) % 2**32 if seq is None else seq,
                     ack=self.rcv_nxt, flags=flags, window=65535, urgptr=urgptr,
                     options=self.opts(tsval=tsval))
        p = self.ip() / t / data if data else self.ip() / t
        self.tx.sendto(bytes(p), (self.dst, 0))

    def poll(self, timeout):
        """Reads the server's segments for up to timeout seconds."""
        end = time.time() + timeout
        while True:
            left = end - time.time()
            if left <= 0:
                return
            r, _, _ = select.select([self.rx], [], [], left)
            if not r:
                return
            pkt, addr = self.rx.recvfrom(65535)
            if self.v6:
                if addr[0] != self.dst:
                    continue
                tcp = self.TCP(pkt)
            else:
                ihl = (pkt[0] & 0x0F) * 4
                if socket.inet_ntoa(pkt[12:16]) != self.dst:
                    continue
                tcp = self.TCP(pkt[ihl:])
            if tcp.sport != self.dport or tcp.dport != self.sport:
                continue
            self.on_segment(tcp)
            return tcp

    def on_segment(self, tcp):
        flags = int(tcp.flags)
        if flags & 0x04:
            self.reset = True
        for k, v in tcp.options:
            if k == "Timestamp":
                self.peer_ts = v[0]
        if flags & 0x10:
            a = (tcp.ack - self.isn - 1) % 2**32
            if a < 2**31 and a > self.acked:
                self.acked = a
        n = len(bytes(tcp.payload))
        if flags & 0x02:
            self.rcv_nxt = (tcp.seq + 1) % 2**32
            self.peer_win = tcp.window
        elif n and tcp.seq == self.rcv_nxt:
            self.rcv_nxt = (tcp.seq + n) % 2**32

    def wait(self, cond, timeout):
        end = time.time() + timeout
        while not cond():
            left = end - time.time()
            if left <= 0:
                return False
            self.poll(min(left, 0.2))
        return True

    def connect(self, timeout=2.0):
        for _ in range(3):
            t = self.TCP(sport=self.sport, dport=self.dport, seq=self.isn, flags="S",
                         window=65535, options=self.opts(syn=True))
            self.tx.sendto(bytes(self.ip() / t), (self.dst, 0))
            if self.wait(lambda: self.rcv_nxt != 0 or self.reset, timeout / 3):
                break
        if not self.rcv_nxt:
            return False
        self.send(0, flags="A")
        return True

    def wait_acked(self, n, timeout=1.5):
        return self.wait(lambda: self.acked >= n, timeout)

    def deliver(self, stream, timeout, urg_at=None):
        """Waits until the server acknowledged all of stream (the bytes
        that occupy sequence space from offset 0), retransmitting what it
        has not acknowledged, in order and in one segment, as a TCP
        would (urg_at: the urgent byte's offset, still marked urgent while
        unacknowledged). Returns the number of retransmissions, or -1 if
        it was never all acknowledged."""
        n = len(stream)
        end = time.time() + timeout
        rto = 0.2
        tries = 0
        while True:
            if self.wait(lambda: self.acked >= n, min(rto, max(0.0, end - time.time()))):
                return tries
            if time.time() >= end:
                return -1
            a = self.acked
            if urg_at is not None and urg_at >= a:
                self.send(a, stream[a:], flags="PAU", urgptr=urg_at - a + 1)
            else:
                self.send(a, stream[a:])
            tries += 1
            rto *= 2

    def drain(self, t):
        """Reads (and acknowledges) what the server sends for t seconds."""
        end = time.time() + t
        while time.time() < end:
            before = self.rcv_nxt
            self.poll(end - time.time())
            if self.rcv_nxt != before:
                self.send(self.acked, flags="A")

    def close(self, off):
        self.send(off, flags="FA")
        self.tx.close()
        self.rx.close()


def name_offset(rec, sni):
    return rec.index(sni.encode())


def reopen_case(a):
    decoy = record(client_hello_msg(a.decoy))
    body = client_hello_msg(a.sni)[4:]
    p = 2 + 32  # version, random
    p += 1 + body[p]  # session id
    p += 2 + struct.unpack("!H", body[p:p + 2])[0]  # cipher suites
    p += 1 + body[p]  # compression
    exts = body[p + 2:]
    grease = ext(0x0a0a, b"\x00" + decoy)
    nbody = body[:p] + u16(len(exts) + len(grease)) + grease + exts
    hello = record(b"\x01" + u24(len(nbody)) + nbody)
    k = 5 + 4 + p + 2 + 4  # up to the unknown extension's content
    c = RawTCP(a.dst, a.dport, sport=a.sport, ts=a.how == "fin-stale")
    if not c.connect():
        print("evade reopen: no SYN-ACK from %s:%d" % (a.dst, a.dport))
        return 1
    c.send(0, hello[:k])
    c.wait_acked(k)
    if a.how == "fin-noack":
        c.send(k, flags="F")
    elif a.how == "fin-stale":
        c.send(k, flags="FA", tsval=c.tsval - 10**6)
    time.sleep(0.2)
    c.send(k, hello[k:k + 1])
    c.wait_acked(k + 1)
    time.sleep(0.2)
    syn = c.TCP(sport=c.sport, dport=c.dport, seq=(c.isn + 1 + k) % 2**32, flags="S",
                window=65535, options=[("MSS", 1460), ("SAckOK", b"")])
    c.tx.sendto(bytes(c.ip() / syn), (c.dst, 0))
    # the challenge ACK's window, unscaled: what a reader that took the
    # SYN (no window scale) for a new stream allows
    seg = c.poll(1.0)
    w = max(seg.window if seg is not None else 60, 32)
    o = k + 1
    while o < len(hello):
        n = min(w, len(hello) - o)
        c.send(o, hello[o:o + n])
        if not c.wait_acked(o + n):
            break
        o += n
    print("evade reopen: sni=%s sport=%d %s, a SYN at the decoy; server acked all: %s" %
          (a.sni, c.sport, a.how, "yes" if c.acked >= len(hello) else "no (acked %d of %d)" % (c.acked, len(hello))))
    c.close(len(hello))
    return 0


def raw_case(a):
    if a.case == "reopen":
        return reopen_case(a)
    hello = client_hello(a.sni)
    ts = a.case == "paws"
    c = RawTCP(a.dst, a.dport, sport=a.sport, ts=ts, wscale=a.case != "window")
    if not c.connect():
        print("evade %s: no SYN-ACK from %s:%d" % (a.case, a.dst, a.dport))
        return 1
    n = len(hello)
    k = name_offset(hello, a.sni)
    info = ""
    stream = hello  # what occupies the sequence space
    urg_at = None
    if a.case == "plain":
        c.send(0, hello)
    elif a.case == "ooo":
        cut = k + len(a.sni) // 2 - 8  # the name starts before the cut, straddles it
        c.send(cut, hello[cut:])
        time.sleep(0.05)
        c.send(0, hello[:cut])
        info = "later segment (%d bytes at offset %d, %s) first" % (n - cut, cut, "SNI straddling the cut")
    elif a.case == "paws":
        if not c.peer_ts:
            print("evade paws: the server did not negotiate timestamps")
            return 1
        decoy = client_hello(a.decoy)
        c.send(0, decoy, tsval=(c.tsval - 500000) % 2**32)
        c.poll(0.1)
        c.send(0, hello)
        info = "decoy %s with a TSval 500000 behind, then the real one at the same seq" % a.decoy
    elif a.case == "window":
        decoy = client_hello(a.decoy)
        w = c.peer_win
        c.send(w + 1, decoy)
        c.poll(0.1)
        c.send(0, hello)
        info = "decoy %s at offset %d (receive window %d), then the real one" % (a.decoy, w + 1, w)
    elif a.case == "urg":
        j = k + len(a.sni) // 2
        seg = hello[:j] + b"X" + hello[j:]
        # Linux (tcp_stdurg=0): the urgent byte is the one before seq + urgptr
        c.send(0, seg, flags="PAU", urgptr=j + 1)
        stream, urg_at = seg, j
        info = "junk byte at offset %d of %d marked urgent" % (j, len(seg))
    elif a.case == "bytes":
        for i in range(n):
            c.send(i, hello[i:i + 1])
            if i % 32 == 31:
                c.poll(0.002)
        info = "%d one-byte segments" % n
    elif a.case == "acks":
        for _ in range(80):
            c.send(0, flags="A")
        c.poll(0.05)
        c.send(0, hello)
        info = "80 empty ACKs first"
    elif a.case == "restart":
        cut = k + len(a.sni) // 2
        c.send(0, hello[:cut])
        c.deliver(hello[:cut], 1.5)
        print("half-sent %d of %d" % (cut, n), flush=True)
        end = time.time() + a.go_timeout
        while not os.path.exists(a.go) and time.time() < end:
            c.poll(0.1)
        if not os.path.exists(a.go):
            print("evade restart: no %s within %ds" % (a.go, a.go_timeout))
            return 1
        c.send(cut, hello[cut:])
        info = "half (%d bytes), a pause, then the rest" % cut
    tries = c.deliver(stream, a.wait, urg_at)
    c.drain(0.05)
    c.close(len(stream))
    print("evade %s: sni=%s sport=%d %s; server acked all: %s" %
          (a.case, a.sni, c.sport, info,
           "no (acked %d of %d)" % (c.acked, len(stream)) if tries < 0 else
           "yes" + (" after %d retransmissions" % tries if tries else "")))
    return 0


# --- over the kernel's TCP ---------------------------------------------------


def tcp_connect(a):
    fam = socket.AF_INET6 if ":" in a.dst else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if a.sport:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("", a.sport))
    s.settimeout(a.wait)
    s.connect((a.dst, a.dport))
    return s


def read_some(s, want, t):
    """Reads until want(buf) or t seconds pass; returns the bytes."""
    end = time.time() + t
    buf = b""
    while not want(buf) and time.time() < end:
        s.settimeout(max(0.01, end - time.time()))
        try:
            d = s.recv(65536)
        except (socket.timeout, OSError):
            break
        if not d:
            break
        buf += d
    return buf


def http_req(host, target="/", extra=b"", host_line=None):
    hl = host_line if host_line is not None else b"Host: " + host.encode() + b"\r\n"
    return (b"GET " + target.encode() + b" HTTP/1.1\r\n" + extra + hl +
            b"User-Agent: evade/1\r\nAccept: */*\r\n\r\n")


def http_response_done(b):
    if b"\r\n\r\n" not in b:
        return False
    head, body = b.split(b"\r\n\r\n", 1)
    for ln in head.split(b"\r\n"):
        if ln.lower().startswith(b"content-length:"):
            return len(body) >= int(ln.split(b":")[1])
    return True


def dns_tcp_msg(name, qid):
    m = dns_query(name, qid)
    return u16(len(m)) + m


def dns_answered(n):
    def want(b):
        i = 0
        for _ in range(n):
            if len(b) < i + 2:
                return False
            i += 2 + struct.unpack("!H", b[i:i + 2])[0]
            if len(b) < i:
                return False
        return True
    return want


def socks_connect(s, a, request, reply_len, granted):
    """Sends a SOCKS CONNECT request and, if the reply (reply_len bytes)
    starts with granted, a ClientHello for a.sni. Returns the bytes back
    and what happened."""
    s.sendall(request)
    r = read_some(s, lambda b: len(b) >= reply_len, a.wait)
    if r[:2] != granted:
        return b"", "CONNECT not granted (%s)" % r.hex()
    s.sendall(client_hello(a.sni))
    return read_some(s, lambda b: len(b) > 0, 0.3), "CONNECT %s:443 granted, ClientHello sent" % a.sni


def sock_case(a):
    c = a.case
    info = ""
    try:
        s = tcp_connect(a)
    except OSError as e:
        print("evade %s: connect %s:%d failed: %s" % (c, a.dst, a.dport, e))
        return 0
    got = b""
    try:
        if c == "tls-ssl":
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            t = ctx.wrap_socket(s, server_hostname=a.sni)
            s = t
            info = "handshake completed (%s)" % t.version()
            # what the server sends, until it ends the connection or
            # half a second passes (a reset then comes before a FIN)
            got = b"handshake" + read_some(t, lambda b: False, 0.5)
        elif c == "tls-1rec":
            s.sendall(record(client_hello_msg(a.sni)))
            got = read_some(s, lambda b: len(b) > 5, a.wait)
        elif c == "tls-2rec":
            hs = client_hello_msg(a.sni)
            cut = hs.index(a.sni.encode()) - 20
            s.sendall(record(hs[:cut]) + record(hs[cut:]))
            got = read_some(s, lambda b: len(b) > 5, a.wait)
            info = "handshake message cut at %d of %d, two records" % (cut, len(hs))
        elif c == "http-plain":
            s.sendall(http_req(a.host))
            got = read_some(s, http_response_done, a.wait)
        elif c == "http-split":
            r = http_req(a.host)
            cut = r.index(a.host.encode()) + len(a.host) // 2
            s.sendall(r[:cut])
            time.sleep(0.15)
            s.sendall(r[cut:])
            got = read_some(s, http_response_done, a.wait)
            info = "split at %d, inside the Host line" % cut
        elif c == "http-lines":
            extra = b"".join(b"X-Pad-%d: %d\r\n" % (i, i) for i in range(70))
            s.sendall(http_req(a.host, extra=extra))
            got = read_some(s, http_response_done, a.wait)
            info = "Host on header line 71"
        elif c == "http-space":
            s.sendall(http_req(a.host, host_line=b"Host : " + a.host.encode() + b"\r\n"))
            got = read_some(s, http_response_done, a.wait)
        elif c == "http-twice":
            s.sendall(http_req(a.host, host_line=b"Host: " + a.decoy.encode() + b"\r\nHost: " +
                               a.host.encode() + b"\r\n"))
            got = read_some(s, http_response_done, a.wait)
            info = "Host: %s then Host: %s" % (a.decoy, a.host)
        elif c == "http-keepalive":
            s.sendall(http_req(a.decoy))
            first = read_some(s, http_response_done, a.wait)
            if not http_response_done(first):
                info = "no response to the first request"
            else:
                time.sleep(0.05)
                s.sendall(http_req(a.host, target="/second"))
                got = read_some(s, http_response_done, a.wait)
                info = "first request for %s answered, then %s" % (a.decoy, a.host)
        elif c == "http-proxy":
            # a proxy takes the authority from an absolute-form target and
            # ignores the Host line (RFC 9112 3.2.2): --decoy names it
            # there; --decoy "" sends the target's own name
            hl = (b"Host: " + (a.decoy or a.host).encode() + b"\r\n") if a.decoy != "-" else b""
            s.sendall(http_req(a.host, target="http://%s/" % a.host, host_line=hl))
            got = read_some(s, http_response_done, a.wait)
            info = "GET http://%s/ with %s" % (a.host, "Host: " + (a.decoy or a.host) if hl else "no Host line")
        elif c == "dns-plain":
            s.sendall(dns_tcp_msg(a.qname, 0x1111))
            got = read_some(s, dns_answered(1), a.wait)
        elif c == "dns-second":
            s.sendall(dns_tcp_msg(a.decoy, 0x1111))
            first = read_some(s, dns_answered(1), a.wait)
            if not dns_answered(1)(first):
                info = "no answer to the first query"
            else:
                time.sleep(0.05)
                s.sendall(dns_tcp_msg(a.qname, 0x2222))
                got = read_some(s, dns_answered(1), a.wait)
                info = "query for %s answered, then %s" % (a.decoy, a.qname)
        elif c == "dns-two":
            s.sendall(dns_tcp_msg(a.decoy, 0x1111) + dns_tcp_msg(a.qname, 0x2222))
            got = read_some(s, dns_answered(2), a.wait)
            info = "%s and %s in one segment" % (a.decoy, a.qname)
        elif c == "socks5":
            s.sendall(b"\x05\x01\x00")
            r = read_some(s, lambda b: len(b) >= 2, a.wait)
            if r[:2] != b"\x05\x00":
                info = "no method selection (%s)" % r.hex()
            else:
                n = a.sni.encode()
                got, info = socks_connect(s, a, b"\x05\x01\x00\x03" + bytes([len(n)]) + n + u16(443),
                                          10, b"\x05\x00")
        elif c == "socks4a":
            n = a.sni.encode()
            got, info = socks_connect(s, a, b"\x04\x01" + u16(443) + b"\x00\x00\x00\x01" + b"evade\x00" + n + b"\x00",
                                      8, b"\x00\x5a")
        elif c == "stun-tcp":
            m = stun_binding(a.skype, bytes.fromhex(a.mark) if a.mark else os.urandom(12))
            s.sendall(u16(len(m)) + m if a.framed else m)
            got = read_some(s, lambda b: len(b) > 0, 0.3)
            info = "%s STUN binding request%s" % ("framed" if a.framed else "bare",
                                                   " with MS-ICE 0x8070" if a.skype else "")
    except OSError as e:
        info += " (%s)" % e
    finally:
        s.close()
    print("evade %s: %s; %d bytes back" % (c, info or "sent", len(got)))
    return 0


# --- UDP ---------------------------------------------------------------------


def junk(i):
    """Datagram i of the junk: bytes no dissector of nDPI 4.2 takes."""
    h = hashlib.sha256(b"evade junk %d" % i).digest()
    return b"\x17" + (h * 2)[:47]


def udp_case(a):
    fam = socket.AF_INET6 if ":" in a.dst else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("", a.sport))
    mark = bytes.fromhex(a.mark) if a.mark else None
    p = a.payload
    if p in ("stun-skype", "stun"):
        m = stun_binding(p == "stun-skype", mark or os.urandom(12))
    elif p.startswith("dns:"):
        m = dns_query(p[4:], random.randint(1, 65535))
    elif p.startswith("quic:"):
        m = quic_initial(p[5:], mark or os.urandom(8), QUIC_V1)
    elif p.startswith("quicv2:"):
        m = quic_initial(p[7:], mark or os.urandom(8), QUIC_V2)
    elif p.startswith("quicver:"):
        _, ver, name = p.split(":", 2)
        m = quic_initial(name, mark or os.urandom(8), int(ver, 16))
    elif p == "junk":
        m = junk(1000)
    else:
        print("evade udp: unknown payload %s" % p)
        return 2
    for i in range(a.junk):
        s.sendto(junk(i), (a.dst, a.dport))
        time.sleep(0.005)
    if a.junk:
        time.sleep(0.05)
    s.sendto(m, (a.dst, a.dport))
    s.settimeout(a.wait)
    replies = 0
    try:
        while True:
            s.recvfrom(65536)
            replies += 1
            s.settimeout(0.1)
    except (socket.timeout, OSError):
        pass
    s.close()
    print("evade udp: %d junk datagrams, then %s (%d bytes) from port %d; %d datagrams back" %
          (a.junk, p, len(m), a.sport, replies))
    return 0


def ip_sum(b):
    """The Internet checksum (RFC 1071) of b."""
    if len(b) % 2:
        b += b"\0"
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while t >> 16:
        t = (t & 0xffff) + (t >> 16)
    return ~t & 0xffff


def icmp_error(a):
    """A port unreachable quoting the datagram --dst:--dport -> --src:--sport
    (its IP header and the UDP header), sent to --dst."""
    udp = struct.pack("!HHHH", a.dport, a.sport, 8 + 4, 0)
    if ":" in a.dst:
        src = socket.inet_pton(socket.AF_INET6, a.dst)
        dst = socket.inet_pton(socket.AF_INET6, a.src)
        inner = struct.pack("!IHBB", 6 << 28, 8 + 4, 17, 64) + src + dst + udp
        msg = struct.pack("!BBHI", 1, 4, 0, 0) + inner
        s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
        s.sendto(msg, (a.dst, 0))  # the kernel sums ICMPv6
    else:
        src = socket.inet_aton(a.dst)
        dst = socket.inet_aton(a.src)
        hdr = struct.pack("!BBHHHBBH", 0x45, 0, 20 + 8 + 4, 1, 0, 64, 17, 0) + src + dst
        hdr = hdr[:10] + struct.pack("!H", ip_sum(hdr)) + hdr[12:]
        body = hdr + udp
        msg = struct.pack("!BBHI", 3, 3, 0, 0) + body
        msg = msg[:2] + struct.pack("!H", ip_sum(msg)) + msg[4:]
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        s.sendto(msg, (a.dst, 0))
    s.close()
    print("evade icmp-error: port unreachable to %s for %s:%d -> %s:%d" %
          (a.dst, a.dst, a.dport, a.src, a.sport))
    return 0


RAW = ("plain", "ooo", "paws", "window", "urg", "bytes", "acks", "restart", "reopen")
SOCK = ("tls-ssl", "tls-1rec", "tls-2rec", "http-plain", "http-split", "http-lines", "http-space", "http-twice",
        "http-keepalive", "http-proxy", "dns-plain", "dns-second", "dns-two", "socks5",
        "socks4a", "stun-tcp")


def selftest():
    """Known answers: AES (FIPS-197), the QUIC v1 Initial keys and header
    protection mask (RFC 9001, appendix A)."""
    k = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
    assert AES128(k).encrypt(bytes.fromhex("00112233445566778899aabbccddeeff")).hex() == \
        "69c4e0d86a7b0430d8cdb78070b4c55a"
    init = hkdf_extract(SALT_V1, bytes.fromhex("8394c8f03e515708"))
    cs = hkdf_expand_label(init, "client in", 32)
    assert hkdf_expand_label(cs, "quic key", 16).hex() == "1f369613dd76d5467730efcbe3b1a22d"
    assert hkdf_expand_label(cs, "quic iv", 12).hex() == "fa044b2f42a3fd3b46fb255c"
    hp = hkdf_expand_label(cs, "quic hp", 16)
    assert hp.hex() == "9f50449e04a0e810283a1e9933adedd2"
    assert AES128(hp).encrypt(bytes.fromhex("d1b1c98dd7689fb8ec11d242b123dc9b"))[:5].hex() == \
        "437b9aec36"
    # GCM: NIST test case 4 (no AAD variant shortened): key 0, iv 0, 16 zero bytes
    ct = aes_gcm_encrypt(bytes(16), bytes(12), bytes(16), b"")
    assert ct.hex() == "0388dace60b6a392f328c2b971b2fe78ab6e47d42cec13bdf53a67b21257bddf"
    print("evade selftest: ok")
    return 0


def main():
    ap = argparse.ArgumentParser(description="evasion senders (see the module's doc)")
    ap.add_argument("case", choices=RAW + SOCK + ("udp", "icmp-error", "selftest"))
    ap.add_argument("--src", help="icmp-error: the quoted datagram's destination")
    ap.add_argument("--dst")
    ap.add_argument("--dport", type=int)
    ap.add_argument("--sport", type=int, default=0)
    ap.add_argument("--sni", default="www.example.org")
    ap.add_argument("--host", default="www.example.org")
    ap.add_argument("--qname", default="www.example.org")
    ap.add_argument("--decoy", default="www.example.net")
    ap.add_argument("--payload", default="stun")
    ap.add_argument("--junk", type=int, default=0)
    ap.add_argument("--mark")
    ap.add_argument("--skype", action="store_true")
    ap.add_argument("--framed", action="store_true")
    ap.add_argument("--how", default="none", choices=("none", "fin-noack", "fin-stale"),
                    help="reopen: what comes before the SYN")
    ap.add_argument("--go")
    ap.add_argument("--go-timeout", type=int, default=20)
    ap.add_argument("--wait", type=float, default=1.5, help="seconds to wait for the server")
    a = ap.parse_args()
    if a.case == "selftest":
        return selftest()
    if not a.dst or not a.dport:
        ap.error("--dst and --dport are needed")
    if a.case == "icmp-error":
        return icmp_error(a)
    if a.case == "restart" and not a.go:
        ap.error("restart needs --go FILE")
    if a.case in RAW:
        return raw_case(a)
    if a.case in SOCK:
        return sock_case(a)
    if not a.sport:
        a.sport = random.randint(20000, 60999)
    return udp_case(a)


if __name__ == "__main__":
    sys.exit(main())

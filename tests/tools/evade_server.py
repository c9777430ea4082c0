#!/usr/bin/python3
"""evade_server.py - the servers of tests/netns/test_evasion.sh: what an
application behind the gateway actually received and parsed, one line per
event, appended to --log (the suite judges every attack there, never by
skyfenced's counters).

  evade_server.py tls  --listen ADDR:PORT... --cert PEM --key PEM --log FILE
      python's ssl; the sni_callback logs  tls ... sni=NAME  (exactly the
      bytes received, a trailing dot included) and a completed handshake
      tls ... handshake=ok sni=NAME
  evade_server.py http --listen ADDR:PORT... --log FILE
      each parsed request (keep-alive: every request of the connection):
      http ... target=TARGET host=H [host=H2 ...]   (every Host line seen;
      "Host :" with blanks before the colon counts, as lenient servers
      and proxies take it); answers 200 with a body, keeps the connection
  evade_server.py dns-tcp --listen ADDR:PORT... --log FILE
      DNS over TCP, every message of the connection (length prefixed):
      dns ... qname=NAME; answers each with an A record
  evade_server.py raw --listen ADDR:PORT... --log FILE [--socks]
      every byte of the connection so far, after each read:
      raw ... conn=N bytes=B hex=HEX  (--socks: answers SOCKS5 and SOCKS4/4a
      as a proxy would, then logs what is tunnelled all the same)
  evade_server.py tls ... --abort NAME,...: after a handshake for NAME,
      a reset (SO_LINGER 0) instead of a FIN
  evade_server.py udp --listen ADDR:PORT... --log FILE [--dns] [--stun]
      [--echo]
      each datagram: udp ... len=N hex=HEX [qname=NAME]; --dns answers a
      query, --stun answers a binding request, --echo answers any datagram
      with 32 bytes (as a QUIC server answers an Initial)
ADDR:PORT is 203.0.113.10:443 or [2001:db8:ff::10]:443. Each line starts
with the kind and has listen=ADDR:PORT peer=ADDR sport=PORT. Runs until
killed; a connection idle for --timeout seconds (default 10) is closed.
Standard library only.
"""
import argparse
import os
import socket
import ssl
import struct
import sys
import threading
import time

LOCK = threading.Lock()
LOG = None


def log(line):
    with LOCK:
        fd = os.open(LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (line + "\n").encode("ascii", "backslashreplace"))
        finally:
            os.close(fd)


def parse_listen(s):
    if s.startswith("["):
        a, p = s[1:].split("]:")
    else:
        a, p = s.rsplit(":", 1)
    return a, int(p)


def fmt_listen(a, p):
    return "[%s]:%d" % (a, p) if ":" in a else "%s:%d" % (a, p)


def listener(addr, port, kind):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, kind)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if fam == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((addr, port))
    if kind == socket.SOCK_STREAM:
        s.listen(64)
    return s


def tag(kind, la, lp, peer):
    return "%s listen=%s peer=%s sport=%d" % (kind, fmt_listen(la, lp), peer[0], peer[1])


def serve_tcp(args, handler):
    """One thread per listening address, one per connection."""
    for spec in args.listen:
        a, p = parse_listen(spec)
        s = listener(a, p, socket.SOCK_STREAM)

        def loop(s=s, a=a, p=p):
            while True:
                c, peer = s.accept()
                c.settimeout(args.timeout)
                t = threading.Thread(target=conn_wrap, args=(handler, c, a, p, peer), daemon=True)
                t.start()

        threading.Thread(target=loop, daemon=True).start()
    log("ready %s %s" % (args.cmd, " ".join(args.listen)))
    while True:
        time.sleep(3600)


def conn_wrap(handler, c, a, p, peer):
    try:
        handler(c, a, p, peer)
    except (OSError, ValueError) as e:
        log("%s closed err=%s" % (tag(ARGS.cmd, a, p, peer), type(e).__name__))
    finally:
        try:
            c.close()
        except OSError:
            pass


# --- TLS ---------------------------------------------------------------------

def tls_handler_factory(args):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2

    def cb(sock, name, _ctx):
        # sock is the SSLSocket; name as OpenSSL received it (CPython
        # decodes it as ASCII: a trailing dot stays)
        t = getattr(sock, "evade_tag", None)
        if t is not None:
            t[1] = name
            log("%s sni=%s" % (t[0], name if name is not None else "(none)"))
        return None

    ctx.sni_callback = cb

    def handler(c, a, p, peer):
        t = [tag("tls", a, p, peer), None]
        obj = ctx.wrap_socket(c, server_side=True, do_handshake_on_connect=False)
        obj.evade_tag = t
        try:
            try:
                obj.do_handshake()
            except ssl.SSLError as e:
                log("%s handshake=failed reason=%s sni=%s" % (t[0], e.reason, t[1]))
                return
            except (socket.timeout, OSError) as e:
                log("%s handshake=failed reason=%s sni=%s" % (t[0], type(e).__name__, t[1]))
                return
            log("%s handshake=ok sni=%s version=%s" % (t[0], t[1], obj.version()))
            if t[1] and t[1] in (args.abort or "").split(","):
                # a reset, no FIN: the connection gone at the server only
                obj.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                log("%s aborted" % t[0])
                return
            try:
                obj.sendall(b"hello from evade_server\n")
                obj.recv(4096)
            except (OSError, ssl.SSLError):
                pass
        finally:
            obj.close()

    return handler


# --- HTTP --------------------------------------------------------------------

def recv_until(c, buf, sep):
    while sep not in buf:
        d = c.recv(65536)
        if not d:
            return buf, False
        buf += d
    return buf, True


def http_handler(c, a, p, peer):
    t = tag("http", a, p, peer)
    buf = b""
    while True:
        buf, ok = recv_until(c, buf, b"\r\n\r\n")
        if not ok:
            if buf:
                log("%s incomplete bytes=%d" % (t, len(buf)))
            return
        head, buf = buf.split(b"\r\n\r\n", 1)
        lines = head.split(b"\r\n")
        parts = lines[0].split(b" ")
        target = parts[1] if len(parts) >= 2 else b"-"
        hosts = []
        clen = 0
        for ln in lines[1:]:
            if b":" not in ln:
                continue
            k, v = ln.split(b":", 1)
            k = k.strip().lower()
            if k == b"host":
                hosts.append(v.strip())
            elif k == b"content-length":
                try:
                    clen = int(v.strip())
                except ValueError:
                    pass
        while len(buf) < clen:
            d = c.recv(65536)
            if not d:
                return
            buf += d
        buf = buf[clen:]
        log("%s target=%s %s lines=%d" % (
            t, target.decode("latin-1"),
            " ".join("host=" + h.decode("latin-1") for h in hosts) or "host=",
            len(lines)))
        body = b"ok\n"
        c.sendall(b"HTTP/1.1 200 OK\r\nServer: evade\r\nContent-Type: text/plain\r\n"
                  b"Content-Length: %d\r\nConnection: keep-alive\r\n\r\n%s" % (len(body), body))


# --- DNS ---------------------------------------------------------------------

def dns_qname(m):
    """The question's name of DNS message m (str), None if it does not parse."""
    if len(m) < 17:
        return None
    if struct.unpack("!H", m[4:6])[0] < 1:
        return None
    i, labels = 12, []
    while True:
        if i >= len(m):
            return None
        n = m[i]
        if n == 0:
            i += 1
            break
        if n > 63 or i + 1 + n > len(m):
            return None
        labels.append(m[i + 1:i + 1 + n].decode("latin-1"))
        i += 1 + n
    if i + 4 > len(m):
        return None
    return ".".join(labels) if labels else "."


def dns_answer(m):
    """A response to query m: its question and one A record."""
    qid = m[:2]
    i = 12
    while m[i] != 0:
        i += 1 + m[i]
    q = m[12:i + 5]
    ans = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton("203.0.113.99")
    return qid + b"\x81\x80" + struct.pack("!HHHH", 1, 1, 0, 0) + q + ans


def dns_tcp_handler(c, a, p, peer):
    t = tag("dns", a, p, peer)
    buf = b""
    while True:
        while len(buf) < 2:
            d = c.recv(65536)
            if not d:
                return
            buf += d
        n = struct.unpack("!H", buf[:2])[0]
        while len(buf) < 2 + n:
            d = c.recv(65536)
            if not d:
                log("%s incomplete bytes=%d" % (t, len(buf)))
                return
            buf += d
        m, buf = buf[2:2 + n], buf[2 + n:]
        q = dns_qname(m)
        log("%s qname=%s" % (t, q if q is not None else "(unparsed)"))
        if q is not None:
            r = dns_answer(m)
            c.sendall(struct.pack("!H", len(r)) + r)


# --- raw TCP -----------------------------------------------------------------

CONN = [0]


def socks_reply(state, data):
    """What a SOCKS proxy answers to the bytes so far (state: a dict)."""
    out = b""
    if state.get("done") or not data:
        return out
    if data[0] == 5:
        if state.get("step", 0) == 0 and len(data) >= 2 and len(data) >= 2 + data[1]:
            out += b"\x05\x00"
            state["step"] = 1
            state["off"] = 2 + data[1]
        if state.get("step") == 1:
            r = data[state["off"]:]
            if len(r) >= 5:
                atyp = r[3]
                need = {1: 10, 4: 22, 3: 7 + r[4]}.get(atyp, 10)
                if len(r) >= need:
                    out += b"\x05\x00\x00\x01" + bytes(4) + b"\x00\x00"
                    state["done"] = True
    elif data[0] == 4:
        # VER CMD PORT IP USERID\0 [DOMAIN\0 when IP is 0.0.0.x]
        if len(data) >= 9:
            z = data.find(b"\x00", 8)
            if z >= 0:
                ip = data[4:8]
                if ip[:3] == b"\x00\x00\x00" and ip[3] != 0:
                    if data.find(b"\x00", z + 1) < 0:
                        return out
                out += b"\x00\x5a" + bytes(6)
                state["done"] = True
    return out


def raw_handler(c, a, p, peer):
    with LOCK:
        CONN[0] += 1
        n = CONN[0]
    t = "%s conn=%d" % (tag("raw", a, p, peer), n)
    data = b""
    state = {}
    while True:
        d = c.recv(65536)
        if not d:
            log("%s closed bytes=%d" % (t, len(data)))
            return
        data += d
        log("%s bytes=%d hex=%s" % (t, len(data), data.hex()))
        if ARGS.socks:
            r = socks_reply(state, data)
            if r:
                c.sendall(r)


# --- UDP ---------------------------------------------------------------------

def stun_answer(m, peer):
    if len(m) < 20 or m[:2] != b"\x00\x01" or m[4:8] != b"\x21\x12\xa4\x42":
        return None
    if ":" in peer[0]:
        fam, ab = 2, socket.inet_pton(socket.AF_INET6, peer[0])
        cookie = m[4:8] + m[8:20]
    else:
        fam, ab = 1, socket.inet_aton(peer[0])
        cookie = m[4:8]
    xport = peer[1] ^ 0x2112
    xaddr = bytes(x ^ y for x, y in zip(ab, cookie))
    attr = struct.pack("!HHBBH", 0x0020, 4 + len(xaddr), 0, fam, xport) + xaddr
    return b"\x01\x01" + struct.pack("!H", len(attr)) + m[4:20] + attr


def udp_main(args):
    socks = []
    for spec in args.listen:
        a, p = parse_listen(spec)
        socks.append((listener(a, p, socket.SOCK_DGRAM), a, p))

    def loop(s, a, p):
        while True:
            m, peer = s.recvfrom(65536)
            extra = ""
            reply = None
            if args.dns:
                q = dns_qname(m)
                extra = " qname=%s" % (q if q is not None else "(unparsed)")
                if q is not None:
                    reply = dns_answer(m)
            if args.stun:
                reply = stun_answer(m, peer)
            if args.echo:
                reply = b"\xc0" + bytes(31)
            log("%s len=%d hex=%s%s" % (tag("udp", a, p, peer), len(m), m.hex(), extra))
            if reply:
                try:
                    s.sendto(reply, peer)
                except OSError:
                    pass

    for s, a, p in socks:
        threading.Thread(target=loop, args=(s, a, p), daemon=True).start()
    log("ready udp %s" % " ".join(args.listen))
    while True:
        time.sleep(3600)


def main():
    global LOG, ARGS
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("cmd", choices=["tls", "http", "dns-tcp", "raw", "udp"])
    ap.add_argument("--listen", action="append", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--timeout", type=float, default=10.0)
    ap.add_argument("--socks", action="store_true")
    ap.add_argument("--dns", action="store_true")
    ap.add_argument("--stun", action="store_true")
    ap.add_argument("--echo", action="store_true")
    ap.add_argument("--abort", help="tls: names whose connection it resets after the handshake")
    args = ap.parse_args()
    ARGS = args
    LOG = args.log
    if args.cmd == "tls":
        if not args.cert or not args.key:
            ap.error("tls needs --cert and --key")
        serve_tcp(args, tls_handler_factory(args))
    elif args.cmd == "http":
        serve_tcp(args, http_handler)
    elif args.cmd == "dns-tcp":
        serve_tcp(args, dns_tcp_handler)
    elif args.cmd == "raw":
        serve_tcp(args, raw_handler)
    else:
        udp_main(args)


ARGS = None
if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)

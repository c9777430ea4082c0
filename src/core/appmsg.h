/* The application messages of a TCP stream under inspection, read whole
 * before anything is decided on them. nDPI 4.2 reads packets: a
 * ClientHello spread over two TLS records, an HTTP Host line split over
 * two segments or written "Host :", a second request on a keep-alive
 * connection or a second DNS query are beyond it. This reads what the
 * server will read, from the stream the normalizer (stream.h) keeps in
 * order, and reports every name a message carries:
 * - TLS: each ClientHello (across records and segments), every SNI entry,
 *   and whether it carries Encrypted ClientHello;
 * - HTTP/1.x: every request, every Host line (any spelling the servers
 *   take), the authority of an absolute-form target, CONNECT's target;
 *   bodies (Content-Length, chunked) are skipped, not read;
 * - DNS over TCP (port 53): every question of every message;
 * - SOCKS4a and SOCKS5: the domain name asked for;
 * - STUN over TCP, bare or framed (RFC 4571): each message, to the sink;
 * - after CONNECT or SOCKS, the tunnelled stream, read again from its
 *   start (a ClientHello inside).
 * Pure: no allocation, no I/O.
 */
#ifndef SKYFENCE_APPMSG_H
#define SKYFENCE_APPMSG_H

#include <stdint.h>

/* The largest message it waits for; a larger one is unreadable. */
#define APPMSG_MAX 32768
#define APPMSG_NAME_LEN 256

enum appmsg_kind {
	AM_NAME_SNI = 0, /* TLS server_name */
	AM_NAME_HOST,	 /* HTTP Host line */
	AM_NAME_PROXY,	 /* absolute-form, CONNECT, SOCKS target */
	AM_NAME_DNS,	 /* DNS question */
};

enum appmsg_proto {
	AM_NONE = 0, /* at the start of a stream: not known yet */
	AM_TLS,
	AM_HTTP,
	AM_DNS,
	AM_SOCKS4,
	AM_SOCKS5,
	AM_STUN,	/* bare STUN messages */
	AM_STUN_FRAMED, /* RFC 4571: a two-byte length before each */
	AM_OTHER,	/* none of these: nDPI's alone */
	AM_PROTO_MAX,
};

/* "none", "tls", "http", "dns", "socks4", "socks5", "stun", "stun-4571",
 * "other". */
const char *appmsg_proto_name(uint8_t proto);

enum appmsg_status {
	AM_IDLE = 0,   /* between messages: another one may name something */
	AM_WAIT,       /* a message is incomplete: nothing to decide on */
	AM_FINAL,      /* no further name can come on this stream */
	AM_UNREADABLE, /* a message too large, or malformed in a way that
			 * leaves what the server reads unknown */
};

const char *appmsg_status_name(uint8_t st);

struct appmsg_sink {
	void *ctx;
	/* a name, lower case, without a trailing dot or a port */
	void (*name)(void *ctx, const char *name, enum appmsg_kind kind);
	/* a whole STUN message (header and attributes) */
	void (*stun)(void *ctx, const uint8_t *msg, uint32_t len);
};

struct appmsg {
	uint8_t proto;	/* enum appmsg_proto of the innermost stream */
	uint8_t status; /* enum appmsg_status, the last one returned */
	uint8_t stage;	/* where in proto's messages */
	uint8_t depth;	/* proxies passed */
	uint8_t ech;	/* a ClientHello carried encrypted_client_hello */
	uint8_t hellos; /* ClientHellos read */
	uint8_t chunked;
	uint8_t line; /* the current request's line was read (its names) */
	uint32_t body_left; /* HTTP body (or chunk) bytes still to skip */
	uint32_t msgs;	    /* messages read */
};

/* Reads the messages in @buf (@len bytes: the stream from its first
 * byte not yet used). *used is how many bytes were used (whole messages,
 * skipped bodies): the caller drops them and passes the rest again with
 * what comes next. @dport is the responder's port. Every name goes to
 * @k as soon as its message is whole. */
enum appmsg_status appmsg_read(struct appmsg *m, const uint8_t *buf,
			       uint32_t len, uint16_t dport,
			       const struct appmsg_sink *k, uint32_t *used);

#endif

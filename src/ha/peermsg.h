/* The HA peers' messages on the wire (peermsg.c), pure: no socket, no
 * clock, no daemon; the caller's wall clock comes in as @now_ms. One UDP
 * datagram of text each, authenticated with HMAC-SHA256 under the pair's
 * key:
 *
 *   SFPEER1 NODE SEQ WALL_MS DIGEST KS_MS\n
 *   KS APP...\n                  ("KS -": the kill switch off)
 *   [CHANGE ID WHAT\n]
 *   MAC HEX\n
 *
 * The MAC covers every byte before "MAC "; HEX is its 64 lowercase hex
 * digits and the datagram ends with that line's newline. NODE is a
 * --node-id (audit_node_ok), DIGEST 64 lowercase hex digits or "-", the
 * numbers decimal without a sign or a leading zero, APP... printable
 * ASCII words separated by single spaces. WHAT is a runtime change's
 * text, carried as data: nothing here reads it. Each field has its bound (PEERMSG_*_MAX); no
 * byte below 0x20 but the lines' newlines, nor 0x7f, is taken anywhere.
 *
 * A message is taken once: its SEQ newer than the last one taken from
 * that peer, its WALL_MS within PEER_WINDOW_MS of ours either way.
 */
#ifndef SKYFENCE_PEERMSG_H
#define SKYFENCE_PEERMSG_H

#include <stddef.h>
#include <stdint.h>

#define PEERMSG_MAX 2048 /* a datagram, MAC line included */
#define PEERMSG_NODE_MAX 63
#define PEERMSG_DIGEST_LEN 64
#define PEERMSG_KS_MAX 255
#define PEERMSG_CHANGE_MAX 1023
#define PEERMSG_NUMBER_MAX 20 /* digits of a uint64_t */
#define PEER_WINDOW_MS 60000u

/* Why a datagram was refused. */
enum peermsg_reason {
	PEERMSG_OK = 0,
	PEERMSG_NO_MAC,	 /* not ended by "MAC HEX\n": cut short, not ours */
	PEERMSG_BAD_MAC, /* another key, or a byte changed on the way */
	PEERMSG_CONTROL_BYTE, /* NUL, CR, DEL... inside the text */
	PEERMSG_UNKNOWN_KIND, /* not SFPEER1, or a line of a kind not known */
	PEERMSG_MALFORMED,  /* a field missing, extra, empty or not its kind */
	PEERMSG_TOO_LONG,   /* a field over its bound */
	PEERMSG_STALE,	    /* WALL_MS more than PEER_WINDOW_MS behind */
	PEERMSG_FUTURE,	    /* WALL_MS more than PEER_WINDOW_MS ahead */
	PEERMSG_REPLAY,	    /* SEQ not newer than the last one taken */
	PEERMSG_WRONG_NODE, /* our own NODE, or not the one this peer had */
	PEERMSG_REASONS
};

/* A message's fields. Decoded, the strings point into the datagram's
 * buffer. */
struct peermsg {
	const char *node;
	uint64_t seq;
	uint64_t wall_ms; /* the sender's wall clock when it sent it */
	const char *digest;
	uint64_t ks_ms;		/* when its kill switch was set; 0: never */
	const char *killswitch; /* the apps; "" off */
	const char *change;	/* NULL: none */
	uint64_t change_id;
};

/* What one peer's messages left here: the replay rule's state and the
 * refusals by reason. Zeroed: nothing taken yet. */
struct peermsg_rx {
	/* the node its messages name: the first one taken pins it (a
	 * peer's --node-id does not change while both run), and never
	 * @own, ours (a datagram of ours sent back by someone on the way
	 * would otherwise read as the peer in step) */
	const char *own; /* NULL: not checked */
	char node[PEERMSG_NODE_MAX + 1];
	uint64_t last_seq;
	uint64_t refused[PEERMSG_REASONS];
};

/* "bad MAC", "replay"...; "?" for a value out of the enum. */
const char *peermsg_reason_name(enum peermsg_reason r);

/* @m as a datagram in @buf (@size bytes), MAC'd with @key. Returns its
 * length; -EINVAL if a field is one peermsg_decode() would refuse,
 * -EMSGSIZE if it does not fit, -EIO if libcrypto failed (@buf's
 * content is then undefined). */
int peermsg_encode(char *buf, size_t size, const struct peermsg *m,
		   const unsigned char *key, size_t keylen);
/* Appends the MAC line over the @len bytes of text in @buf (@size bytes
 * of room): the datagram's length, -EMSGSIZE or -EIO. What
 * peermsg_encode() ends with; a test's own text gets through the MAC
 * with it. */
int peermsg_seal(char *buf, size_t len, size_t size, const unsigned char *key,
		 size_t keylen);
/* Whether @what can travel as a CHANGE: 0, -EMSGSIZE (over
 * PEERMSG_CHANGE_MAX bytes), or -EINVAL (empty, or a control byte). */
int peermsg_change_valid(const char *what);

/* Checks the MAC of the datagram @buf/@len, then reads it in place:
 * PEERMSG_OK with @m's strings pointing into @buf (NUL-terminated there;
 * the byte before @m->change is a space), or the reason it was refused
 * (@buf changed, @m undefined). A libcrypto failure refuses the datagram
 * as PEERMSG_BAD_MAC. */
enum peermsg_reason peermsg_decode(char *buf, size_t len,
				   const unsigned char *key, size_t keylen,
				   struct peermsg *m);
/* The window and the replay rule for a decoded @m at @now_ms: PEERMSG_OK,
 * PEERMSG_STALE, PEERMSG_FUTURE or PEERMSG_REPLAY. @rx is left as it
 * was. */
enum peermsg_reason peermsg_fresh(const struct peermsg_rx *rx,
				  const struct peermsg *m, uint64_t now_ms);
/* peermsg_decode(), the node rule (@rx->own, @rx->node), then
 * peermsg_fresh(): a message taken moves @rx->last_seq to its SEQ (and
 * pins @rx->node); a refused one counts in @rx->refused under its
 * reason, and leaves both. */
enum peermsg_reason peermsg_receive(struct peermsg_rx *rx, char *buf,
				    size_t len, const unsigned char *key,
				    size_t keylen, uint64_t now_ms,
				    struct peermsg *m);

#endif

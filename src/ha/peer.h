/* An HA pair's runtime in step (peer.c): each gateway tells its peers,
 * every second over UDP on the pair's sync link, the digest of its running
 * policy and its kill switch, each message authenticated with HMAC-SHA256
 * under a key both hold (--peer-key), and forwards every runtime change a
 * control client made (rule, department) as it was accepted.
 * - The kill switch converges: the newer kill switch (by the wall-clock
 *   time it was set) wins, so one set on the master holds on the backup
 *   within a second, and an "off" travels the same way.
 * - A change is applied on the peer through the same validation as a
 *   client's (the whole policy checked, nothing half-applied); one that
 *   fails there, or a policy file loaded on one node only, shows as drift:
 *   the digests differ in `status` and the metrics.
 * Messages older than PEER_WINDOW_MS, or not newer than the last one from
 * the same node, are ignored (replays); the messages' format, their MAC
 * and these rules are peermsg.h's.
 */
#ifndef SKYFENCE_PEER_H
#define SKYFENCE_PEER_H

#include <stddef.h>
#include <stdint.h>

#include "ha/peermsg.h" /* the messages; PEER_WINDOW_MS */

#define PEER_MAX 4
#define PEER_KEY_MIN 32	     /* bytes of the key file */
#define PEER_SILENT_MS 3000u /* a peer not heard for this long is silent */

struct change;
struct daemon;

struct peer_info {
	char addr[64];	 /* as given to --peer */
	char node[64];	 /* its --node-id, "" until heard */
	char digest[65]; /* its running policy's SHA-256, hex */
	char killswitch[256];
	uint64_t seen_ms; /* monotonic; 0: never */
	uint64_t changes_applied, changes_refused, bad_messages;
	/* bad_messages by reason (peermsg.h), PEERMSG_OK's unused */
	uint64_t refused[PEERMSG_REASONS];
};

struct peers;

/* Opens the UDP socket on @listen ("ADDR:PORT") and reads the key file
 * (regular, not readable by group or others, PEER_KEY_MIN bytes at
 * least). NULL with a message in @err. */
struct peers *peers_open(const char *listen, const char *const *peer_addrs,
			 unsigned n, const char *key_path, char *err,
			 size_t errlen);
void peers_close(struct peers *p);
int peers_fd(const struct peers *p);

/* Reads the datagrams waiting, applies what they carry. */
void peers_input(struct peers *p, struct daemon *d);
/* Sends the state to every peer (the one-second tick, and after a
 * change). */
void peers_send_state(struct peers *p, struct daemon *d);
/* A runtime change accepted from a client: forwarded to every peer. */
void peers_forward_change(struct peers *p, struct daemon *d, const char *what);
/* The kill switch changed here now (its version for the peers). */
void peers_killswitch_changed(struct peers *p);
/* The change service's hook (change.h; @ctx the daemon): a client's
 * edit is forwarded as it was accepted; a kill switch set here is newer
 * than the peers' and goes out at once. A peer's own change is not sent
 * back. */
void peers_changed(void *ctx, const struct change *c);

unsigned peers_count(const struct peers *p);
/* Datagrams from an address that is no peer of ours (dropped unread). */
uint64_t peers_unknown(const struct peers *p);
void peers_get(const struct peers *p, unsigned i, struct peer_info *out);
/* 1 when every peer heard within PEER_SILENT_MS has our digest */
int peers_in_step(const struct peers *p, const char *our_digest,
		  uint64_t now_ms);

#endif

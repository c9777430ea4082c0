/* RADIUS accounting (RFC 2866) on the wire, pure: no socket, no clock.
 * A NAS (a Wi-Fi controller, a VPN concentrator) sends an
 * Accounting-Request when a session starts, goes on and stops; we take
 * from it who is behind which address, and answer with an
 * Accounting-Response. Only the request side of a server is needed.
 *
 * Hand-written on purpose: radcli is a client library and has no API to
 * verify a request as a server must; libfreeradius's API is internal to
 * FreeRADIUS, needs its dictionaries on disk and talloc. The subset here
 * is small, bounded and fuzzed.
 *
 *   Code(1) Identifier(1) Length(2) Authenticator(16) Attributes...
 *   attribute: Type(1) Length(1, the whole attribute, >= 2) Value
 *
 * A request is taken when its Length is 20..RADIUS_MAX_LEN and within the
 * datagram (bytes after Length are padding, ignored: RFC 2865 section 3),
 * its code is 4, its attributes tile the rest exactly, its Request
 * Authenticator is MD5(Code+Identifier+Length+16 zero octets+Attributes+
 * secret) (RFC 2866 section 3) and, when present, its
 * Message-Authenticator (80) verifies. RFC 3579 section 3.2 defines
 * Message-Authenticator for Access-* packets only; for an
 * Accounting-Request FreeRADIUS (rad_sign, rad_verify) and radclient
 * 3.2.1, whose datagram test_radius.c carries, compute the HMAC-MD5 with
 * the Authenticator field as 16 zero octets and the attribute's value
 * zeroed, then the Request Authenticator over the packet holding the
 * final Message-Authenticator. That is what is checked here. Both
 * comparisons are in constant time.
 *
 * The checks run in this order, so that a datagram from someone without
 * the secret learns nothing from the refusal about its attributes'
 * values: SHORT, CODE, the attributes' framing (ATTR), the
 * authenticators (AUTH), the values (ATTR), STATUS.
 */
#ifndef SKYFENCE_RADIUS_H
#define SKYFENCE_RADIUS_H

#include <stddef.h>
#include <stdint.h>

#define RADIUS_MAX_LEN 4096 /* RFC 2865 section 3 */
#define RADIUS_HDR_LEN 20
#define RADIUS_MAX_GROUPS 8
#define RADIUS_STR 254 /* an attribute's value, NUL-terminated */
#define RADIUS_PROXY_STATE_MAX 1024

#define RADIUS_ACCOUNTING_REQUEST 4
#define RADIUS_ACCOUNTING_RESPONSE 5

/* Attribute types read here (RFC 2865, 2866, 2869, 3162, 6911). */
enum radius_attr_type {
	RADIUS_USER_NAME = 1,
	RADIUS_NAS_IP_ADDRESS = 4,
	RADIUS_FRAMED_IP_ADDRESS = 8,
	RADIUS_FILTER_ID = 11,
	RADIUS_CLASS = 25,
	RADIUS_PROXY_STATE = 33,
	RADIUS_CALLING_STATION_ID = 31,
	RADIUS_NAS_IDENTIFIER = 32,
	RADIUS_ACCT_STATUS_TYPE = 40,
	RADIUS_ACCT_DELAY_TIME = 41,
	RADIUS_ACCT_SESSION_ID = 44,
	RADIUS_EVENT_TIMESTAMP = 55,
	RADIUS_MESSAGE_AUTHENTICATOR = 80,
	RADIUS_ACCT_INTERIM_INTERVAL = 85,
	RADIUS_NAS_IPV6_ADDRESS = 95,
	RADIUS_FRAMED_IPV6_PREFIX = 97,
	RADIUS_FRAMED_IPV6_ADDRESS = 168,
};

/* Acct-Status-Type values (RFC 2866 section 5.1). */
enum radius_status {
	RADIUS_START = 1,
	RADIUS_STOP = 2,
	RADIUS_INTERIM = 3,
	RADIUS_ACCT_ON = 7,
	RADIUS_ACCT_OFF = 8,
};

enum radius_err {
	RADIUS_OK = 0,
	RADIUS_ERR_SHORT = -1, /* < 20 bytes, Length < 20, > 4096 or past the
				* datagram */
	RADIUS_ERR_CODE = -2,  /* not an Accounting-Request (code 4) */
	/* the attributes do not tile the packet (an attribute's length < 2
	 * or past the end), two Message-Authenticators, or a value not of
	 * its type: an address, integer or Message-Authenticator of the
	 * wrong size, a Framed-IPv6-Prefix longer than 128 bits or than its
	 * bytes, a NUL in User-Name, Acct-Session-Id, NAS-Identifier or
	 * Filter-Id, a Filter-Id that is not printable UTF-8 */
	RADIUS_ERR_ATTR = -3,
	/* the Request Authenticator, or the Message-Authenticator when
	 * present, does not verify with the secret */
	RADIUS_ERR_AUTH = -4,
	RADIUS_ERR_STATUS = -5, /* no Acct-Status-Type */
};
#define RADIUS_ERRS 6 /* 0 and the five above, negated */

/* One Accounting-Request's facts. Strings are NUL-terminated, "" when
 * the attribute is absent or empty. A single-valued attribute given twice
 * counts once: the first one, whatever its value (each copy must still
 * be well-formed). */
struct radius_acct {
	uint8_t id;		   /* RADIUS Identifier */
	uint8_t authenticator[16]; /* the request's, for the response */
	uint32_t status; /* enum radius_status (other values passed through) */
	char user[RADIUS_STR];	  /* User-Name (1) */
	char session[RADIUS_STR]; /* Acct-Session-Id (44) */
	/* Calling-Station-Id (31) as radius_mac_normalise writes it; "" if
	 * absent or not a MAC address */
	char mac[18];
	char nas[RADIUS_STR]; /* NAS-Identifier (32) */
	/* NAS-IP-Address (4) or NAS-IPv6-Address (95) as text, "" if
	 * none: names the NAS when a proxy (FreeRADIUS) forwards for many */
	char nas_addr[48];
	int has_event_ts;
	uint32_t event_ts; /* Event-Timestamp (55), seconds since 1970 */
	/* Framed-IP-Address (8); 0.0.0.0, 255.255.255.255 and
	 * 255.255.255.254 (RFC 2865 5.8: "let the user choose", "let the NAS
	 * choose" from its pool) are no address and count as absent */
	int has_ip4;
	uint8_t ip4[4];
	int has_ip6; /* Framed-IPv6-Address (168, RFC 6911); :: is absent */
	uint8_t ip6[16];
	/* Framed-IPv6-Prefix (97, RFC 3162 2.3): reserved byte,
	 * prefix-length 0..128, then at least ceil(len / 8) and at most 16
	 * prefix bytes (FreeRADIUS sends all 16); bits past the length are
	 * zeroed here */
	int has_prefix6;
	uint8_t prefix6[16];
	uint8_t prefix6_len;
	/* Class (25), in order, each a printable UTF-8 value (no C0 or C1
	 * control, no DEL); a binary one (Windows NPS sends binary Class
	 * values with NULs) is skipped and counted in skipped_class, an
	 * empty one ignored */
	unsigned n_class;
	char class_[RADIUS_MAX_GROUPS][RADIUS_STR];
	unsigned n_filter; /* Filter-Id (11), in order; an empty one ignored */
	char filter[RADIUS_MAX_GROUPS][RADIUS_STR];
	unsigned skipped_class;
	/* Class and Filter-Id values past RADIUS_MAX_GROUPS of their kind:
	 * not kept */
	unsigned dropped_groups;
	uint32_t interim_interval; /* Acct-Interim-Interval (85), else 0 */
	/* Acct-Delay-Time (41): how long the sender held the message */
	int has_delay;
	uint32_t delay;
	/* the Proxy-State attributes (33), whole and in order, which the
	 * response must carry back (RFC 2865 5.33; a proxy such as
	 * FreeRADIUS adds one); past RADIUS_PROXY_STATE_MAX bytes the
	 * request is malformed */
	uint8_t proxy_state[RADIUS_PROXY_STATE_MAX];
	size_t proxy_state_len;
};

/* Parses and verifies the datagram @buf of @len bytes from a client
 * whose shared secret is @secret. Returns RADIUS_OK, or a negative enum
 * radius_err (AUTH also when libcrypto fails); *out is written only on
 * RADIUS_OK. Never reads past @len, nor past the Length field. */
int radius_parse_acct(const uint8_t *buf, size_t len, const uint8_t *secret,
		      size_t secret_len, struct radius_acct *out);

/* Writes the Accounting-Response to @req into @out: code 5, @req's
 * Identifier, no attributes, Response Authenticator = MD5(Code+
 * Identifier+Length+Request Authenticator+secret) (RFC 2866 section 3).
 * Returns its length (20), or 0 if @cap is below 20 or libcrypto fails. */
size_t radius_acct_response(const struct radius_acct *req,
			    const uint8_t *secret, size_t secret_len,
			    uint8_t *out, size_t cap);

/* An attribute for radius_build_acct: @len bytes at @val (up to 253). */
struct radius_attr {
	uint8_t type;
	const void *val;
	uint8_t len;
};

/* Builds an Accounting-Request with @n attributes in the order given into
 * @out (the unit tests' and the fuzzer's requests). A
 * Message-Authenticator (80) among them must have @len 16 and gets its
 * value computed (@val may be NULL); then the Request Authenticator.
 * Returns the length, or 0 if an attribute is over 253 bytes, the packet
 * over RADIUS_MAX_LEN or @cap, or libcrypto fails. */
size_t radius_build_acct(uint8_t id, const struct radius_attr *attrs,
			 unsigned n, const uint8_t *secret, size_t secret_len,
			 uint8_t *out, size_t cap);

/* Signs the Accounting-Request @buf of @len bytes in place, whatever it
 * holds: the first Message-Authenticator with a 16-byte value, when the
 * attributes before it are well framed, and then the Request
 * Authenticator, both over Length's bytes. 0, or -1 if @len is below 20,
 * Length is not 20..@len or libcrypto fails. */
int radius_sign_acct(uint8_t *buf, size_t len, const uint8_t *secret,
		     size_t secret_len);

/* A short word for @err (a negative enum radius_err): "ok", "short", "not
 * accounting", "malformed attribute", "bad authenticator", "no status";
 * a metric label and a refusal's cause. "?" for anything else. */
const char *radius_strerror(int err);

/* Normalises the MAC address at the start of the @len bytes at @in into
 * @out as "aa:bb:cc:dd:ee:ff". Takes aa:bb:cc:dd:ee:ff, aa-bb-cc-dd-ee-ff,
 * aabb.ccdd.eeff and aabbccddeeff in either case (one separator
 * throughout), followed by nothing or by ':' and anything (the SSID some
 * access points append: "AA-BB-CC-DD-EE-FF:corp-wifi"). 0, or -1 with
 * @out "". */
int radius_mac_normalise(const char *in, size_t len, char out[18]);

#endif

/* libFuzzer: RADIUS accounting (identity/radius.c) under a fixed secret,
 * and the clients file (identity/clients.c). The first byte picks the
 * mode: 0 (mod 3), the rest is a datagram as it came (the authenticator
 * stops it, unless the fuzzer finds MD5 preimages); 1, the rest becomes
 * an Accounting-Request first, its Length set and signed with the secret
 * (radius_sign_acct), so that the decoder behind the authenticators is
 * reached; 2, the rest is a clients file, and a few sources are looked up
 * in what it gave. Each input is copied to a buffer of its exact size, so
 * that ASan sees a read past the end. A request taken holds only what
 * radius.h promises. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "identity/clients.h"
#include "identity/radius.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t secret[] = "fuzzing-secret";
#define SECRET_LEN (sizeof(secret) - 1)

static void check_str(const char *s, size_t cap)
{
	if (strnlen(s, cap) == cap)
		__builtin_trap();
}

static void check_mac(const char *m)
{
	char again[18];
	size_t n = strnlen(m, 18);

	if (n != 0 && (n != 17 || radius_mac_normalise(m, n, again) != 0 ||
		       strcmp(m, again)))
		__builtin_trap();
}

/* what a request taken must hold */
static void check_acct(const struct radius_acct *a, const uint8_t *p)
{
	uint8_t resp[RADIUS_HDR_LEN + RADIUS_PROXY_STATE_MAX];
	unsigned i;

	check_str(a->user, RADIUS_STR);
	check_str(a->session, RADIUS_STR);
	check_str(a->nas, RADIUS_STR);
	check_mac(a->mac);
	if (a->n_class > RADIUS_MAX_GROUPS || a->n_filter > RADIUS_MAX_GROUPS)
		__builtin_trap();
	for (i = 0; i < a->n_class; i++)
		if (!a->class_[i][0] ||
		    strnlen(a->class_[i], RADIUS_STR) == RADIUS_STR)
			__builtin_trap();
	for (i = 0; i < a->n_filter; i++)
		if (!a->filter[i][0] ||
		    strnlen(a->filter[i], RADIUS_STR) == RADIUS_STR)
			__builtin_trap();
	if (a->has_prefix6) {
		if (a->prefix6_len > 128)
			__builtin_trap();
		for (i = a->prefix6_len; i < 128; i++)
			if (a->prefix6[i / 8] & (0x80 >> (i % 8)))
				__builtin_trap();
	}
	if (a->has_ip4 && (!memcmp(a->ip4, "\0\0\0\0", 4) ||
			   !memcmp(a->ip4, "\xff\xff\xff\xff", 4) ||
			   !memcmp(a->ip4, "\xff\xff\xff\xfe", 4)))
		__builtin_trap();
	if (a->id != p[1] || memcmp(a->authenticator, p + 4, 16))
		__builtin_trap();
	/* the Proxy-States, whole attributes of type 33, go back as they
	 * came */
	if (a->proxy_state_len > RADIUS_PROXY_STATE_MAX)
		__builtin_trap();
	for (i = 0; i < a->proxy_state_len; i += a->proxy_state[i + 1])
		if (a->proxy_state[i] != RADIUS_PROXY_STATE ||
		    a->proxy_state[i + 1] < 2 ||
		    i + a->proxy_state[i + 1] > a->proxy_state_len)
			__builtin_trap();
	if (radius_acct_response(a, secret, SECRET_LEN, resp, sizeof(resp)) !=
		    RADIUS_HDR_LEN + a->proxy_state_len ||
	    resp[0] != RADIUS_ACCOUNTING_RESPONSE || resp[1] != a->id ||
	    memcmp(resp + RADIUS_HDR_LEN, a->proxy_state, a->proxy_state_len))
		__builtin_trap();
}

static void datagram(uint8_t *p, size_t len, int sign)
{
	struct radius_acct a;
	int rc;

	if (sign && len >= RADIUS_HDR_LEN && len <= RADIUS_MAX_LEN) {
		p[0] = RADIUS_ACCOUNTING_REQUEST;
		p[2] = (uint8_t)(len >> 8);
		p[3] = (uint8_t)len;
		if (radius_sign_acct(p, len, secret, SECRET_LEN) != 0)
			__builtin_trap();
	}
	rc = radius_parse_acct(p, len, secret, SECRET_LEN, &a);
	if (rc > 0 || rc < RADIUS_ERR_STATUS ||
	    !strcmp(radius_strerror(rc), "?"))
		__builtin_trap();
	if (rc != RADIUS_OK)
		return;
	check_acct(&a, p);
	/* one byte fewer than Length: never taken */
	if ((size_t)(p[2] << 8 | p[3]) == len &&
	    radius_parse_acct(p, len - 1, secret, SECRET_LEN, &a) !=
		    RADIUS_ERR_SHORT)
		__builtin_trap();
}

static void clients(const char *text, size_t len)
{
	static const uint8_t probes[][16] = {
		{ [10] = 0xff, [11] = 0xff, 192, 0, 2, 1 },
		{ [10] = 0xff, [11] = 0xff, 10, 0, 0, 1 },
		{ [10] = 0xff, [11] = 0xff },
		{ 0x20, 0x01, 0x0d, 0xb8, [15] = 1 },
		{ [15] = 1 },
		{ 0 },
		{ 0xfe, 0x80, [15] = 1 },
	};
	struct radius_clients *c;
	char err[256];
	unsigned i;

	err[0] = '\0';
	c = radius_clients_parse(text, len, "fuzz", err, sizeof(err));
	if (!c) {
		if (strncmp(err, "fuzz:", 5))
			__builtin_trap();
		return;
	}
	if (radius_clients_count(c) == 0)
		__builtin_trap();
	for (i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		size_t n = 0;
		const uint8_t *s = radius_clients_secret(c, probes[i], &n);

		if (s && (n == 0 || n > RADIUS_SECRET_MAX ||
			  memchr(s, ' ', n) || memchr(s, '\0', n)))
			__builtin_trap();
	}
	radius_clients_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;
	size_t len;

	if (size < 1 || size - 1 > RADIUS_MAX_LEN + 64)
		return 0;
	len = size - 1;
	copy = malloc(len ? len : 1);
	if (!copy)
		return 0;
	memcpy(copy, data + 1, len);
	switch (data[0] % 3) {
	case 0:
	case 1:
		datagram(copy, len, data[0] % 3);
		break;
	default:
		clients((const char *)copy, len);
		break;
	}
	free(copy);
	return 0;
}

/* The fleet bucket's values (fleet/fleetval.c): each kind is written
 * byte for byte as the contract says and read back with its fields
 * exact; a value that another writer (or an attacker with the bucket's
 * write rights) could have put there is taken only if the encoder could
 * have written it: a wrong header, a field missing, doubled, out of
 * order or over its bound, a byte that is not printable ASCII, a policy
 * whose text is not the one its SHA-256 names, a byte after the last
 * field are each refused with their reason. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "fleet/fleetval.h"

#define POLICY_TEXT                                   \
	"department finance { hosts 10.1.0.0/16; }\n" \
	"killswitch skype;\n"
/* `sha256sum` of POLICY_TEXT, of "" */
#define POLICY_SHA \
	"30b660ebf1a7c16ef24647a3d6e6b0790bb51926aea5526c9154822f8e39aa9c"
#define EMPTY_SHA \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define DIG "823412d1eacb67956220e532959f0104603057c88704863ca38e7cd188fda812"

#define POLICY_VALUE                                              \
	"skyfence-policy 1\nsha256 " POLICY_SHA "\nby gw1 1000\n" \
	"what rule for finance\nbase 3\n\n" POLICY_TEXT
#define KS_VALUE "skyfence-killswitch 1\napps skype Zoom\nby gw-2 -1\n"
#define STATUS_HEAD "skyfence-status 1\nbeat 7\npolicy 12\n"
#define STATUS_VALUE                                              \
	STATUS_HEAD "killswitch 3 skype\nlocal\ndigest " DIG "\n" \
		    "health ok\n"
#define HEAD_VALUE "skyfence-head 1\nseq 42\nsha256 " DIG "\n"

static char err[256];

/* decodes @len bytes of @v as @kind ('p', 'k', 's', 'h') from a buffer
 * of exactly that size, so that a read past the end is ASan's */
static int decode(int kind, const char *v, size_t len)
{
	char *copy = malloc(len ? len : 1);
	struct fleet_policy p;
	struct fleet_ks k;
	struct fleet_status s;
	struct fleet_head h;
	int r = -2;

	ck_assert_ptr_nonnull(copy);
	memcpy(copy, v, len);
	memset(err, 0, sizeof(err));
	switch (kind) {
	case 'p':
		r = fleetval_policy_decode(copy, len, &p, err, sizeof(err));
		break;
	case 'k':
		r = fleetval_ks_decode(copy, len, &k, err, sizeof(err));
		break;
	case 's':
		r = fleetval_status_decode(copy, len, &s, err, sizeof(err));
		break;
	case 'h':
		r = fleetval_head_decode(copy, len, &h, err, sizeof(err));
		break;
	}
	free(copy);
	return r;
}

static struct fleet_policy policy(void)
{
	struct fleet_policy p = { .uid = 1000, .base = 3 };

	strcpy(p.by, "gw1");
	strcpy(p.what, "rule for finance");
	p.text = POLICY_TEXT;
	p.len = strlen(POLICY_TEXT);
	return p;
}

static struct fleet_status status(void)
{
	struct fleet_status s = { .beat = 7, .policy_rev = 12, .ks_rev = 3 };

	strcpy(s.ks, "skype");
	strcpy(s.digest, DIG);
	strcpy(s.health, "ok");
	return s;
}

/* @p encoded and read back: the same fields, the text where the value's
 * bytes are */
static void policy_round_trip(const struct fleet_policy *p)
{
	struct fleet_policy got;
	size_t len = 0;
	char *v = fleetval_policy_encode(p, &len, err, sizeof(err));

	ck_assert_msg(v != NULL, "encode: %s", err);
	ck_assert_uint_eq(v[len], '\0');
	ck_assert_msg(fleetval_policy_decode(v, len, &got, err, sizeof(err)) ==
			      0,
		      "decode: %s", err);
	ck_assert_str_eq(got.by, p->by);
	ck_assert_int_eq(got.uid, p->uid);
	ck_assert_str_eq(got.what, p->what);
	ck_assert_uint_eq(got.base, p->base);
	ck_assert_uint_eq(got.len, p->len);
	ck_assert(got.text >= v && got.text + got.len == v + len);
	ck_assert(memcmp(got.text, p->text, p->len) == 0);
	free(v);
}

static void ks_round_trip(const struct fleet_ks *k)
{
	char v[512];
	struct fleet_ks got;
	int n = fleetval_ks_encode(k, v, sizeof(v));

	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(
		fleetval_ks_decode(v, (size_t)n, &got, err, sizeof(err)), 0);
	ck_assert_str_eq(got.apps, k->apps);
	ck_assert_str_eq(got.by, k->by);
	ck_assert_int_eq(got.uid, k->uid);
}

static void status_round_trip(const struct fleet_status *s)
{
	static char v[8192];
	struct fleet_status got;
	unsigned i;
	int n = fleetval_status_encode(s, v, sizeof(v));

	ck_assert_int_gt(n, 0);
	ck_assert_msg(fleetval_status_decode(v, (size_t)n, &got, err,
					     sizeof(err)) == 0,
		      "decode: %s", err);
	ck_assert_uint_eq(got.beat, s->beat);
	ck_assert_uint_eq(got.policy_rev, s->policy_rev);
	ck_assert_uint_eq(got.ks_rev, s->ks_rev);
	ck_assert_str_eq(got.ks, s->ks);
	ck_assert_str_eq(got.local, s->local);
	ck_assert_str_eq(got.digest, s->digest);
	ck_assert_str_eq(got.health, s->health);
	ck_assert_uint_eq(got.n_conflicts, s->n_conflicts);
	for (i = 0; i < s->n_conflicts; i++)
		ck_assert_str_eq(got.conflict[i], s->conflict[i]);
}

START_TEST(test_each_kind_is_written_byte_for_byte_as_the_contract_says)
{
	struct fleet_policy p = policy();
	struct fleet_ks k = { .uid = -1 };
	struct fleet_status s = status();
	struct fleet_head h = { .seq = 42 };
	char v[1024];
	size_t len = 0;
	char *pv = fleetval_policy_encode(&p, &len, err, sizeof(err));

	ck_assert_ptr_nonnull(pv);
	ck_assert_str_eq(pv, POLICY_VALUE);
	ck_assert_uint_eq(len, strlen(POLICY_VALUE));
	free(pv);

	/* nothing said, made on no revision, the empty document */
	p.what[0] = '\0';
	p.base = 0;
	p.uid = -1;
	p.text = "";
	p.len = 0;
	pv = fleetval_policy_encode(&p, &len, err, sizeof(err));
	ck_assert_ptr_nonnull(pv);
	ck_assert_str_eq(pv, "skyfence-policy 1\nsha256 " EMPTY_SHA
			     "\nby gw1 -1\nwhat\nbase 0\n\n");
	free(pv);

	strcpy(k.apps, "skype Zoom");
	strcpy(k.by, "gw-2");
	ck_assert_int_eq(fleetval_ks_encode(&k, v, sizeof(v)),
			 (int)strlen(KS_VALUE));
	ck_assert_str_eq(v, KS_VALUE);
	k.apps[0] = '\0';
	k.uid = 0;
	ck_assert_int_gt(fleetval_ks_encode(&k, v, sizeof(v)), 0);
	ck_assert_str_eq(v, "skyfence-killswitch 1\napps\nby gw-2 0\n");

	ck_assert_int_eq(fleetval_status_encode(&s, v, sizeof(v)),
			 (int)strlen(STATUS_VALUE));
	ck_assert_str_eq(v, STATUS_VALUE);
	s.ks[0] = '\0';
	strcpy(s.local, "BitTorrent Skype.Call");
	strcpy(s.health, "behind the bucket since 12");
	s.n_conflicts = 2;
	strcpy(s.conflict[0], "policy 13 refused: t:1:1: unknown statement");
	strcpy(s.conflict[1], "killswitch 4: unknown app 'Zom'");
	ck_assert_int_gt(fleetval_status_encode(&s, v, sizeof(v)), 0);
	ck_assert_str_eq(v, STATUS_HEAD "killswitch 3\nlocal BitTorrent "
					"Skype.Call\ndigest " DIG "\n"
					"health behind the bucket since 12\n"
					"conflict policy 13 refused: t:1:1: "
					"unknown statement\n"
					"conflict killswitch 4: unknown app "
					"'Zom'\n");

	strcpy(h.sha256, DIG);
	ck_assert_int_eq(fleetval_head_encode(&h, v, sizeof(v)),
			 (int)strlen(HEAD_VALUE));
	ck_assert_str_eq(v, HEAD_VALUE);
}
END_TEST

START_TEST(test_contract_text_is_read_with_every_field_exact)
{
	struct fleet_policy p;
	struct fleet_ks k;
	struct fleet_status s;
	struct fleet_head h;
	const char *pv = POLICY_VALUE;

	ck_assert_int_eq(
		fleetval_policy_decode(pv, strlen(pv), &p, err, sizeof(err)),
		0);
	ck_assert_str_eq(p.sha256, POLICY_SHA);
	ck_assert_str_eq(p.by, "gw1");
	ck_assert_int_eq(p.uid, 1000);
	ck_assert_str_eq(p.what, "rule for finance");
	ck_assert_uint_eq(p.base, 3);
	ck_assert_ptr_eq(p.text, pv + strlen(pv) - strlen(POLICY_TEXT));
	ck_assert_uint_eq(p.len, strlen(POLICY_TEXT));

	ck_assert_int_eq(fleetval_ks_decode(KS_VALUE, strlen(KS_VALUE), &k, err,
					    sizeof(err)),
			 0);
	ck_assert_str_eq(k.apps, "skype Zoom");
	ck_assert_str_eq(k.by, "gw-2");
	ck_assert_int_eq(k.uid, -1);

	ck_assert_int_eq(fleetval_status_decode(STATUS_VALUE,
						strlen(STATUS_VALUE), &s, err,
						sizeof(err)),
			 0);
	ck_assert_uint_eq(s.beat, 7);
	ck_assert_uint_eq(s.policy_rev, 12);
	ck_assert_uint_eq(s.ks_rev, 3);
	ck_assert_str_eq(s.ks, "skype");
	ck_assert_str_eq(s.local, "");
	ck_assert_str_eq(s.digest, DIG);
	ck_assert_str_eq(s.health, "ok");
	ck_assert_uint_eq(s.n_conflicts, 0);

	ck_assert_int_eq(fleetval_head_decode(HEAD_VALUE, strlen(HEAD_VALUE),
					      &h, err, sizeof(err)),
			 0);
	ck_assert_uint_eq(h.seq, 42);
	ck_assert_str_eq(h.sha256, DIG);
}
END_TEST

START_TEST(test_every_kind_round_trips_at_its_bounds)
{
	struct fleet_policy p = policy();
	struct fleet_ks k = { .uid = 2147483647 };
	struct fleet_status s = status();
	struct fleet_head h = { .seq = UINT64_MAX }, hgot;
	char v[256];
	unsigned i;
	int n;

	policy_round_trip(&p);
	/* the longest node, every printable byte in 'what', the largest
	 * numbers, what was never a person's */
	memset(p.by, 'N', FLEET_NODE_MAX);
	p.by[FLEET_NODE_MAX] = '\0';
	for (i = 0; i < FLEET_WHAT_MAX; i++)
		p.what[i] = (char)(0x20 + i % 0x5f);
	p.what[FLEET_WHAT_MAX] = '\0';
	p.base = UINT64_MAX;
	p.uid = 2147483647;
	policy_round_trip(&p);
	p.uid = -1;
	p.base = 0;
	/* 'what' that is spaces only, or starts or ends with one */
	strcpy(p.what, " ");
	policy_round_trip(&p);
	strcpy(p.what, "  two leading, two trailing  ");
	policy_round_trip(&p);
	/* a document that is not text at all to the codec: every byte but
	 * NUL, no final newline, an empty line and "skyfence-policy 1"
	 * inside it */
	{
		static char text[300];
		size_t o = 0;

		o += (size_t)sprintf(text, "\n\nskyfence-policy 1\nbase 9\n");
		for (i = 1; i < 256; i++)
			text[o++] = (char)i;
		p.text = text;
		p.len = o;
		policy_round_trip(&p);
	}
	p.text = "";
	p.len = 0;
	policy_round_trip(&p);
	/* an empty document need not point anywhere */
	{
		size_t len = 0;
		char *e;

		p.text = NULL;
		e = fleetval_policy_encode(&p, &len, err, sizeof(err));
		ck_assert_ptr_nonnull(e);
		ck_assert(len > 0 && e[len - 2] == '\n' && e[len - 1] == '\n');
		ck_assert(strstr(e, EMPTY_SHA) != NULL);
		free(e);
	}

	/* a kill switch of exactly FLEET_APPS_MAX bytes */
	strcpy(k.by, "gw_3");
	for (i = 0; i < FLEET_APPS_MAX; i++)
		k.apps[i] = i % 8 == 7 ? ' ' : "aZ09_.-x"[i % 8];
	k.apps[FLEET_APPS_MAX] = '\0';
	ck_assert_int_eq(fleetval_apps_ok(k.apps), 1);
	ks_round_trip(&k);
	memset(k.apps, 'w', FLEET_APPS_MAX);
	ks_round_trip(&k);
	k.apps[0] = '\0';
	k.uid = 0;
	ks_round_trip(&k);

	status_round_trip(&s);
	s.beat = s.policy_rev = s.ks_rev = UINT64_MAX;
	memset(s.ks, 'k', FLEET_APPS_MAX);
	s.ks[FLEET_APPS_MAX] = '\0';
	memset(s.local, 'l', FLEET_APPS_MAX);
	s.local[FLEET_APPS_MAX] = '\0';
	for (i = 0; i < FLEET_HEALTH_MAX; i++)
		s.health[i] = (char)(0x20 + i % 0x5f);
	s.health[FLEET_HEALTH_MAX] = '\0';
	for (n = 0; n < FLEET_CONFLICTS; n++) {
		memset(s.conflict[n], '!' + n, FLEET_CONFLICT_MAX);
		s.conflict[n][FLEET_CONFLICT_MAX] = '\0';
	}
	for (s.n_conflicts = 0; s.n_conflicts <= FLEET_CONFLICTS;
	     s.n_conflicts++)
		status_round_trip(&s);
	s.n_conflicts = 1;
	strcpy(s.conflict[0], " ");
	status_round_trip(&s);
	s.beat = s.policy_rev = s.ks_rev = 0;
	s.ks[0] = s.local[0] = '\0';
	strcpy(s.health, " ");
	status_round_trip(&s);

	strcpy(h.sha256, DIG);
	n = fleetval_head_encode(&h, v, sizeof(v));
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(
		fleetval_head_decode(v, (size_t)n, &hgot, err, sizeof(err)), 0);
	ck_assert_uint_eq(hgot.seq, UINT64_MAX);
	ck_assert_str_eq(hgot.sha256, DIG);
	h.seq = 0;
	n = fleetval_head_encode(&h, v, sizeof(v));
	ck_assert_int_eq(
		fleetval_head_decode(v, (size_t)n, &hgot, err, sizeof(err)), 0);
	ck_assert_uint_eq(hgot.seq, 0);
}
END_TEST

START_TEST(test_policy_of_200_kib_round_trips_byte_identical)
{
	size_t len = 200 * 1024, i, vlen = 0;
	char *text = malloc(len), *v;
	struct fleet_policy p = policy(), got;

	ck_assert_ptr_nonnull(text);
	for (i = 0; i < len; i++)
		text[i] = i % 61 == 60 ? '\n' : (char)('!' + (i * 7) % 94);
	p.text = text;
	p.len = len;
	v = fleetval_policy_encode(&p, &vlen, err, sizeof(err));
	ck_assert_msg(v != NULL, "%s", err);
	ck_assert_int_eq(
		fleetval_policy_decode(v, vlen, &got, err, sizeof(err)), 0);
	ck_assert_uint_eq(got.len, len);
	ck_assert(memcmp(got.text, text, len) == 0);
	/* and the same document again is the same value */
	{
		size_t vlen2 = 0;
		char *v2 =
			fleetval_policy_encode(&got, &vlen2, err, sizeof(err));

		ck_assert_ptr_nonnull(v2);
		ck_assert_uint_eq(vlen2, vlen);
		ck_assert(memcmp(v, v2, vlen) == 0);
		free(v2);
	}
	free(v);
	free(text);
}
END_TEST

/* The SHA-256 names the text: a byte of it changed anywhere, the text
 * cut or grown by one byte, or another digest named, and the whole
 * document is refused. */
START_TEST(test_policy_changed_or_cut_on_the_way_is_refused_whole)
{
	static const char changed[] =
		"the policy's SHA-256 is not the one it names: cut or changed "
		"on the way";
	const char *good = POLICY_VALUE;
	size_t len = strlen(good), tstart = len - strlen(POLICY_TEXT), i;
	char *v = malloc(len + 1);

	ck_assert_ptr_nonnull(v);
	ck_assert_int_eq(decode('p', good, len), 0);
	for (i = tstart; i < len; i++) {
		memcpy(v, good, len);
		v[i] ^= 0x01;
		ck_assert_int_eq(decode('p', v, len), -1);
		ck_assert_str_eq(err, changed);
	}
	ck_assert_int_eq(decode('p', good, len - 1), -1);
	ck_assert_str_eq(err, changed);
	/* cut to nothing after the empty line */
	ck_assert_int_eq(decode('p', good, tstart), -1);
	ck_assert_str_eq(err, changed);
	memcpy(v, good, len);
	v[len] = '\n';
	ck_assert_int_eq(decode('p', v, len + 1), -1);
	ck_assert_str_eq(err, changed);
	/* the digest named changed by one hex digit */
	memcpy(v, good, len);
	i = strlen("skyfence-policy 1\nsha256 ") + 10;
	v[i] = v[i] == '0' ? '1' : '0';
	ck_assert_int_eq(decode('p', v, len), -1);
	ck_assert_str_eq(err, changed);
	/* the empty document's digest in front of a text */
	ck_assert_int_eq(decode('p',
				"skyfence-policy 1\nsha256 " EMPTY_SHA
				"\nby gw1 1000\nwhat\nbase 3\n\nx",
				strlen("skyfence-policy 1\nsha256 " EMPTY_SHA
				       "\nby gw1 1000\nwhat\nbase 3\n\nx")),
			 -1);
	ck_assert_str_eq(err, changed);
	free(v);
}
END_TEST

/* a value cut anywhere before its end is never taken */
START_TEST(test_value_cut_short_anywhere_is_refused)
{
	static const struct {
		int kind;
		const char *v;
	} whole[] = {
		{ 'p', POLICY_VALUE },
		{ 'k', KS_VALUE },
		{ 's', STATUS_VALUE },
		{ 's', STATUS_VALUE "conflict a\nconflict b\n" },
		{ 'h', HEAD_VALUE },
	};
	unsigned i;
	size_t n;

	for (i = 0; i < sizeof(whole) / sizeof(whole[0]); i++) {
		size_t len = strlen(whole[i].v);

		ck_assert_int_eq(decode(whole[i].kind, whole[i].v, len), 0);
		for (n = 0; n < len; n++) {
			/* a status cut after a whole conflict line is a
			 * status with fewer conflicts */
			if (whole[i].kind == 's' && n >= strlen(STATUS_VALUE) &&
			    whole[i].v[n - 1] == '\n')
				continue;
			ck_assert_msg(
				decode(whole[i].kind, whole[i].v, n) == -1,
				"%c cut to %zu bytes taken", whole[i].kind, n);
			ck_assert_msg(err[0], "refused without a reason");
		}
	}
}
END_TEST

#define E(kind, lit, why)                       \
	{                                       \
		kind, lit, sizeof(lit) - 1, why \
	}
#define PH "skyfence-policy 1\nsha256 " POLICY_SHA "\n"
#define PT "what x\nbase 3\n\n" POLICY_TEXT
#define KH "skyfence-killswitch 1\n"
#define SD "digest " DIG "\n"
#define ST "killswitch 3 skype\nlocal\n" SD "health ok\n"

static const struct {
	int kind;
	const char *v;
	size_t len;
	const char *err;
} broken[] = {
	/* headers */
	E('p', "", "not a skyfence-policy 1 value"),
	E('k', "", "not a skyfence-killswitch 1 value"),
	E('s', "", "not a skyfence-status 1 value"),
	E('h', "", "not a skyfence-head 1 value"),
	E('k', "skyfence-killswitch 2\napps\nby gw1 0\n",
	  "not a skyfence-killswitch 1 value"),
	E('k', "skyfence-killswitch 0\napps\nby gw1 0\n",
	  "not a skyfence-killswitch 1 value"),
	E('k', "skyfence-killswitch 1 \napps\nby gw1 0\n",
	  "not a skyfence-killswitch 1 value"),
	E('k', "skyfence-killswitch  1\napps\nby gw1 0\n",
	  "not a skyfence-killswitch 1 value"),
	E('k', "Skyfence-killswitch 1\napps\nby gw1 0\n",
	  "not a skyfence-killswitch 1 value"),
	E('k', "skyfence-killswitch 1", "a line without its newline"),
	E('k', "\nskyfence-killswitch 1\napps\nby gw1 0\n",
	  "not a skyfence-killswitch 1 value"),
	E('k', KH "apps\nby gw1 0\n" KH "apps\nby gw1 0\n",
	  "more after the last field"),
	/* one kind for another */
	E('p', KS_VALUE, "not a skyfence-policy 1 value"),
	E('k', HEAD_VALUE, "not a skyfence-killswitch 1 value"),
	E('s', HEAD_VALUE, "not a skyfence-status 1 value"),
	E('h', STATUS_VALUE, "not a skyfence-head 1 value"),
	E('h', "skyfence-head 2\nseq 1\nsha256 " DIG "\n",
	  "not a skyfence-head 1 value"),
	E('s', "skyfence-status 10\nbeat 7\npolicy 12\n" ST,
	  "not a skyfence-status 1 value"),

	/* fields missing, doubled, out of order */
	E('k', KH "by gw1 0\n", "'apps' expected, got 'by gw1 0'"),
	E('k', KH "apps\n", "'by' missing"),
	E('k', KH "apps\napps\nby gw1 0\n", "'by' expected, got 'apps'"),
	E('k', KH "by gw1 0\napps\n", "'apps' expected, got 'by gw1 0'"),
	E('k', KH "apps\nby gw1 0\nby gw1 0\n", "more after the last field"),
	E('k', KH "appsx\nby gw1 0\n", "'apps' expected, got 'appsx'"),
	E('k', KH "app\nby gw1 0\n", "'apps' expected, got 'app'"),
	E('k', KH "APPS\nby gw1 0\n", "'apps' expected, got 'APPS'"),
	E('k', KH " apps\nby gw1 0\n", "'apps' expected, got ' apps'"),
	E('k', KH "\napps\nby gw1 0\n", "'apps' expected, got ''"),
	E('p', PH "what x\nbase 3\n\n", "'by' expected, got 'what x'"),
	E('p', PH "by gw1 0\nbase 3\n\n", "'what' expected, got 'base 3'"),
	E('p', PH "by gw1 0\nwhat x\n\n" POLICY_TEXT,
	  "'base' expected, got ''"),
	E('p', PH "by gw1 0\nwhat x\nbase 3\nbase 3\n\n" POLICY_TEXT,
	  "no empty line before the policy"),
	E('p', PH "by gw1 0\nwhat x\nbase 3\n" POLICY_TEXT,
	  "no empty line before the policy"),
	E('p', PH "by gw1 0\nwhat x\nbase 3\n",
	  "no empty line before the policy"),
	E('p', PH "by gw1 0\nwhat x\nbase 3", "a line without its newline"),
	E('p', PH "by gw1 0\nwhat x\nbase 3\n \n" POLICY_TEXT,
	  "no empty line before the policy"),
	E('p', PH "by gw1 0\nby gw1 0\n" PT, "'what' expected, got 'by gw1 0'"),
	E('p', "skyfence-policy 1\nby gw1 0\n" PT,
	  "'sha256' expected, got 'by gw1 0'"),
	E('p',
	  "skyfence-policy 1\nsha256 " POLICY_SHA "\nsha256 " POLICY_SHA
	  "\nby gw1 0\n" PT,
	  "'by' expected, got 'sha256 30b660ebf1a7c16ef24647a3d6e6b0790'"),
	E('s', "skyfence-status 1\npolicy 12\nbeat 7\n" ST,
	  "'beat' expected, got 'policy 12'"),
	E('s', "skyfence-status 1\nbeat 7\nbeat 7\npolicy 12\n" ST,
	  "'policy' expected, got 'beat 7'"),
	E('s', STATUS_HEAD "local\nkillswitch 3 skype\n" SD "health ok\n",
	  "'killswitch' expected, got 'local'"),
	E('s', STATUS_HEAD "killswitch 3 skype\n" SD "health ok\n",
	  "'local' expected, got 'digest 823412d1eacb67956220e532959f01046'"),
	E('s', STATUS_HEAD "killswitch 3 skype\nlocal\nhealth ok\n",
	  "'digest' expected, got 'health ok'"),
	E('s', STATUS_HEAD "killswitch 3 skype\nlocal\n" SD,
	  "'health' missing"),
	E('s', STATUS_HEAD ST "health ok\n",
	  "'conflict' expected, got 'health ok'"),
	E('s', STATUS_HEAD ST "conflict a\nbeat 8\n",
	  "'conflict' expected, got 'beat 8'"),
	E('s', STATUS_HEAD ST "conflicts a\n",
	  "'conflict' expected, got 'conflicts a'"),
	E('s', STATUS_HEAD ST "\n", "'conflict' expected, got ''"),
	E('h', "skyfence-head 1\nsha256 " DIG "\nseq 42\n",
	  "'seq' expected, got 'sha256 823412d1eacb67956220e532959f01046'"),
	E('h', "skyfence-head 1\nseq 42\n", "'sha256' missing"),
	E('h', "skyfence-head 1\nseq 42\nseq 42\nsha256 " DIG "\n",
	  "'sha256' expected, got 'seq 42'"),
	E('h', HEAD_VALUE "sha256 " DIG "\n", "more after the last field"),

	/* a byte after the last field, a last line without its newline */
	E('k', KS_VALUE "x", "more after the last field"),
	E('k', KS_VALUE "\n", "more after the last field"),
	E('k', KS_VALUE "apps\n", "more after the last field"),
	E('h', HEAD_VALUE " ", "more after the last field"),
	E('h', HEAD_VALUE "\n", "more after the last field"),
	E('s', STATUS_HEAD ST "conflict a", "a line without its newline"),
	E('k', KH "apps\nby gw1 0", "a line without its newline"),
	E('h', "skyfence-head 1\nseq 42\nsha256 " DIG,
	  "a line without its newline"),

	/* bytes that are not printable ASCII */
	E('k', KH "apps skype\r\nby gw1 0\n",
	  "a control byte (0x0d) in a line"),
	E('k', KH "apps skype\nby gw1 0\r\n",
	  "a control byte (0x0d) in a line"),
	E('k', "skyfence-killswitch 1\r\napps\nby gw1 0\n",
	  "a control byte (0x0d) in a line"),
	E('k', KH "apps sky\0pe\nby gw1 0\n",
	  "a control byte (0x00) in a line"),
	E('k', KH "apps skype\nby gw1 0\0\n",
	  "a control byte (0x00) in a line"),
	E('k', KH "apps skype\nby gw1 0\n\0", "more after the last field"),
	E('k', KH "apps sky\x7fpe\nby gw1 0\n",
	  "a control byte (0x7f) in a line"),
	E('k', KH "apps sky\x80pe\nby gw1 0\n",
	  "a control byte (0x80) in a line"),
	E('k', KH "apps sky\xffpe\nby gw1 0\n",
	  "a control byte (0xff) in a line"),
	E('k', KH "apps sky\tpe\nby gw1 0\n",
	  "a control byte (0x09) in a line"),
	E('p', PH "by gw1 0\nwhat caf\xc3\xa9\nbase 3\n\n" POLICY_TEXT,
	  "a control byte (0xc3) in a line"),
	E('p', PH "by gw1 0\nwhat a\x1b[2Jb\nbase 3\n\n" POLICY_TEXT,
	  "a control byte (0x1b) in a line"),
	E('p', PH "by gw1 0\nwhat x\nbase 3\r\n\r\n" POLICY_TEXT,
	  "a control byte (0x0d) in a line"),
	E('p', PH "by gw1 0\nwhat x\nbase 3\n\ndepartment \0 {}\n",
	  "a NUL byte in the policy"),
	E('s', STATUS_HEAD ST "conflict a\x7f\n",
	  "a control byte (0x7f) in a line"),
	E('s',
	  STATUS_HEAD "killswitch 3 skype\nlocal\n" SD "health \xe2\x9c\x93\n",
	  "a control byte (0xe2) in a line"),
	E('h', "skyfence-head 1\nseq 42\nsha256 " DIG "\0\n",
	  "a control byte (0x00) in a line"),

	/* hex digests */
	E('h',
	  "skyfence-head 1\nseq 42\nsha256 "
	  "823412D1eacb67956220e532959f0104603057c88704863ca38e7cd188fda812\n",
	  "'sha256' is not 64 lowercase hex digits"),
	E('h',
	  "skyfence-head 1\nseq 42\nsha256 "
	  "823412d1eacb67956220e532959f0104603057c88704863ca38e7cd188fda81\n",
	  "'sha256' is not 64 lowercase hex digits"),
	E('h', "skyfence-head 1\nseq 42\nsha256 " DIG "0\n",
	  "'sha256' is not 64 lowercase hex digits"),
	E('h', "skyfence-head 1\nseq 42\nsha256 " DIG " \n",
	  "'sha256' is not 64 lowercase hex digits"),
	E('h',
	  "skyfence-head 1\nseq 42\nsha256 "
	  "g23412d1eacb67956220e532959f0104603057c88704863ca38e7cd188fda812\n",
	  "'sha256' is not 64 lowercase hex digits"),
	E('h', "skyfence-head 1\nseq 42\nsha256\n",
	  "'sha256' is not 64 lowercase hex digits"),
	E('p',
	  "skyfence-policy 1\nsha256 "
	  "30B660EBF1A7C16EF24647A3D6E6B0790BB51926AEA5526C9154822F8E39AA9C\n"
	  "by gw1 0\n" PT,
	  "'sha256' is not 64 lowercase hex digits"),
	E('p', "skyfence-policy 1\nsha256  " POLICY_SHA "\nby gw1 0\n" PT,
	  "'sha256' is not 64 lowercase hex digits"),
	E('s',
	  STATUS_HEAD "killswitch 3 skype\nlocal\ndigest " DIG
		      "\x00\nhealth ok\n",
	  "a control byte (0x00) in a line"),
	E('s', STATUS_HEAD "killswitch 3 skype\nlocal\ndigest -\nhealth ok\n",
	  "'digest' is not 64 lowercase hex digits"),

	/* numbers: no sign, no leading zero, no overflow, nothing after */
	E('s', "skyfence-status 1\nbeat -1\npolicy 12\n" ST,
	  "'beat -1' is not a number"),
	E('s', "skyfence-status 1\nbeat +1\npolicy 12\n" ST,
	  "'beat +1' is not a number"),
	E('s', "skyfence-status 1\nbeat 07\npolicy 12\n" ST,
	  "'beat 07' is not a number"),
	E('s', "skyfence-status 1\nbeat 00\npolicy 12\n" ST,
	  "'beat 00' is not a number"),
	E('s', "skyfence-status 1\nbeat 0x10\npolicy 12\n" ST,
	  "'beat 0x10' is not a number"),
	E('s', "skyfence-status 1\nbeat 1e3\npolicy 12\n" ST,
	  "'beat 1e3' is not a number"),
	E('s', "skyfence-status 1\nbeat  7\npolicy 12\n" ST,
	  "'beat  7' is not a number"),
	E('s', "skyfence-status 1\nbeat 7 \npolicy 12\n" ST,
	  "'beat 7 ' is not a number"),
	E('s', "skyfence-status 1\nbeat\npolicy 12\n" ST,
	  "'beat ' is not a number"),
	E('s', "skyfence-status 1\nbeat 18446744073709551616\npolicy 12\n" ST,
	  "'beat 18446744073709551616' is not a number"),
	E('s', "skyfence-status 1\nbeat 18446744073709551620\npolicy 12\n" ST,
	  "'beat 18446744073709551620' is not a number"),
	E('s', "skyfence-status 1\nbeat 99999999999999999999\npolicy 12\n" ST,
	  "'beat 99999999999999999999' is not a number"),
	E('s', "skyfence-status 1\nbeat 100000000000000000000\npolicy 12\n" ST,
	  "'beat 100000000000000000000' is not a number"),
	E('s', "skyfence-status 1\nbeat 7\npolicy 0012\n" ST,
	  "'policy 0012' is not a number"),
	E('s', STATUS_HEAD "killswitch 03 skype\nlocal\n" SD "health ok\n",
	  "'killswitch' needs a revision first"),
	E('s', STATUS_HEAD "killswitch -3 skype\nlocal\n" SD "health ok\n",
	  "'killswitch' needs a revision first"),
	E('s', STATUS_HEAD "killswitch skype\nlocal\n" SD "health ok\n",
	  "'killswitch' needs a revision first"),
	E('s', STATUS_HEAD "killswitch\nlocal\n" SD "health ok\n",
	  "'killswitch' needs a revision first"),
	E('s', STATUS_HEAD "killswitch  3\nlocal\n" SD "health ok\n",
	  "'killswitch' needs a revision first"),
	E('s',
	  STATUS_HEAD "killswitch 18446744073709551616 skype\nlocal\n" SD
		      "health ok\n",
	  "'killswitch' needs a revision first"),
	E('s',
	  STATUS_HEAD "killswitch 123456789012345678901234 skype\nlocal\n" SD
		      "health ok\n",
	  "'killswitch' needs a revision first"),
	E('h', "skyfence-head 1\nseq 18446744073709551616\nsha256 " DIG "\n",
	  "'seq 18446744073709551616' is not a number"),
	E('h', "skyfence-head 1\nseq -0\nsha256 " DIG "\n",
	  "'seq -0' is not a number"),
	E('p', PH "by gw1 0\nwhat x\nbase 03\n\n" POLICY_TEXT,
	  "'base 03' is not a number"),
	E('p', PH "by gw1 0\nwhat x\nbase -1\n\n" POLICY_TEXT,
	  "'base -1' is not a number"),

	/* by NODE UID */
	E('k', KH "apps\nby gw1\n", "'by' needs a node and a uid"),
	E('k', KH "apps\nby\n", "'by' needs a node and a uid"),
	E('k', KH "apps\nby gw1 -2\n", "'by gw1 -2' is not a node and a uid"),
	E('k', KH "apps\nby gw1 -01\n", "'by gw1 -01' is not a node and a uid"),
	E('k', KH "apps\nby gw1 --1\n", "'by gw1 --1' is not a node and a uid"),
	E('k', KH "apps\nby gw1 +5\n", "'by gw1 +5' is not a node and a uid"),
	E('k', KH "apps\nby gw1 05\n", "'by gw1 05' is not a node and a uid"),
	E('k', KH "apps\nby gw1 -9223372036854775808\n",
	  "'by gw1 -9223372036854775808' is not a node and a uid"),
	E('k', KH "apps\nby gw1 2147483648\n",
	  "'by gw1 2147483648' is not a node and a uid"),
	E('k', KH "apps\nby gw1 4294967295\n",
	  "'by gw1 4294967295' is not a node and a uid"),
	E('k', KH "apps\nby gw1 18446744073709551616\n",
	  "'by gw1 18446744073709551616' is not a node and a uid"),
	E('k', KH "apps\nby gw1 \n", "'by gw1 ' is not a node and a uid"),
	E('k', KH "apps\nby gw1  5\n", "'by gw1  5' is not a node and a uid"),
	E('k', KH "apps\nby gw1 5 \n", "'by gw1 5 ' is not a node and a uid"),
	E('k', KH "apps\nby gw1 5 6\n", "'by gw1 5 6' is not a node and a uid"),
	E('k', KH "apps\nby gw1 -1 \n", "'by gw1 -1 ' is not a node and a uid"),
	E('k', KH "apps\nby  5\n", "'by  5' is not a node and a uid"),
	E('k', KH "apps\nby gw.1 5\n", "'by gw.1 5' is not a node and a uid"),
	E('k', KH "apps\nby gw:1 5\n", "'by gw:1 5' is not a node and a uid"),
	E('k', KH "apps\nby gw/1 5\n", "'by gw/1 5' is not a node and a uid"),
	E('k', KH "apps\nby gw* 5\n", "'by gw* 5' is not a node and a uid"),
	E('k', KH "apps\nby gw> 5\n", "'by gw> 5' is not a node and a uid"),
	E('k', KH "apps\nby * 5\n", "'by * 5' is not a node and a uid"),
	E('k', KH "apps\nby > 5\n", "'by > 5' is not a node and a uid"),
	E('k',
	  KH "apps\nby "
	     "NNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNN"
	     " 5\n",
	  "'by' needs a node and a uid"),
	E('p', PH "by gw.a -1\n" PT, "'by gw.a -1' is not a node and a uid"),

	/* apps */
	E('k', KH "apps skype  zoom\nby gw1 0\n",
	  "'skype  zoom' is not a list of apps"),
	E('k', KH "apps  skype\nby gw1 0\n", "' skype' is not a list of apps"),
	E('k', KH "apps skype \nby gw1 0\n", "'skype ' is not a list of apps"),
	E('k', KH "apps  \nby gw1 0\n", "' ' is not a list of apps"),
	E('k', KH "apps sky/pe\nby gw1 0\n", "'sky/pe' is not a list of apps"),
	E('k', KH "apps sky*\nby gw1 0\n", "'sky*' is not a list of apps"),
	E('k', KH "apps >\nby gw1 0\n", "'>' is not a list of apps"),
	E('k', KH "apps skype,zoom\nby gw1 0\n",
	  "'skype,zoom' is not a list of apps"),
	E('k', KH "apps sky:pe\nby gw1 0\n", "'sky:pe' is not a list of apps"),
	E('s', STATUS_HEAD "killswitch 3  skype\nlocal\n" SD "health ok\n",
	  "' skype' is not a list of apps"),
	E('s', STATUS_HEAD "killswitch 3 skype \nlocal\n" SD "health ok\n",
	  "'skype ' is not a list of apps"),
	E('s', STATUS_HEAD "killswitch 3 sky;pe\nlocal\n" SD "health ok\n",
	  "'sky;pe' is not a list of apps"),
	E('s', STATUS_HEAD "killswitch 3\nlocal  a\n" SD "health ok\n",
	  "' a' is not a list of apps"),
	E('s', STATUS_HEAD "killswitch 3\nlocal a  b\n" SD "health ok\n",
	  "'a  b' is not a list of apps"),

	/* an empty value is written as the field's name alone: its name
	 * and a space is nothing the encoder writes */
	E('k', KH "apps \nby gw1 0\n", "'apps' ends in a space"),
	E('p', PH "by gw1 0\nwhat \nbase 3\n\n" POLICY_TEXT,
	  "'what' ends in a space"),
	E('s', STATUS_HEAD "killswitch 3\nlocal \n" SD "health ok\n",
	  "'local' ends in a space"),
	E('s', STATUS_HEAD "killswitch 3 \nlocal\n" SD "health ok\n",
	  "'killswitch' ends in a space"),
	E('s', STATUS_HEAD "killswitch 3\nlocal\n" SD "health \n",
	  "'health' ends in a space"),
	E('s', STATUS_HEAD ST "conflict \n", "'conflict' ends in a space"),

	/* health, conflicts */
	E('s', STATUS_HEAD "killswitch 3\nlocal\n" SD "health\n",
	  "'health' is empty or too long"),
	E('s', STATUS_HEAD ST "conflict\n", "a conflict empty or too long"),
	E('s',
	  STATUS_HEAD ST "conflict a\nconflict b\nconflict c\nconflict d\n"
			 "conflict e\n",
	  "more than 4 conflicts"),
	E('s',
	  STATUS_HEAD ST "conflict a\nconflict b\nconflict c\nconflict d\n"
			 "\n",
	  "more than 4 conflicts"),
};

START_TEST(test_broken_value_is_refused_with_its_reason)
{
	int r = decode(broken[_i].kind, broken[_i].v, broken[_i].len);

	ck_assert_msg(r == -1, "#%d taken: %.*s", _i, (int)broken[_i].len,
		      broken[_i].v);
	ck_assert_str_eq(err, broken[_i].err);
}
END_TEST

/* @head, @fill repeated @n times, @tail: a value with one long field */
static char *long_value(const char *head, int fill, size_t n, const char *tail,
			size_t *len)
{
	size_t h = strlen(head), t = strlen(tail);
	char *v = malloc(h + n + t + 1);

	ck_assert_ptr_nonnull(v);
	memcpy(v, head, h);
	memset(v + h, fill, n);
	memcpy(v + h + n, tail, t + 1);
	*len = h + n + t;
	return v;
}

START_TEST(test_field_over_its_bound_is_refused)
{
	size_t len;
	char *v;

	/* 'what' of FLEET_WHAT_MAX + 1 bytes, and a line over the reader's
	 * buffer */
	v = long_value(PH "by gw1 0\nwhat ", 'w', FLEET_WHAT_MAX + 1,
		       "\nbase 3\n\n" POLICY_TEXT, &len);
	ck_assert_int_eq(decode('p', v, len), -1);
	ck_assert_str_eq(err, "'what' is over 1024 bytes");
	free(v);
	v = long_value(PH "by gw1 0\nwhat ", 'w', 5000,
		       "\nbase 3\n\n" POLICY_TEXT, &len);
	ck_assert_int_eq(decode('p', v, len), -1);
	ck_assert(strncmp(err, "a line over ", 12) == 0);
	free(v);
	v = long_value(PH "by gw1 0\nwhat ", 'w', 1u << 20,
		       "\nbase 3\n\n" POLICY_TEXT, &len);
	ck_assert_int_eq(decode('p', v, len), -1);
	ck_assert(strncmp(err, "a line over ", 12) == 0);
	free(v);

	/* apps of FLEET_APPS_MAX + 1 bytes: one word, or words */
	v = long_value(KH "apps ", 'a', FLEET_APPS_MAX + 1, "\nby gw1 0\n",
		       &len);
	ck_assert_int_eq(decode('k', v, len), -1);
	ck_assert(strstr(err, "is not a list of apps") != NULL);
	free(v);
	v = long_value(KH "apps ", 'a', FLEET_APPS_MAX, "\nby gw1 0\n", &len);
	ck_assert_int_eq(decode('k', v, len), 0);
	free(v);
	{
		char words[FLEET_APPS_MAX + 3];
		unsigned i;

		/* "a a ... a", 257 bytes */
		for (i = 0; i < FLEET_APPS_MAX + 2; i++)
			words[i] = i % 2 ? ' ' : 'a';
		words[FLEET_APPS_MAX + 2] = '\0';
		v = malloc(4096);
		ck_assert_ptr_nonnull(v);
		len = (size_t)sprintf(v,
				      STATUS_HEAD "killswitch 3 %s\nlocal\n" SD
						  "health ok\n",
				      words);
		ck_assert_int_eq(decode('s', v, len), -1);
		ck_assert(strstr(err, "is not a list of apps") != NULL);
		len = (size_t)sprintf(v,
				      STATUS_HEAD "killswitch 3\nlocal %s\n" SD
						  "health ok\n",
				      words);
		ck_assert_int_eq(decode('s', v, len), -1);
		ck_assert(strstr(err, "is not a list of apps") != NULL);
		free(v);
	}

	/* health and a conflict one byte over */
	v = long_value(STATUS_HEAD "killswitch 3\nlocal\n" SD "health ", 'h',
		       FLEET_HEALTH_MAX + 1, "\n", &len);
	ck_assert_int_eq(decode('s', v, len), -1);
	ck_assert_str_eq(err, "'health' is empty or too long");
	free(v);
	v = long_value(STATUS_HEAD ST "conflict ", 'c', FLEET_CONFLICT_MAX + 1,
		       "\n", &len);
	ck_assert_int_eq(decode('s', v, len), -1);
	ck_assert_str_eq(err, "a conflict empty or too long");
	free(v);
	v = long_value(STATUS_HEAD ST "conflict ", 'c', FLEET_CONFLICT_MAX,
		       "\n", &len);
	ck_assert_int_eq(decode('s', v, len), 0);
	free(v);
}
END_TEST

START_TEST(test_policy_over_the_fleets_bound_is_refused_both_ways)
{
	struct fleet_policy p = policy();
	size_t len = (size_t)FLEET_POLICY_MAX + 1, vlen = 0, h;

	char *text = malloc(len + 512), *v;

	ck_assert_ptr_nonnull(text);
	memset(text, 'x', len);
	p.text = text;
	p.len = len;
	ck_assert_ptr_null(fleetval_policy_encode(&p, &vlen, err, sizeof(err)));
	ck_assert_str_eq(err, "the policy is over the fleet's bound");
	/* at the bound it is written, one byte over it is not read */
	p.len = FLEET_POLICY_MAX;
	v = fleetval_policy_encode(&p, &vlen, err, sizeof(err));
	ck_assert_ptr_nonnull(v);
	ck_assert_int_eq(fleetval_policy_decode(v, vlen, &p, err, sizeof(err)),
			 0);
	free(v);
	h = (size_t)sprintf(text, PH "by gw1 0\nwhat\nbase 0\n\n");
	memset(text + h, 'x', len);
	ck_assert_int_eq(decode('p', text, h + len), -1);
	ck_assert_str_eq(err, "the policy is over the fleet's bound");
	free(text);
}
END_TEST

START_TEST(test_encoder_refuses_what_the_decoder_would)
{
	struct fleet_policy p;
	struct fleet_ks k;
	struct fleet_status s;
	struct fleet_head h = { .seq = 1 };
	char v[4096];
	size_t len;
	int n;

#define REFUSED_P() \
	ck_assert_ptr_null(fleetval_policy_encode(&p, &len, err, sizeof(err)))
	p = policy();
	strcpy(p.by, "gw.a");
	REFUSED_P();
	strcpy(p.by, "");
	REFUSED_P();
	p = policy();
	p.uid = -2;
	REFUSED_P();
	p.uid = 2147483648L;
	REFUSED_P();
	p = policy();
	strcpy(p.what, "two\nlines");
	REFUSED_P();
	strcpy(p.what, "caf\xc3\xa9");
	REFUSED_P();
	strcpy(p.what, "del\x7f");
	REFUSED_P();
	p = policy();
	p.text = "department \0 {}\n";
	p.len = 16;
	REFUSED_P();
	ck_assert_str_eq(err, "a NUL byte in the policy");
#undef REFUSED_P

	memset(&k, 0, sizeof(k));
	strcpy(k.by, "gw1");
	strcpy(k.apps, "skype  zoom");
	ck_assert_int_eq(fleetval_ks_encode(&k, v, sizeof(v)), -1);
	strcpy(k.apps, " skype");
	ck_assert_int_eq(fleetval_ks_encode(&k, v, sizeof(v)), -1);
	strcpy(k.apps, "skype ");
	ck_assert_int_eq(fleetval_ks_encode(&k, v, sizeof(v)), -1);
	strcpy(k.apps, "sky\npe");
	ck_assert_int_eq(fleetval_ks_encode(&k, v, sizeof(v)), -1);
	strcpy(k.apps, "skype");
	strcpy(k.by, "gw>");
	ck_assert_int_eq(fleetval_ks_encode(&k, v, sizeof(v)), -1);
	strcpy(k.by, "gw1");
	k.uid = -2;
	ck_assert_int_eq(fleetval_ks_encode(&k, v, sizeof(v)), -1);
	k.uid = 2147483648L;
	ck_assert_int_eq(fleetval_ks_encode(&k, v, sizeof(v)), -1);
	/* a buffer one byte short (no room for the NUL) */
	k.uid = 0;
	n = fleetval_ks_encode(&k, v, sizeof(v));
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(fleetval_ks_encode(&k, v, (size_t)n), -1);
	ck_assert_int_eq(fleetval_ks_encode(&k, v, (size_t)n + 1), n);

	s = status();
	strcpy(s.digest,
	       "823412D1eacb67956220e532959f0104603057c88704863ca38e7cd188fda812");
	ck_assert_int_eq(fleetval_status_encode(&s, v, sizeof(v)), -1);
	s = status();
	s.digest[0] = '\0';
	ck_assert_int_eq(fleetval_status_encode(&s, v, sizeof(v)), -1);
	s = status();
	s.health[0] = '\0';
	ck_assert_int_eq(fleetval_status_encode(&s, v, sizeof(v)), -1);
	strcpy(s.health, "ok\nconflict forged");
	ck_assert_int_eq(fleetval_status_encode(&s, v, sizeof(v)), -1);
	s = status();
	strcpy(s.local, "a  b");
	ck_assert_int_eq(fleetval_status_encode(&s, v, sizeof(v)), -1);
	s = status();
	strcpy(s.ks, " a");
	ck_assert_int_eq(fleetval_status_encode(&s, v, sizeof(v)), -1);
	s = status();
	s.n_conflicts = FLEET_CONFLICTS + 1;
	for (n = 0; n < FLEET_CONFLICTS; n++)
		strcpy(s.conflict[n], "c");
	ck_assert_int_eq(fleetval_status_encode(&s, v, sizeof(v)), -1);
	s.n_conflicts = 1;
	s.conflict[0][0] = '\0';
	ck_assert_int_eq(fleetval_status_encode(&s, v, sizeof(v)), -1);
	strcpy(s.conflict[0], "a\rb");
	ck_assert_int_eq(fleetval_status_encode(&s, v, sizeof(v)), -1);
	strcpy(s.conflict[0], "a");
	n = fleetval_status_encode(&s, v, sizeof(v));
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(fleetval_status_encode(&s, v, (size_t)n), -1);
	ck_assert_int_eq(fleetval_status_encode(&s, v, (size_t)n + 1), n);

	strcpy(h.sha256, "823412d1");
	ck_assert_int_eq(fleetval_head_encode(&h, v, sizeof(v)), -1);
	strcpy(h.sha256, DIG);
	n = fleetval_head_encode(&h, v, sizeof(v));
	ck_assert_int_eq(fleetval_head_encode(&h, v, (size_t)n), -1);
}
END_TEST

START_TEST(test_node_id_is_a_word_that_owns_no_other_nodes_keys)
{
	static const char *const good[] = {
		"gw1",
		"a",
		"GW-2",
		"gw_3",
		"0",
		"-",
		"_",
		"NNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNN",
	};
	static const char *const bad[] = {
		"",
		"gw.a",
		"gw:a",
		"gw/a",
		"gw*",
		"gw>",
		"*",
		">",
		"gw a",
		" gw",
		"gw\n",
		"gw\x7f",
		"gw\xc3\xa9",
		"$KV",
		"gw@1",
		"NNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNN",
	};
	unsigned i;

	ck_assert_uint_eq(strlen(good[7]), FLEET_NODE_MAX);
	ck_assert_uint_eq(strlen(bad[15]), FLEET_NODE_MAX + 1);
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(fleetval_node_ok(good[i]), "'%s' refused",
			      good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!fleetval_node_ok(bad[i]), "'%s' taken", bad[i]);
}
END_TEST

START_TEST(test_node_keys_name_one_node_and_one_kind)
{
	char id[FLEET_NODE_MAX + 1], key[FLEET_KEY_MAX];
	static const char *const other[] = {
		"policy",
		"killswitch",
		"node",
		"node.",
		"node..status",
		"node..head",
		"node.gw1",
		"node.gw1.",
		"node.gw1.statusx",
		"node.gw1.status.",
		"node.gw1.status.x",
		"node.gw1.heads",
		"node.gw1.Status",
		"node.gw.a.status",
		"node.gw.a.head",
		"node.gw*.status",
		"node.>.status",
		"node.*.head",
		"node.gw1.*",
		"node.gw1.>",
		"Node.gw1.status",
		"nodes.gw1.status",
		"xnode.gw1.status",
		"node.gw 1.status",
		/* a node id one byte over FLEET_NODE_MAX */
		("node.NNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNN"
		 ".status"),
	};
	unsigned i;

	ck_assert_int_eq(fleetval_node_key("node.gw1.status", id), 's');
	ck_assert_str_eq(id, "gw1");
	ck_assert_int_eq(fleetval_node_key("node.gw-2.head", id), 'h');
	ck_assert_str_eq(id, "gw-2");
	ck_assert_int_eq(
		fleetval_node_key(
			"node.NNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNN"
			".head",
			id),
		'h');
	ck_assert_uint_eq(strlen(id), FLEET_NODE_MAX);
	for (i = 0; i < sizeof(other) / sizeof(other[0]); i++)
		ck_assert_msg(fleetval_node_key(other[i], id) == 0,
			      "'%s' taken", other[i]);

	fleetval_node_key_of("gw1", 's', key);
	ck_assert_str_eq(key, "node.gw1.status");
	fleetval_node_key_of("gw1", 'h', key);
	ck_assert_str_eq(key, "node.gw1.head");
	memset(id, 'N', FLEET_NODE_MAX);
	id[FLEET_NODE_MAX] = '\0';
	fleetval_node_key_of(id, 'h', key);
	{
		char back[FLEET_NODE_MAX + 1];

		ck_assert_int_eq(fleetval_node_key(key, back), 'h');
		ck_assert_str_eq(back, id);
	}
}
END_TEST

START_TEST(test_apps_are_words_separated_by_single_spaces)
{
	static const char *const good[] = {
		"",	      "skype",
		"skype Zoom", "Skype.Call BitTorrent x_y a-b 0",
		"a b c d",
	};
	static const char *const bad[] = {
		" ", "  ",  " skype", "skype ", "skype  zoom", "sky/pe", "sky*",
		">", "a,b", "a\tb",   "a\nb",	"caf\xc3\xa9", "a:b",	 "a;b",
	};
	char over[FLEET_APPS_MAX + 2];
	unsigned i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(fleetval_apps_ok(good[i]), "'%s' refused",
			      good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!fleetval_apps_ok(bad[i]), "'%s' taken", bad[i]);
	memset(over, 'a', FLEET_APPS_MAX + 1);
	over[FLEET_APPS_MAX + 1] = '\0';
	ck_assert(!fleetval_apps_ok(over));
	over[FLEET_APPS_MAX] = '\0';
	ck_assert(fleetval_apps_ok(over));
}
END_TEST

START_TEST(test_apps_union_keeps_order_and_takes_each_app_once)
{
	char out[FLEET_APPS_MAX + 1], a[FLEET_APPS_MAX + 1],
		b[FLEET_APPS_MAX + 1];
	unsigned i;

	ck_assert_int_eq(fleetval_apps_union("skype zoom", "zoom teams", out),
			 0);
	ck_assert_str_eq(out, "skype zoom teams");
	ck_assert_int_eq(fleetval_apps_union("", "a b", out), 0);
	ck_assert_str_eq(out, "a b");
	ck_assert_int_eq(fleetval_apps_union("a b", "", out), 0);
	ck_assert_str_eq(out, "a b");
	ck_assert_int_eq(fleetval_apps_union("", "", out), 0);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(fleetval_apps_union("b a", "a b c", out), 0);
	ck_assert_str_eq(out, "b a c");
	ck_assert_int_eq(fleetval_apps_union("a", "a a b b a", out), 0);
	ck_assert_str_eq(out, "a b");
	/* no app is another's prefix, and case counts */
	ck_assert_int_eq(fleetval_apps_union("skype", "sky skypes Skype", out),
			 0);
	ck_assert_str_eq(out, "skype sky skypes Skype");
	ck_assert_int_eq(fleetval_apps_union("Skype.Call", "Skype", out), 0);
	ck_assert_str_eq(out, "Skype.Call Skype");

	/* exactly FLEET_APPS_MAX bytes is taken, one more is refused */
	memset(a, 'a', 127);
	a[127] = '\0';
	memset(b, 'b', 127);
	b[127] = '\0';
	ck_assert_int_eq(fleetval_apps_union(a, b, out), 0);
	ck_assert_uint_eq(strlen(out), FLEET_APPS_MAX);
	ck_assert(out[127] == ' ' && out[128] == 'b');
	strcpy(out, "unchanged");
	b[127] = 'b';
	b[128] = '\0';
	ck_assert_int_eq(fleetval_apps_union(a, b, out), -1);
	/* the largest inputs: nothing written past out */
	memset(a, 'a', FLEET_APPS_MAX);
	a[FLEET_APPS_MAX] = '\0';
	memset(b, 'b', FLEET_APPS_MAX);
	b[FLEET_APPS_MAX] = '\0';
	ck_assert_int_eq(fleetval_apps_union(a, b, out), -1);
	ck_assert_int_eq(fleetval_apps_union(a, a, out), 0);
	ck_assert_str_eq(out, a);
	ck_assert_int_eq(fleetval_apps_union("", a, out), 0);
	ck_assert_str_eq(out, a);
	for (i = 0; i < FLEET_APPS_MAX; i++)
		b[i] = i % 2 ? ' ' : 'b';
	ck_assert_int_eq(fleetval_apps_union(b, b, out), 0);
	ck_assert_str_eq(out, "b");
}
END_TEST

START_TEST(test_apps_minus_keeps_order_and_empty_clears_all)
{
	char out[FLEET_APPS_MAX + 1], a[FLEET_APPS_MAX + 1];

	fleetval_apps_minus("skype zoom teams", "zoom", out);
	ck_assert_str_eq(out, "skype teams");
	fleetval_apps_minus("skype zoom teams", "teams skype", out);
	ck_assert_str_eq(out, "zoom");
	fleetval_apps_minus("skype zoom teams", "", out);
	ck_assert_str_eq(out, "");
	fleetval_apps_minus("", "", out);
	ck_assert_str_eq(out, "");
	fleetval_apps_minus("", "a", out);
	ck_assert_str_eq(out, "");
	fleetval_apps_minus("a b", "c", out);
	ck_assert_str_eq(out, "a b");
	fleetval_apps_minus("a b", "a b", out);
	ck_assert_str_eq(out, "");
	fleetval_apps_minus("a b a", "a", out);
	ck_assert_str_eq(out, "b");
	/* no app is another's prefix, and case counts */
	fleetval_apps_minus("skype sky Skype", "sky", out);
	ck_assert_str_eq(out, "skype Skype");
	fleetval_apps_minus("sky", "skype", out);
	ck_assert_str_eq(out, "sky");
	fleetval_apps_minus("Skype.Call", "Skype", out);
	ck_assert_str_eq(out, "Skype.Call");

	/* an app of FLEET_APPS_MAX bytes is kept whole */
	memset(a, 'a', FLEET_APPS_MAX);
	a[FLEET_APPS_MAX] = '\0';
	fleetval_apps_minus(a, "b", out);
	ck_assert_str_eq(out, a);
	a[0] = 'b';
	a[1] = ' ';
	fleetval_apps_minus(a, "b", out);
	ck_assert_str_eq(out, a + 2);
	fleetval_apps_minus(a, "c", out);
	ck_assert_str_eq(out, a);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("fleetval");
	TCase *c = tcase_create("values");

	tcase_set_timeout(c, 60);
	tcase_add_test(
		c,
		test_each_kind_is_written_byte_for_byte_as_the_contract_says);
	tcase_add_test(c, test_contract_text_is_read_with_every_field_exact);
	tcase_add_test(c, test_every_kind_round_trips_at_its_bounds);
	tcase_add_test(c, test_policy_of_200_kib_round_trips_byte_identical);
	tcase_add_test(c,
		       test_policy_changed_or_cut_on_the_way_is_refused_whole);
	tcase_add_test(c, test_value_cut_short_anywhere_is_refused);
	tcase_add_loop_test(c, test_broken_value_is_refused_with_its_reason, 0,
			    (int)(sizeof(broken) / sizeof(broken[0])));
	tcase_add_test(c, test_field_over_its_bound_is_refused);
	tcase_add_test(c,
		       test_policy_over_the_fleets_bound_is_refused_both_ways);
	tcase_add_test(c, test_encoder_refuses_what_the_decoder_would);
	tcase_add_test(c, test_node_id_is_a_word_that_owns_no_other_nodes_keys);
	tcase_add_test(c, test_node_keys_name_one_node_and_one_kind);
	tcase_add_test(c, test_apps_are_words_separated_by_single_spaces);
	tcase_add_test(c, test_apps_union_keeps_order_and_takes_each_app_once);
	tcase_add_test(c, test_apps_minus_keeps_order_and_empty_clears_all);
	suite_add_tcase(s, c);
	return check_run(s);
}

/* libFuzzer: the control protocol end to end: bytes from a client on the
 * control socket, split into requests by ctl.c and dispatched to the verbs
 * of control.c against a daemon's state (nDPI, engine, policy, throttle)
 * that needs no NFQUEUE and no conntrack. Run it in a network namespace
 * of its own (scripts/fuzz.sh does): a policy change writes the
 * fail-closed ipsets of the namespace it runs in. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "control/control.h"
#include "control/ctl.h"
#include "daemon/daemon_int.h"
#include "daemon/runtime.h"
#include "daemon/throttle.h"
#include "daemon/worker.h"
#include "policy/loader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct daemon d;
static struct worker w; /* not started: worker_call runs inline */
static struct daemon_opts o;
static int client = -1;
static char dir[] = "/tmp/sf-fuzz-ctl-XXXXXX", sock[128], pfile[128];

static const char policy_text[] =
	"internal 192.0.2.0/24;\n"
	"department finance { hosts 192.0.2.0/26; fail-closed; skype drop; }\n"
	"department sales { hosts 192.0.2.64/26; skype throttle 1Mbit; }\n"
	"default { skype reject; }\n";

static void setup(void)
{
	struct cls_opts co = { 256, 80, 24, 0, NULL };
	struct engine_opts eo = { 256, 60000, 0x5eed, 0 };
	struct ctl_opts cop = { NULL, 0,     (gid_t)-1, (gid_t)-1,
				8,    60000, 1u << 20,	4u << 20 };
	struct sockaddr_un a;
	struct policy_names n;
	struct policy *np;
	unsigned nerr;
	char err[512];
	FILE *f;

	log_init("fuzz_ctl", 0, LOG_LVL_ERR);
	if (!mkdtemp(dir))
		abort();
	snprintf(sock, sizeof(sock), "%s/ctl.sock", dir);
	snprintf(pfile, sizeof(pfile), "%s/site.policy", dir);
	f = fopen(pfile, "w");
	if (!f || fputs(policy_text, f) < 0 || fclose(f) != 0)
		abort();
	o.policy_path = pfile;
	o.max_flows = 256;
	o.idle_ms = 60000;
	o.queue_maxlen = 64;
	d.o = &o;
	d.run.state_dfd = -1; /* runtime changes not kept */
	if (loader_load(pfile, &co, &d.run.cls, &d.run.pol, NULL, NULL, NULL) !=
	    0)
		abort();
	d.w = &w;
	d.th = throttle_create(32, worker_release, d.w);
	d.apps = calloc(APP_STATS, sizeof(*d.apps));
	d.run.eng = engine_create(&eo, d.run.cls, d.run.pol, NULL);
	d.n_workers = 1;
	w.o = &o;
	w.ml = &d.ml;
	w.sink = &d.audit;
	w.throttle = d.th;
	w.cls = d.run.cls;
	w.pol = d.run.pol;
	w.sc.apps = calloc(APP_STATS, sizeof(*w.sc.apps));
	w.sc.recent = calloc(RECENT, sizeof(*w.sc.recent));
	w.eng = engine_create(&eo, d.run.cls, d.run.pol, NULL);
	if (!d.th || !d.apps || !w.sc.apps || !w.sc.recent || !d.run.eng ||
	    !w.eng)
		abort();
	/* the buckets and the fail-closed set, as at start-up */
	loader_names(d.run.cls, &n);
	np = policy_parse_text(pfile, policy_text, strlen(policy_text), &n,
			       NULL, NULL, &nerr);
	if (!np || runtime_apply_policy(&d, np) != 0)
		abort();
	cop.path = sock;
	d.ctl = ctl_open(&cop, control_request, &d, err, sizeof(err));
	if (!d.ctl)
		abort();
	client = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock);
	if (client < 0 || connect(client, (struct sockaddr *)&a, sizeof(a)) < 0)
		abort();
	fcntl(client, F_SETFL, fcntl(client, F_GETFL) | O_NONBLOCK);
}

/* Reads whatever the server wrote. */
static void drain(void)
{
	char buf[65536];

	while (read(client, buf, sizeof(buf)) > 0)
		;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;
	int turns;

	if (!d.ctl)
		setup();
	/* requests end with a newline: the input is sent whole, then one
	 * more so the last request is complete */
	while (off < size) {
		ssize_t n = write(client, data + off, size - off);

		if (n <= 0) {
			ctl_run(d.ctl, 1000);
			drain();
			continue;
		}
		off += (size_t)n;
	}
	if (write(client, "\n", 1) < 0)
		abort();
	for (turns = 0; turns < 64; turns++) {
		ctl_run(d.ctl, 1000);
		drain();
	}
	return 0;
}

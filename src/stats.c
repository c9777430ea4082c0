/* stats.c - skyfenced's counters per department and app, and the ring of
 * recent decisions (stats.h). */
#include "stats.h"

#include "runtime.h"

#include <stdio.h>
#include <string.h>

#include "skyfence/classify.h"
#include "skyfence/flow.h"

static struct app_stat *app_slot(struct daemon *d, const char *dept,
				 uint16_t app)
{
	uint32_t h = app * 2654435761u, i;
	const char *s;

	for (s = dept; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	for (i = 0; i < APP_STATS; i++) {
		struct app_stat *a = &d->apps[(h + i) % APP_STATS];

		if (!a->dept[0]) {
			snprintf(a->dept, sizeof(a->dept), "%s", dept);
			a->app = app;
			return a;
		}
		if (a->app == app && !strcmp(a->dept, dept))
			return a;
	}
	return NULL; /* full: 4096 pairs; counted in the totals only */
}

static uint16_t flow_app(const struct flow *f)
{
	return f->cls.app ? f->cls.app : f->cls.master;
}

void stats_count_packet(struct daemon *d, const struct flow *f, uint32_t bytes)
{
	struct app_stat *a;

	if (f->dept >= d->pol->n_depts)
		return;
	a = app_slot(d, d->pol->depts[f->dept].name, flow_app(f));
	if (a) {
		a->pkts++;
		a->bytes += bytes;
	}
}

void stats_count_decision(struct daemon *d, const struct flow *f)
{
	struct recent *r = &d->recent[d->recent_next++ % RECENT];
	const char *dept =
		f->dept < d->pol->n_depts ? d->pol->depts[f->dept].name : "?";
	struct app_stat *a = app_slot(d, dept, flow_app(f));

	if (a && f->action < ACT_MAX)
		a->decisions[f->action]++;
	r->ts_ms = runtime_clock_ms(1);
	flow_key_format(&f->key, r->key, sizeof(r->key));
	snprintf(r->dept, sizeof(r->dept), "%s", dept);
	classifier_format_proto(d->cls, &f->cls, r->app, sizeof(r->app));
	r->action = f->action;
	snprintf(r->rule, sizeof(r->rule), "%s",
		 f->rule >= 0 && f->dept < d->pol->n_depts
			 ? d->pol->depts[f->dept].rules[f->rule].text
		 : f->rule == POLICY_RULE_KILLSWITCH ? "killswitch"
						     : "");
}

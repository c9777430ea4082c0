/* libFuzzer: what the audit reads from outside: lines of an audit file
 * (audit_verify_line and its gap records, audit_line_head), names as
 * packets carry them (names.c) and their JSON text (audit_json_member,
 * and cut to a length the input picks), and the state directory's count
 * of a stop's losses (auditlog_lost_parse) with the lines it counts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "audit/auditlog.h"
#include "core/names.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct audit_verify v;
	struct audit_gap g;
	char why[256], name[80], json[1024], lw[AUDITLOG_LOST_SIZE];
	uint8_t h[AUDIT_HASH];
	uint64_t seq, since = UINT64_MAX;
	char *s = malloc(size + 1), *line, *nl;
	size_t cut_len;
	int rc;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	memset(&v, 0, sizeof(v));
	for (line = s; line < s + size; line = nl + 1) {
		size_t n;

		nl = memchr(line, '\n', (size_t)(s + size - line));
		if (!nl)
			nl = s + size;
		n = (size_t)(nl - line);
		audit_line_head(line, n, &seq, h);
		audit_gap_of(line, n, &g);
		if (audit_verify_line(&v, line, n, nl < s + size, why,
				      sizeof(why)) != 0)
			break;
	}
	auditlog_count_lost(s, size, &since);
	if (auditlog_lost_parse(s, &g, lw, sizeof(lw)) == 0 &&
	    g.cause != AUDIT_GAP_STOP)
		__builtin_trap();
	if (names_tls_sni(data, size, name, sizeof(name)) > 0 ||
	    names_dns_qname(data, size, size & 1, name, sizeof(name)) > 0)
		names_ndpi_spelling(name, name);
	json[0] = '\0';
	audit_json_member(json, sizeof(json), "host", s);
	audit_utf8_valid(s);
	/* cut to fit a length the first byte picks: never longer, always a
	 * whole member */
	cut_len = size ? 1 + data[0] * 4 : 1;
	json[0] = '\0';
	rc = audit_json_member_cut(json, cut_len, "what", s);
	if (strlen(json) >= cut_len || (rc < 0 && json[0] != '\0') ||
	    (rc >= 0 && json[strlen(json) - 1] != '"') ||
	    (rc == 1 && !strstr(json, AUDIT_CUT_MARK "[cut ")))
		__builtin_trap();
	free(s);
	return 0;
}

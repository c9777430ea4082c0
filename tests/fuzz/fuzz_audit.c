/* libFuzzer: what the audit reads from outside: lines of an audit file
 * (audit_verify_line, audit_line_head), names as packets carry them
 * (names.c) and their JSON text (audit_json_member). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "core/names.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct audit_verify v;
	char why[256], name[80], json[1024];
	uint8_t h[AUDIT_HASH];
	uint64_t seq;
	char *s = malloc(size + 1), *line, *nl;

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
		if (audit_verify_line(&v, line, n, nl < s + size, why,
				      sizeof(why)) != 0)
			break;
	}
	if (names_tls_sni(data, size, name, sizeof(name)) > 0 ||
	    names_dns_qname(data, size, size & 1, name, sizeof(name)) > 0)
		names_ndpi_spelling(name, name);
	json[0] = '\0';
	audit_json_member(json, sizeof(json), "host", s);
	audit_utf8_valid(s);
	free(s);
	return 0;
}

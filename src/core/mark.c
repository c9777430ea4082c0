/* mark.c - the skyfence bits of the packet and conntrack mark (mark.h). */
#include "core/mark.h"

#include <errno.h>

int mark_layout_init(struct mark_layout *l, uint32_t mask)
{
	uint32_t low;
	unsigned bits = 0;

	if (mask == 0)
		return -EINVAL;
	low = mask & -mask;
	/* contiguous: adding the lowest bit carries through the whole run */
	if (((mask + low) & mask) != 0)
		return -EINVAL;
	for (uint32_t m = mask; m; m &= m - 1)
		bits++;
	if (bits < MARK_MIN_BITS)
		return -EINVAL;
	l->mask = mask;
	l->shift = (unsigned)__builtin_ctz(mask);
	l->verdict_mask = ((1u << MARK_VERDICT_BITS) - 1) << l->shift;
	l->queued = 1u << (l->shift + MARK_VERDICT_BITS);
	l->app_bits = bits - MARK_VERDICT_BITS - 1;
	return 0;
}

uint32_t mark_encode(const struct mark_layout *l, uint32_t old,
		     enum mark_verdict v, uint16_t app)
{
	uint32_t field;

	if ((uint32_t)app >= (1u << l->app_bits))
		app = 0;
	field = ((uint32_t)app << (MARK_VERDICT_BITS + 1)) | (uint32_t)v;
	return (old & ~l->mask) | ((field << l->shift) & l->mask);
}

enum mark_verdict mark_verdict_of(const struct mark_layout *l, uint32_t mark)
{
	uint32_t v = (mark & l->verdict_mask) >> l->shift;

	return v < MARK_VERDICT_MAX ? (enum mark_verdict)v : MARK_NONE;
}

uint16_t mark_app_of(const struct mark_layout *l, uint32_t mark)
{
	return (uint16_t)(((mark & l->mask) >> l->shift) >>
			  (MARK_VERDICT_BITS + 1));
}

uint32_t mark_verdict_value(const struct mark_layout *l, enum mark_verdict v)
{
	return ((uint32_t)v << l->shift) & l->verdict_mask;
}

uint32_t mark_seen(const struct mark_layout *l, uint32_t mark)
{
	return mark & ~l->queued;
}

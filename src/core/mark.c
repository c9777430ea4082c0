/* mark.c - the skyfence bits of the packet and conntrack mark (mark.h). */
#include "core/mark.h"

#include <errno.h>

int mark_layout_init(struct mark_layout *l, uint32_t mask)
{
	uint32_t low;
	unsigned bits = 0, base;

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
	base = (unsigned)__builtin_ctz(mask);
	l->mask = mask;
	l->dscp_on = l->dscp_mask = 0;
	l->dscp_shift = 0;
	if (bits >= MARK_DSCP_MIN_BITS) {
		l->dscp_shift = base;
		l->dscp_mask = 0x3fu << base;
		l->dscp_on = 1u << (base + MARK_DSCP_BITS - 1);
		base += MARK_DSCP_BITS;
	}
	l->shift = base;
	l->verdict_mask = ((1u << MARK_VERDICT_BITS) - 1) << base;
	l->queued = 1u << (base + MARK_VERDICT_BITS);
	l->app_bits = MARK_APP_BITS;
	l->app_mask = ((1u << MARK_APP_BITS) - 1)
		      << (base + MARK_VERDICT_BITS + 1);
	l->media_shift = base + MARK_VERDICT_BITS + 1 + MARK_APP_BITS;
	l->media_mask = ((1u << MARK_MEDIA_BITS) - 1) << l->media_shift;
	return 0;
}

uint32_t mark_encode_flow(const struct mark_layout *l, uint32_t old,
			  enum mark_verdict v, uint16_t app, uint8_t media,
			  uint8_t dscp)
{
	uint32_t m = (old & ~l->mask) | mark_verdict_value(l, v);

	if ((uint32_t)app < (1u << l->app_bits))
		m |= (uint32_t)app << (l->shift + MARK_VERDICT_BITS + 1);
	m |= ((uint32_t)media << l->media_shift) & l->media_mask;
	/* 1 + a 6-bit value; anything else, or a layout without the
	 * field, is no DSCP */
	if (l->dscp_on && dscp >= 1 && dscp <= 64)
		m |= l->dscp_on | ((uint32_t)(dscp - 1) << l->dscp_shift);
	return m;
}

uint32_t mark_encode(const struct mark_layout *l, uint32_t old,
		     enum mark_verdict v, uint16_t app)
{
	return mark_encode_flow(l, old, v, app, 0, 0);
}

enum mark_verdict mark_verdict_of(const struct mark_layout *l, uint32_t mark)
{
	uint32_t v = (mark & l->verdict_mask) >> l->shift;

	return v < MARK_VALUES ? (enum mark_verdict)v : MARK_NONE;
}

uint16_t mark_app_of(const struct mark_layout *l, uint32_t mark)
{
	return (uint16_t)((mark & l->app_mask) >>
			  (l->shift + MARK_VERDICT_BITS + 1));
}

uint8_t mark_media_of(const struct mark_layout *l, uint32_t mark)
{
	return (uint8_t)((mark & l->media_mask) >> l->media_shift);
}

uint8_t mark_dscp_of(const struct mark_layout *l, uint32_t mark)
{
	if (!l->dscp_on || !(mark & l->dscp_on))
		return 0;
	return (uint8_t)(((mark & l->dscp_mask) >> l->dscp_shift) + 1);
}

int mark_has_dscp(const struct mark_layout *l)
{
	return l->dscp_on != 0;
}

uint32_t mark_verdict_value(const struct mark_layout *l, enum mark_verdict v)
{
	return ((uint32_t)v << l->shift) & l->verdict_mask;
}

uint32_t mark_seen(const struct mark_layout *l, uint32_t mark)
{
	return mark & ~l->queued;
}

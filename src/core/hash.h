/* A 64-bit finalizer shared by the tables that hash their keys (the flow
 * table, the report's): MurmurHash3's fmix64, whose avalanche spreads
 * keys that differ in a few low bits (a port's last digits) over a
 * table indexed by its low bits. Pure, header only. */
#ifndef SKYFENCE_HASH_H
#define SKYFENCE_HASH_H

#include <stdint.h>

static inline uint64_t hash_mix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

#endif

/* bigmem.h - large zeroed arrays that live as long as their owner: the
 * flow table's pool and the classifier's nDPI flow structs (about 140 MB
 * a worker at the default --max-flows). Mapped, not malloc'd, and put in
 * memory ahead of use (bigmem_warm, in a worker's idle time): a flood's
 * new flows then take slots the daemon already holds, and the packet
 * path does not wait for a page fault and the zeroing of its page (12 %
 * of a fresh daemon's CPU in lab.policy's flood). The start does not
 * wait for it. (The flow table writes each slot's free-list link at its
 * creation: its pool is in memory from the start anyway.) */
#ifndef SKYFENCE_BIGMEM_H
#define SKYFENCE_BIGMEM_H

#include <stddef.h>

/* @n elements of @size bytes, zeroed (not yet in memory); NULL on
 * overflow or if the address space is short. */
void *bigmem_alloc(size_t n, size_t size);
/* Puts up to @chunk more bytes of what bigmem_alloc(@n, @size) gave in
 * memory, from *@done on (0 at first; advanced). Returns 1 while some is
 * left, 0 once all is (or memory is short: the rest then comes as it is
 * used, as it would have). */
int bigmem_warm(void *p, size_t n, size_t size, size_t *done, size_t chunk);
/* Frees what bigmem_alloc(@n, @size) gave; NULL is fine. */
void bigmem_free(void *p, size_t n, size_t size);

#endif

/* bigmem.h - large zeroed arrays that live as long as their owner: the
 * flow table's pool and the classifier's nDPI flow structs (about 150 MB
 * a worker at the default --max-flows). Mapped, not malloc'd, with
 * transparent huge pages asked for (madvise: Debian's default setting
 * grants them only so): a flood takes their slots in order, and each 2
 * MiB it reaches costs one page fault instead of 512. Nothing is touched
 * before it is used, so memory grows with the flows as before. */
#ifndef SKYFENCE_BIGMEM_H
#define SKYFENCE_BIGMEM_H

#include <stddef.h>

/* @n elements of @size bytes, zeroed; NULL on overflow or if memory is
 * short. */
void *bigmem_alloc(size_t n, size_t size);
/* Frees what bigmem_alloc(@n, @size) gave; NULL is fine. */
void bigmem_free(void *p, size_t n, size_t size);

#endif

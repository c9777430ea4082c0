/* bigmem.c - large zeroed arrays, put in memory ahead of use
 * (bigmem.h). */
#include "core/bigmem.h"

#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>

#define PAGE 4096u

static size_t length(size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		return 0;
	return n * size;
}

void *bigmem_alloc(size_t n, size_t size)
{
	size_t len = length(n, size);
	void *p;

	if (!len)
		return NULL;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		 -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	/* no MADV_HUGEPAGE: with Debian's defrag=madvise, a fault in such
	 * a region may wait for the kernel to compact memory, in the
	 * packet path of a flow that reaches a page before bigmem_warm */
	return p;
}

int bigmem_warm(void *p, size_t n, size_t size, size_t *done, size_t chunk)
{
	size_t len = length(n, size), end, off;

	if (!p || *done >= len)
		return 0;
	end = len - *done > chunk ? *done + chunk : len;
#ifdef MADV_POPULATE_WRITE
	/* page-aligned start: mmap's pointer is, and chunks are multiples
	 * of a page but the last */
	if (madvise((char *)p + *done, end - *done, MADV_POPULATE_WRITE) == 0) {
		*done = end;
		return *done < len;
	}
	if (errno != EINVAL) {
		*done = len; /* memory is short: the rest as it is used */
		return 0;
	}
#endif
	/* a kernel before 5.14: a write to each page, of the byte it holds
	 * (its slots may be in use: only the owner's thread calls this) */
	for (off = *done; off < end; off += PAGE) {
		volatile unsigned char *b = (unsigned char *)p + off;

		*b = *b;
	}
	*done = end;
	return *done < len;
}

void bigmem_free(void *p, size_t n, size_t size)
{
	size_t len = length(n, size);

	if (p && len)
		munmap(p, len);
}

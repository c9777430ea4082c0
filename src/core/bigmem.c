/* bigmem.c - large zeroed arrays on huge pages where the kernel grants
 * them (bigmem.h). */
#include "core/bigmem.h"

#include <stdint.h>
#include <sys/mman.h>

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
	/* advice only: without it (THP off, an older kernel) the pages are
	 * small, nothing else changes */
	(void)madvise(p, len, MADV_HUGEPAGE);
	return p;
}

void bigmem_free(void *p, size_t n, size_t size)
{
	size_t len = length(n, size);

	if (p && len)
		munmap(p, len);
}

/*
 * wipe.c: the wiping free and jansson's wiping allocator (wipe.h).
 */
#include <malloc.h>
#include <stdlib.h>

#include <jansson.h>
#include <sodium.h>

#include "wipe.h"


void wipe_free(void *p)
{
	if (p == NULL)
		return;
	sodium_memzero(p, malloc_usable_size(p));
	free(p);
}

void json_wipe_install(void)
{
	json_set_alloc_funcs(malloc, wipe_free);
}

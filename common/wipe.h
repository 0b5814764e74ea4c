/*
 * wipe.h: memory that may have held plaintext or secrets is zeroed before
 * it is freed. One free function for blocks from malloc (the whole block,
 * malloc_usable_size() bytes, the slack included) and one switch that makes
 * jansson use it for every block it frees (parsed documents, message texts,
 * enrollment codes in frames).
 */
#ifndef VARSKO_COMMON_WIPE_H
#define VARSKO_COMMON_WIPE_H

/* Zero the whole malloc block p, then free it. NULL-safe. */
void wipe_free(void *p);

/*
 * Make jansson free through wipe_free (json_set_alloc_funcs). Call before
 * the first jansson allocation: libvarsko does it from a constructor; the
 * agent, varskod and varskoctl first thing in main().
 */
void json_wipe_install(void);

#endif

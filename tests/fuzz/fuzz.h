/*
 * fuzz.h: what several fuzz targets share. Header-only (static inline), so
 * that each target stays its own fuzz-<name>.c (plus replay.c without
 * libFuzzer).
 */
#ifndef VARSKO_FUZZ_H
#define VARSKO_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Whether p[0..n) is all zero bytes (what a decoder leaves behind when it refuses). */
static inline int fuzz_all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i] != 0)
			return 0;
	return 1;
}

/*
 * Make a new private directory for a target's files into dir (cap bytes):
 * under /dev/shm when it is writable (tmpfs: nothing reaches a disk and an
 * fsync costs nothing), else under $TMPDIR or /tmp. Aborts when it cannot;
 * the caller removes what it put there (atexit).
 */
static inline void fuzz_tmpdir(const char *target, char *dir, size_t cap)
{
	const char *tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");

	if (tmp == NULL || tmp[0] == '\0')
		tmp = "/tmp";
	if ((size_t)snprintf(dir, cap, "%s/varsko-fuzz-%s-XXXXXX", tmp, target) >= cap || mkdtemp(dir) == NULL)
		abort();
}

#endif

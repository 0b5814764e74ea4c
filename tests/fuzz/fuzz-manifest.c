/*
 * fuzz-manifest.c: backup_manifest_read() (gateway/backup.c), what
 * `varskoctl restore` reads from a backup medium, on arbitrary bytes as
 * manifest.json. The bytes are written to a directory under /dev/shm (or
 * $TMPDIR, /tmp) made once per process and removed at exit.
 *
 * Invariants: a refusal is VARSKO_ERR_BAD_INPUT with an error text and a
 * zeroed manifest; an accepted manifest is written again by
 * backup_manifest_write() and reads back to the same struct.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backup.h"
#include "fuzz.h"
#include "varsko/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[256], dir2[300];

static void cleanup(void)
{
	char path[400];

	snprintf(path, sizeof path, "%s/%s", dir2, BACKUP_MANIFEST_NAME);
	unlink(path);
	rmdir(dir2);
	snprintf(path, sizeof path, "%s/%s", dir, BACKUP_MANIFEST_NAME);
	unlink(path);
	rmdir(dir);
}

static void fuzz_dirs(void)
{
	if (dir[0] != '\0')
		return;
	fuzz_tmpdir("manifest", dir, sizeof dir);
	snprintf(dir2, sizeof dir2, "%s/again", dir);
	atexit(cleanup);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct backup_manifest *m = malloc(sizeof(*m)), *m2 = malloc(sizeof(*m2));
	char path[400], err[256];
	FILE *f;
	int r, created = 0;

	if (m == NULL || m2 == NULL)
		abort();
	fuzz_dirs();
	snprintf(path, sizeof path, "%s/%s", dir, BACKUP_MANIFEST_NAME);
	if ((f = fopen(path, "wb")) == NULL || (size > 0 && fwrite(data, 1, size, f) != size) || fclose(f) != 0)
		abort();
	err[0] = '\0';
	r = backup_manifest_read(dir, m, err, sizeof err);
	if (r == VARSKO_OK) {
		snprintf(path, sizeof path, "%s/%s", dir2, BACKUP_MANIFEST_NAME);
		unlink(path);
		if (backup_dir_prepare(dir2, &created, err, sizeof err) != VARSKO_OK ||
		    backup_manifest_write(dir2, m) != VARSKO_OK || backup_manifest_read(dir2, m2, err, sizeof err) != VARSKO_OK ||
		    memcmp(m, m2, sizeof(*m)) != 0)
			abort();
	} else if (r != VARSKO_ERR_BAD_INPUT || err[0] == '\0' || !fuzz_all_zero(m, sizeof(*m))) {
		abort();
	}
	free(m);
	free(m2);
	return 0;
}

/*
 * replay.c: runs a fuzz target's LLVMFuzzerTestOneInput over every file of a
 * corpus directory, so the corpus is a regression test in the normal build
 * (with the sanitizers of that build). Exits 0 when every input returned
 * without a crash, 77 when the directory is missing or empty.
 */
#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	uint8_t *buf;
	size_t n;

	if (f == NULL || fstat(fileno(f), &st) != 0) {
		if (f)
			fclose(f);
		fprintf(stderr, "replay: cannot read %s\n", path);
		return -1;
	}
	/* One spare byte so an empty file still gets a valid pointer. */
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		fclose(f);
		return -1;
	}
	n = fread(buf, 1, (size_t)st.st_size, f);
	fclose(f);
	LLVMFuzzerTestOneInput(buf, n);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	DIR *d;
	struct dirent *e;
	int count = 0, bad = 0;
	char path[4096];

	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
		return 2;
	}
	if ((d = opendir(argv[1])) == NULL) {
		fprintf(stderr, "replay: no corpus at %s\n", argv[1]);
		return 77;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", argv[1], e->d_name);
		if (replay_file(path) != 0)
			bad++;
		count++;
	}
	closedir(d);
	printf("replayed %d inputs from %s\n", count, argv[1]);
	if (count == 0)
		return 77;
	return bad ? 1 : 0;
}

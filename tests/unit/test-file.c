/* test-file.c: common/file.c, the one whole-file reader and the new-file writer. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "buf.h"
#include "check.h"
#include "file.h"

static char dir[] = "/tmp/varsko-test-file-XXXXXX";
static size_t released, dirty;

static void on_release(const void *p, size_t n)
{
	const unsigned char *c = p;

	released++;
	for (size_t i = 0; i < n; i++)
		if (c[i] != 0) {
			dirty++;
			break;
		}
}

static void put(const char *name, const char *text, mode_t mode)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (f != NULL) {
		fputs(text, f);
		fclose(f);
	}
	CHECK(chmod(path, mode) == 0);
}

int main(void)
{
	char path[256], link[256], *out = NULL;
	size_t len = 0;
	int dfd;

	if (sodium_init() < 0 || mkdtemp(dir) == NULL) {
		fprintf(stderr, "cannot set up: no libsodium or no temporary directory\n");
		return 77;
	}
	put("a.txt", "hello\n", 0644);
	snprintf(path, sizeof path, "%s/a.txt", dir);

	/* A regular file, NUL-terminated, the NUL not counted; its memory is wiped when freed. */
	proto_buf_release_hook = on_release;
	CHECK_EQ_INT(file_read(path, 100, 0, &out, &len), VARSKO_OK);
	CHECK_EQ_STR(out, "hello\n");
	CHECK_EQ_INT(len, 6);
	file_free(out, len, 0);
	CHECK_EQ_INT(released, 1);
	CHECK_EQ_INT(dirty, 0);
	proto_buf_release_hook = NULL;

	/* The size limit: exactly max is fine, one byte more is not. */
	CHECK_EQ_INT(file_read(path, 6, 0, &out, &len), VARSKO_OK);
	file_free(out, len, 0);
	CHECK_EQ_INT(file_read(path, 5, 0, &out, &len), VARSKO_ERR_TOO_LARGE);
	CHECK(out == NULL && len == 0);

	/* Empty file. */
	put("empty", "", 0644);
	snprintf(link, sizeof link, "%s/empty", dir);
	CHECK_EQ_INT(file_read(link, 10, 0, &out, &len), VARSKO_OK);
	CHECK(out != NULL && out[0] == '\0' && len == 0);
	file_free(out, len, 0);

	/* Missing, a directory. */
	snprintf(link, sizeof link, "%s/missing", dir);
	CHECK_EQ_INT(file_read(link, 10, 0, &out, &len), VARSKO_ERR_NOT_FOUND);
	CHECK_EQ_INT(file_read(dir, 10, 0, &out, &len), VARSKO_ERR_CONFIG);
	CHECK(out == NULL);

	/* Private files: ours, no group or other bits, not a link. */
	put("key", "c2VjcmV0\n", 0600);
	snprintf(path, sizeof path, "%s/key", dir);
	CHECK_EQ_INT(file_read(path, 100, FILE_PRIVATE | FILE_SECRET, &out, &len), VARSKO_OK);
	CHECK_EQ_STR(out, "c2VjcmV0\n");
	file_free(out, len, FILE_PRIVATE | FILE_SECRET);
	CHECK(chmod(path, 0640) == 0);
	CHECK_EQ_INT(file_read(path, 100, FILE_PRIVATE, &out, &len), VARSKO_ERR_CONFIG);
	CHECK(chmod(path, 0604) == 0);
	CHECK_EQ_INT(file_read(path, 100, FILE_PRIVATE, &out, &len), VARSKO_ERR_CONFIG);
	CHECK(chmod(path, 0400) == 0);
	CHECK_EQ_INT(file_read(path, 100, FILE_PRIVATE, &out, &len), VARSKO_OK);
	file_free(out, len, FILE_PRIVATE);
	CHECK(chmod(path, 0600) == 0);
	snprintf(link, sizeof link, "%s/link", dir);
	CHECK(symlink(path, link) == 0);
	CHECK_EQ_INT(file_read(link, 100, FILE_PRIVATE, &out, &len), VARSKO_ERR_CONFIG);
	CHECK_EQ_INT(file_read(link, 100, FILE_NOFOLLOW, &out, &len), VARSKO_ERR_CONFIG);
	CHECK_EQ_INT(file_read(link, 100, 0, &out, &len), VARSKO_OK); /* followed when allowed */
	file_free(out, len, 0);

	/* Relative to a directory descriptor. */
	CHECK((dfd = open(dir, O_RDONLY | O_DIRECTORY)) >= 0);
	CHECK_EQ_INT(file_read_at(dfd, "a.txt", 100, FILE_NOFOLLOW, &out, &len), VARSKO_OK);
	CHECK_EQ_STR(out, "hello\n");
	file_free(out, len, 0);
	CHECK_EQ_INT(file_read_at(dfd, "link", 100, FILE_NOFOLLOW, &out, &len), VARSKO_ERR_CONFIG);
	close(dfd);

	/* A pipe: refused unless FILE_STREAM, then read to its end within the bound. */
	{
		int p[2];

		CHECK(pipe(p) == 0);
		CHECK(write(p[1], "streamed", 8) == 8);
		close(p[1]);
		CHECK_EQ_INT(file_read_fd(p[0], 100, 0, &out, &len), VARSKO_ERR_CONFIG);
		CHECK_EQ_INT(file_read_fd(p[0], 100, FILE_STREAM | FILE_SECRET, &out, &len), VARSKO_ERR_CONFIG);
		CHECK_EQ_INT(file_read_fd(p[0], 100, FILE_STREAM, &out, &len), VARSKO_OK);
		CHECK_EQ_STR(out, "streamed");
		CHECK_EQ_INT(len, 8);
		file_free(out, len, FILE_STREAM);
		close(p[0]);
		CHECK(pipe(p) == 0);
		CHECK(write(p[1], "streamed", 8) == 8);
		close(p[1]);
		CHECK_EQ_INT(file_read_fd(p[0], 7, FILE_STREAM, &out, &len), VARSKO_ERR_TOO_LARGE);
		CHECK(out == NULL);
		close(p[0]);
	}
	file_free(NULL, 0, 0); /* NULL-safe */

	/* A new file: exactly the mode asked for (the umask undone), never over an existing one or through a link. */
	{
		struct stat st;
		mode_t old = umask(077);

		snprintf(path, sizeof path, "%s/new", dir);
		CHECK_EQ_INT(file_write_new(path, "new\n", 4, 0644), VARSKO_OK);
		CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0644);
		CHECK_EQ_INT(file_read(path, 100, 0, &out, &len), VARSKO_OK);
		CHECK_EQ_STR(out, "new\n");
		file_free(out, len, 0);
		CHECK_EQ_INT(file_write_new(path, "other", 5, 0600), VARSKO_ERR_EXISTS);
		CHECK_EQ_INT(file_read(path, 100, 0, &out, &len), VARSKO_OK);
		CHECK_EQ_STR(out, "new\n");
		file_free(out, len, 0);
		unlink(path);
		CHECK_EQ_INT(file_write_new(link, "x", 1, 0600), VARSKO_ERR_EXISTS); /* link exists: not followed */
		snprintf(path, sizeof path, "%s/no-such-dir/new", dir);
		CHECK_EQ_INT(file_write_new(path, "x", 1, 0600), VARSKO_ERR_IO);
		CHECK_EQ_INT(file_sync_dir(link), VARSKO_OK);
		umask(old);
	}

	unlink(link);
	snprintf(path, sizeof path, "%s/key", dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/a.txt", dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/empty", dir);
	unlink(path);
	rmdir(dir);
	return check_result();
}

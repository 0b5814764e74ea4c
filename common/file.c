/* file.c: the whole-file reader and the new-file writer (file.h). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "buf.h"
#include "file.h"
#include "proto.h"

/* read() that retries after a signal. */
static ssize_t read_some(int fd, void *p, size_t n)
{
	ssize_t k;

	do
		k = read(fd, p, n);
	while (k < 0 && errno == EINTR);
	return k;
}

/* A pipe or device, to its end, through the bounded buffer (never FILE_SECRET). */
static int read_stream(int fd, size_t max, char **out, size_t *len)
{
	struct proto_buf b;
	char chunk[4096];
	ssize_t k;
	int r;

	proto_buf_init_max(&b, max);
	while ((k = read_some(fd, chunk, sizeof chunk)) > 0)
		proto_buf_add(&b, chunk, (size_t)k);
	sodium_memzero(chunk, sizeof chunk);
	if (k < 0)
		proto_buf_fail(&b, VARSKO_ERR_IO);
	r = proto_buf_take(&b, out, len);
	return r;
}

int file_read_fd(int fd, size_t max, unsigned flags, char **out, size_t *len)
{
	struct stat st;
	char *buf = NULL, extra;
	size_t n, got = 0;
	ssize_t k;
	int r = VARSKO_ERR_IO;

	*out = NULL;
	*len = 0;
	if (fstat(fd, &st) != 0)
		return VARSKO_ERR_IO;
	if ((flags & FILE_PRIVATE) && (st.st_uid != geteuid() || (st.st_mode & 077) != 0))
		return VARSKO_ERR_CONFIG;
	if (!S_ISREG(st.st_mode)) {
		if (!(flags & FILE_STREAM) || (flags & FILE_SECRET))
			return VARSKO_ERR_CONFIG;
		return read_stream(fd, max, out, len);
	}
	if (st.st_size < 0 || (uintmax_t)st.st_size > max)
		return VARSKO_ERR_TOO_LARGE;
	n = (size_t)st.st_size;
	if ((buf = (flags & FILE_SECRET) ? sodium_malloc(n + 1) : malloc(n + 1)) == NULL)
		return VARSKO_ERR_NOMEM;
	while (got < n) {
		if ((k = read_some(fd, buf + got, n - got)) <= 0)
			goto out; /* an error, or the file shrank */
		got += (size_t)k;
	}
	/* One byte more means the file grew since fstat(). */
	k = read_some(fd, &extra, 1);
	sodium_memzero(&extra, sizeof extra);
	if (k != 0)
		goto out;
	buf[n] = '\0';
	*out = buf;
	*len = n;
	buf = NULL;
	r = VARSKO_OK;
out:
	file_free(buf, n, flags);
	return r;
}

int file_read_at(int dirfd, const char *name, size_t max, unsigned flags, char **out, size_t *len)
{
	int fd, r;
	int nofollow = (flags & (FILE_NOFOLLOW | FILE_PRIVATE)) ? O_NOFOLLOW : 0;

	*out = NULL;
	*len = 0;
	if ((fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | nofollow)) < 0)
		return errno == ENOENT              ? VARSKO_ERR_NOT_FOUND
		       : errno == ELOOP && nofollow ? VARSKO_ERR_CONFIG
		                                    : VARSKO_ERR_IO;
	r = file_read_fd(fd, max, flags, out, len);
	close(fd);
	return r;
}

int file_read(const char *path, size_t max, unsigned flags, char **out, size_t *len)
{
	return file_read_at(AT_FDCWD, path, max, flags, out, len);
}

void file_free(char *p, size_t len, unsigned flags)
{
	if (p == NULL)
		return;
	if (flags & FILE_SECRET)
		sodium_free(p); /* wipes the whole allocation */
	else
		proto_wipe_free(p, len + 1);
}

int file_sync_dir(const char *path)
{
	char copy[PATH_MAX];
	int fd, r = VARSKO_ERR_IO;

	if (proto_str_copy(copy, sizeof(copy), path) != VARSKO_OK)
		return VARSKO_ERR_IO;
	if ((fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return VARSKO_ERR_IO;
	if (fsync(fd) == 0)
		r = VARSKO_OK;
	close(fd);
	return r;
}

int file_write_new(const char *path, const void *buf, size_t len, unsigned mode)
{
	const char *p = buf;
	size_t done = 0;
	ssize_t n;
	int fd, r = VARSKO_ERR_IO;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, (mode_t)mode)) < 0)
		return errno == EEXIST ? VARSKO_ERR_EXISTS : VARSKO_ERR_IO;
	/* The umask may have removed bits but never adds any; set exactly. */
	if (fchmod(fd, (mode_t)mode) != 0)
		goto out;
	while (done < len) {
		n = write(fd, p + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto out;
		done += (size_t)n;
	}
	if (fsync(fd) != 0)
		goto out;
	r = VARSKO_OK;
out:
	if (close(fd) != 0 && r == VARSKO_OK)
		r = VARSKO_ERR_IO;
	if (r != VARSKO_OK)
		unlink(path);
	else
		r = file_sync_dir(path);
	return r;
}

/*
 * home.c: the home directory of a device. Every file is reached through one
 * directory descriptor (openat/renameat) so a path swapped underneath us
 * cannot redirect a write, and every write is atomic (temporary file, fsync,
 * rename, fsync of the directory).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <sodium.h>

#include "client.h"

/*
 * Create the directory `path` with mode 0700 unless it exists. Only the last
 * component is made: a home whose parent is missing is a typo more often
 * than an intention.
 */
static int mkdir_one(const char *path)
{
	if (mkdir(path, 0700) != 0 && errno != EEXIST)
		return VARSKO_ERR_IO;
	return VARSKO_OK;
}

static int home_default_path(char **out)
{
	const char *env = getenv("VARSKO_HOME");
	const char *home;
	int r;

	if (env != NULL && env[0] != '\0') {
		*out = strdup(env);
	} else {
		home = getenv("HOME");
		if (home == NULL || home[0] != '/')
			return VARSKO_ERR_BAD_INPUT;
		/* ~/.config may not exist yet on a fresh account; $HOME must. */
		if (asprintf(out, "%s/.config", home) < 0) {
			*out = NULL;
			return VARSKO_ERR_NOMEM;
		}
		r = mkdir_one(*out);
		free(*out);
		*out = NULL;
		if (r != VARSKO_OK)
			return r;
		if (asprintf(out, "%s/.config/varsko", home) < 0)
			*out = NULL;
	}
	return *out == NULL ? VARSKO_ERR_NOMEM : VARSKO_OK;
}

int varsko_home_open(const char *path, struct varsko_home **out)
{
	int r = VARSKO_ERR_INTERNAL;
	struct varsko_home *h = NULL;
	struct stat st;

	*out = NULL;
	/* Every other entry point needs a home, so libsodium is set up here (idempotent, thread-safe). */
	if (sodium_init() < 0)
		return VARSKO_ERR_CRYPTO;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return VARSKO_ERR_NOMEM;
	h->dirfd = -1;
	if (path != NULL) {
		if (path[0] == '\0') {
			r = VARSKO_ERR_BAD_INPUT;
			goto out;
		}
		if ((h->path = strdup(path)) == NULL) {
			r = VARSKO_ERR_NOMEM;
			goto out;
		}
	} else if ((r = home_default_path(&h->path)) != VARSKO_OK) {
		goto out;
	}
	if ((r = mkdir_one(h->path)) != VARSKO_OK)
		goto out;
	h->dirfd = open(h->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (h->dirfd < 0) {
		r = errno == ENOTDIR || errno == ELOOP ? VARSKO_ERR_CONFIG : VARSKO_ERR_IO;
		goto out;
	}
	if (fstat(h->dirfd, &st) != 0) {
		r = VARSKO_ERR_IO;
		goto out;
	}
	/* The directory holds secret keys: it must be ours and private. */
	if (st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
		r = VARSKO_ERR_CONFIG;
		goto out;
	}
	*out = h;
	h = NULL;
	r = VARSKO_OK;
out:
	varsko_home_close(h);
	return r;
}

void varsko_home_close(struct varsko_home *h)
{
	if (h == NULL)
		return;
	if (h->dirfd >= 0)
		close(h->dirfd);
	free(h->path);
	free(h);
}

const char *varsko_home_path(const struct varsko_home *h)
{
	return h->path;
}

const char *varsko_home_detail(const struct varsko_home *h)
{
	return h->detail;
}

int home_has(const struct varsko_home *h, const char *name)
{
	return faccessat(h->dirfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

int varsko_home_is_enrolled(const struct varsko_home *h)
{
	return home_has(h, HOME_F_KEY);
}

void home_forget_device(struct varsko_home *h)
{
	/* The key last but one: without it the home is no longer enrolled; then the directory is made durable. */
	(void)unlinkat(h->dirfd, HOME_F_CERT, 0);
	(void)unlinkat(h->dirfd, HOME_F_KEY, 0);
	(void)fsync(h->dirfd);
}

/*
 * The directory that holds `name` inside the home and the last component of
 * the name. A name is either a plain file name or "DIR/FILE" with exactly one
 * directory level; neither part may be empty, "." or "..", and the directory
 * is never followed through a symbolic link. With create, a missing
 * directory is made with mode 0700 (and the home fsync'ed) and an existing
 * one is set to 0700; without, one that others may access is refused. *dfd is
 * h->dirfd for a plain name (do not close it), else a new descriptor the
 * caller closes when it differs from h->dirfd.
 */
static int open_parent(struct varsko_home *h, const char *name, int create, int *dfd, const char **base)
{
	const char *slash = strchr(name, '/');
	char dir[NAME_MAX + 1];
	size_t dl;
	struct stat st;
	int fd;

	*dfd = h->dirfd;
	*base = name;
	if (slash == NULL)
		return name[0] != '\0' && strcmp(name, ".") != 0 && strcmp(name, "..") != 0 ? VARSKO_OK
		                                                                            : VARSKO_ERR_BAD_INPUT;
	dl = (size_t)(slash - name);
	*base = slash + 1;
	if (dl == 0 || dl > NAME_MAX || strchr(*base, '/') != NULL || (*base)[0] == '\0' || strcmp(*base, ".") == 0 ||
	    strcmp(*base, "..") == 0)
		return VARSKO_ERR_BAD_INPUT;
	memcpy(dir, name, dl);
	dir[dl] = '\0';
	if (strcmp(dir, ".") == 0 || strcmp(dir, "..") == 0)
		return VARSKO_ERR_BAD_INPUT;
	fd = openat(h->dirfd, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && create) {
		if (mkdirat(h->dirfd, dir, 0700) != 0 && errno != EEXIST)
			return VARSKO_ERR_IO;
		if (fsync(h->dirfd) != 0)
			return VARSKO_ERR_IO;
		fd = openat(h->dirfd, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0)
		return errno == ENOENT ? VARSKO_ERR_NOT_FOUND : VARSKO_ERR_IO;
	/* Ours, and private: a writer repairs the mode, a reader refuses a directory others can read. */
	if (fstat(fd, &st) != 0 || st.st_uid != geteuid() ||
	    ((st.st_mode & 07777) != 0700 && (create ? fchmod(fd, 0700) != 0 : (st.st_mode & 077) != 0))) {
		close(fd);
		return VARSKO_ERR_CONFIG;
	}
	*dfd = fd;
	return VARSKO_OK;
}

static int home_read_mode(struct varsko_home *h, const char *name, int secret, size_t max, char **out, size_t *len)
{
	int r, dfd;
	const char *base;

	*out = NULL;
	if ((r = open_parent(h, name, 0, &dfd, &base)) != VARSKO_OK)
		return r;
	r = file_read_at(dfd, base, max, FILE_NOFOLLOW | (secret ? FILE_SECRET : 0), out, len);
	if (dfd != h->dirfd)
		close(dfd);
	return r;
}

int home_read(struct varsko_home *h, const char *name, char **out, size_t *len)
{
	return home_read_mode(h, name, 0, HOME_FILE_MAX, out, len);
}

int home_read_secret(struct varsko_home *h, const char *name, char **out, size_t *len)
{
	return home_read_mode(h, name, 1, HOME_FILE_MAX, out, len);
}

int home_read_large(struct varsko_home *h, const char *name, size_t max, char **out, size_t *len)
{
	return home_read_mode(h, name, 0, max, out, len);
}

int home_remove(struct varsko_home *h, const char *name)
{
	int r, dfd;
	const char *base;

	if ((r = open_parent(h, name, 0, &dfd, &base)) != VARSKO_OK)
		return r;
	r = unlinkat(dfd, base, 0) == 0 || errno == ENOENT ? VARSKO_OK : VARSKO_ERR_IO;
	if (dfd != h->dirfd)
		close(dfd);
	return r;
}

int dir_write_temp(int dirfd, const char *name, const void *buf, size_t len, unsigned mode, int sync,
                   char tmp[NAME_MAX + 1])
{
	int r = VARSKO_ERR_IO;
	unsigned char rnd[6];
	const char *p = buf;
	int fd = -1, created = 0;
	ssize_t k;

	randombytes_buf(rnd, sizeof(rnd));
	if (snprintf(tmp, NAME_MAX + 1, ".%s.tmp-%02x%02x%02x%02x%02x%02x", name, rnd[0], rnd[1], rnd[2], rnd[3], rnd[4],
	             rnd[5]) >= NAME_MAX + 1) {
		tmp[0] = '\0';
		return VARSKO_ERR_BAD_INPUT;
	}
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, (mode_t)mode);
	if (fd < 0)
		goto out;
	created = 1;
	/* The umask may have removed bits, never added any; make the mode exact. */
	if (fchmod(fd, (mode_t)mode) != 0)
		goto out;
	while (len > 0) {
		k = write(fd, p, len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			goto out;
		p += k;
		len -= (size_t)k;
	}
	if (sync && fsync(fd) != 0)
		goto out;
	if (close(fd) != 0) {
		fd = -1;
		goto out;
	}
	fd = -1;
	created = 0;
	r = VARSKO_OK;
out:
	if (fd >= 0)
		close(fd);
	if (created)
		unlinkat(dirfd, tmp, 0);
	if (r != VARSKO_OK)
		tmp[0] = '\0';
	return r;
}

int dir_rename_temp(int dirfd, const char *tmp, const char *name, int noreplace)
{
	int r = VARSKO_OK;

	if (noreplace) {
		if (renameat2(dirfd, tmp, dirfd, name, RENAME_NOREPLACE) != 0)
			r = errno == EEXIST ? VARSKO_ERR_EXISTS : VARSKO_ERR_IO;
	} else if (renameat(dirfd, tmp, dirfd, name) != 0) {
		r = VARSKO_ERR_IO;
	}
	if (r != VARSKO_OK)
		unlinkat(dirfd, tmp, 0);
	return r;
}

int dir_write_atomic(int dirfd, const char *name, const void *buf, size_t len, unsigned mode, int noreplace)
{
	char tmp[NAME_MAX + 1];
	int r;

	if ((r = dir_write_temp(dirfd, name, buf, len, mode, 1, tmp)) != VARSKO_OK ||
	    (r = dir_rename_temp(dirfd, tmp, name, noreplace)) != VARSKO_OK)
		return r;
	return fsync(dirfd) == 0 ? VARSKO_OK : VARSKO_ERR_IO;
}

int home_write(struct varsko_home *h, const char *name, const void *buf, size_t len, unsigned mode, int noreplace)
{
	const char *base = name;
	int dfd = -1, r;

	if ((r = open_parent(h, name, 1, &dfd, &base)) != VARSKO_OK)
		return r;
	r = dir_write_atomic(dfd, base, buf, len, mode, noreplace);
	if (dfd != h->dirfd)
		close(dfd);
	return r;
}

int home_dup(const struct varsko_home *h, struct varsko_home **out)
{
	struct varsko_home *c;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return VARSKO_ERR_NOMEM;
	c->dirfd = fcntl(h->dirfd, F_DUPFD_CLOEXEC, 0);
	if ((c->path = strdup(h->path)) == NULL || c->dirfd < 0) {
		int r = c->path == NULL ? VARSKO_ERR_NOMEM : VARSKO_ERR_IO;

		varsko_home_close(c);
		return r;
	}
	*out = c;
	return VARSKO_OK;
}

int home_part_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > PROTO_ID_MAX || s[0] == '.')
		return 0;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
		      ch == '_' || ch == '.'))
			return 0;
	}
	return 1;
}

int home_seen_check(struct varsko_home *h, const char *name, const uint8_t (*hashes)[CHAIN_HASH_LEN], size_t n,
                    uint64_t *seen_seq)
{
	char *text = NULL, hex[2 * CHAIN_HASH_LEN + 1];
	uint8_t want[CHAIN_HASH_LEN];
	unsigned long long seq = 0;
	size_t len = 0;
	int r;

	*seen_seq = 0;
	if (!home_has(h, name))
		return VARSKO_OK;
	if ((r = home_read(h, name, &text, &len)) != VARSKO_OK)
		return r;
	if (sscanf(text, "%llu %64s", &seq, hex) != 2 || seq == 0 ||
	    sodium_hex2bin(want, sizeof want, hex, strlen(hex), NULL, NULL, NULL) != 0) {
		free(text);
		return VARSKO_ERR_BAD_INPUT;
	}
	free(text);
	*seen_seq = seq;
	if (seq > n || sodium_memcmp(hashes[seq - 1], want, CHAIN_HASH_LEN) != 0)
		return VARSKO_ERR_BAD_CHAIN;
	return VARSKO_OK;
}

int home_seen_write(struct varsko_home *h, const char *name, const struct chain_head *head)
{
	char line[32 + 2 * CHAIN_HASH_LEN];
	char hex[2 * CHAIN_HASH_LEN + 1];
	char *old = NULL;
	size_t len = 0;

	if (head->seq == 0)
		return VARSKO_OK;
	sodium_bin2hex(hex, sizeof hex, head->hash, CHAIN_HASH_LEN);
	snprintf(line, sizeof line, "%llu %s\n", (unsigned long long)head->seq, hex);
	/* Unchanged: no write (the agent checks its team's chain every few seconds). */
	if (home_read(h, name, &old, &len) == VARSKO_OK) {
		int same = len == strlen(line) && memcmp(old, line, len) == 0;

		free(old);
		if (same)
			return VARSKO_OK;
	}
	return home_write(h, name, line, strlen(line), 0600, 0);
}

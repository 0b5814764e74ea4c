/*
 * casedir.c: the agent's case directory (layout in agent.h).
 *
 * Every file is written atomically through a directory descriptor
 * (temporary file, fsync, rename, fsync of the directory), so a case system
 * that scans the directory never sees half a file, and a crash leaves either
 * the old state or the new one. The batch (agent.h) does the same for many
 * files at once: the temporaries of one turn of the MQTT loop, one syncfs,
 * the renames, one fsync per directory, then the publications. The signed events are stored before they
 * are published: after a crash the agent re-sends the very same events
 * instead of signing new ones, and varskod accepts the same signed event
 * again without storing anything new.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <mosquitto.h>
#include <sodium.h>

#include "agent.h"

#define SPOOL_BACKOFF_FIRST 5   /* seconds before the first retry of a failed command */
#define SPOOL_BACKOFF_MAX   300 /* seconds between retries at most */

/* "<REF>.<kind>.<ext>" into out (NAME_MAX + 1); VARSKO_ERR_BAD_INPUT if it does not fit. */
static int ack_name(char out[NAME_MAX + 1], const char *ref, enum flow_event_kind kind, const char *ext)
{
	const char *k = flow_event_kind_name(kind);

	if (k == NULL || snprintf(out, NAME_MAX + 1, "%s.%s.%s", ref, k, ext) > NAME_MAX)
		return VARSKO_ERR_BAD_INPUT;
	return VARSKO_OK;
}

/* "<REF>.json" into out. */
static int ref_name(char out[NAME_MAX + 1], const char *ref)
{
	if (snprintf(out, NAME_MAX + 1, "%s.json", ref) > NAME_MAX)
		return VARSKO_ERR_BAD_INPUT;
	return VARSKO_OK;
}

int casedir_has(int dirfd, const char *name)
{
	return faccessat(dirfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

int casedir_write(struct agent *a, int dirfd, const char *name, const void *buf, size_t len, int noreplace)
{
	a->stats.syncs += 2; /* the file and its directory */
	return dir_write_atomic(dirfd, name, buf, len, 0600, noreplace);
}

/* Create `name` (mode 0700) inside dirfd unless it exists, and open it. -1 on failure. */
static int open_subdir(int dirfd, const char *name)
{
	if (mkdirat(dirfd, name, 0700) != 0 && errno != EEXIST)
		return -1;
	return openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/*
 * A directory stream of dirfd with its own offset (a dup() would share the
 * offset, so a second listing would start at the end). NULL on failure.
 */
static DIR *open_stream(int dirfd)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d;

	if (fd < 0)
		return NULL;
	if ((d = fdopendir(fd)) == NULL)
		close(fd);
	return d;
}

/* Remove the temporary files (".<name>.tmp-<hex>") a previous run left behind in dirfd. */
static void remove_stale(int dirfd)
{
	DIR *d;
	struct dirent *e;

	if ((d = open_stream(dirfd)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' && strstr(e->d_name, ".tmp-") != NULL && e->d_type != DT_DIR)
			unlinkat(dirfd, e->d_name, 0);
	}
	closedir(d);
}

int casedir_open(struct agent *a, const char *path, const char **detail)
{
	int r = VARSKO_ERR_IO;

	a->case_fd = a->acks_fd = a->spool_fd = -1;
	*detail = "";
	/* Only the last component is made: a missing parent is more likely a typo. */
	if (mkdir(path, 0700) != 0 && errno != EEXIST) {
		*detail = "cannot create the case directory";
		goto out;
	}
	if ((a->case_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		*detail = "cannot open the case directory";
		goto out;
	}
	if ((a->case_path = realpath(path, NULL)) == NULL) {
		*detail = "cannot resolve the case directory";
		goto out;
	}
	if ((a->acks_fd = open_subdir(a->case_fd, ".acks")) < 0) {
		*detail = "cannot open .acks in the case directory";
		goto out;
	}
	if ((a->spool_fd = open_subdir(a->case_fd, ".spool")) < 0) {
		*detail = "cannot open .spool in the case directory";
		goto out;
	}
	remove_stale(a->case_fd);
	remove_stale(a->acks_fd);
	remove_stale(a->spool_fd);
	r = VARSKO_OK;
out:
	return r;
}

void casedir_close(struct agent *a)
{
	if (a->spool_fd >= 0)
		close(a->spool_fd);
	if (a->acks_fd >= 0)
		close(a->acks_fd);
	if (a->case_fd >= 0)
		close(a->case_fd);
	a->case_fd = a->acks_fd = a->spool_fd = -1;
	free(a->case_path);
	a->case_path = NULL;
}

int casedir_is_filed(const struct agent *a, const char *ref)
{
	char name[NAME_MAX + 1];

	if (a->command != NULL) {
		if (ack_name(name, ref, FLOW_EV_JOURNALISERET, "json") != VARSKO_OK)
			return 0;
		return casedir_has(a->acks_fd, name);
	}
	if (ref_name(name, ref) != VARSKO_OK)
		return 0;
	return casedir_has(a->case_fd, name);
}

/* Read a small file of dirfd into a NUL-terminated malloc'ed buffer (at most AGENT_ACK_MAX bytes). */
/* Sign a new event of `kind` for ref with the device key, at the current time, as stored JSON text. */
static int sign_event(struct agent *a, const char *ref, enum flow_event_kind kind, char **out, size_t *len)
{
	int r = VARSKO_ERR_INTERNAL;
	struct flow_event ev;
	json_t *j = NULL;
	char *s = NULL;

	*out = NULL;
	memset(&ev, 0, sizeof(ev));
	ev.version = FLOW_VERSION;
	if (proto_str_copy(ev.reference, sizeof(ev.reference), ref) != VARSKO_OK ||
	    proto_str_copy(ev.device, sizeof(ev.device), a->cert.device) != VARSKO_OK) {
		r = VARSKO_ERR_BAD_INPUT;
		goto out;
	}
	ev.kind = kind;
	ev.time = (int64_t)time(NULL);
	ev.akut = -1;
	ev.started = -1;
	ev.has_envelope = 0;
	if ((r = flow_event_sign(&ev, a->keys->sign_sk)) != VARSKO_OK)
		goto out;
	if ((r = flow_event_to_json(&ev, &j)) != VARSKO_OK)
		goto out;
	if ((s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	/* Stored with a newline, like the other text files Varsko writes. */
	*len = strlen(s);
	if ((*out = malloc(*len + 2)) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	memcpy(*out, s, *len);
	(*out)[(*len)++] = '\n';
	(*out)[*len] = '\0';
	r = VARSKO_OK;
out:
	free(s);
	json_decref(j);
	return r;
}

/* Remember publication mid until its PUBACK (one entry per message id, so none is left out). */
static void track(struct agent *a, int mid, const char *ref, enum flow_event_kind kind)
{
	struct agent_inflight *f;

	if (mid <= 0 || mid >= AGENT_INFLIGHT_MAX)
		return;
	f = &a->inflight[mid];
	f->mid = mid;
	snprintf(f->reference, sizeof(f->reference), "%s", ref);
	f->kind = kind;
}

/*
 * Publish {"type":TYPE,MEMBER:OBJ,"cert":C} (obj: a reference transferred
 * here) on the ack topic at QoS 1. VARSKO_ERR_CONNECT when libmosquitto
 * refuses it; *mid gets the message id.
 */
static int publish_with_cert(struct agent *a, const char *type, const char *member, json_t *obj, int *mid)
{
	int r = VARSKO_ERR_NOMEM, rc;
	json_t *cert = NULL, *o = NULL;
	json_error_t jerr;
	char *payload = NULL;

	if ((cert = json_loads(a->cert_json, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
		r = VARSKO_ERR_BAD_INPUT;
		goto out;
	}
	if ((o = json_object()) == NULL || json_object_set_new(o, "type", json_string(type)) != 0)
		goto out;
	rc = json_object_set_new(o, member, obj);
	obj = NULL;
	if (rc != 0)
		goto out;
	rc = json_object_set_new(o, "cert", cert);
	cert = NULL;
	if (rc != 0)
		goto out;
	if ((payload = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		goto out;
	rc = mosquitto_publish(a->mosq, mid, a->ack_topic, (int)strlen(payload), payload, 1, false);
	r = rc == MOSQ_ERR_SUCCESS ? VARSKO_OK : VARSKO_ERR_CONNECT;
	if (rc != MOSQ_ERR_SUCCESS)
		agent_log("publishing a %s failed: %s", type, mosquitto_strerror(rc));
out:
	free(payload);
	json_decref(o);
	json_decref(cert);
	json_decref(obj);
	return r;
}

/*
 * Publish the stored event of `kind` for ref as {"type":"event","event":E,
 * "cert":C} on the ack topic at QoS 1. Nothing is sent while disconnected
 * (casedir_publish_pending() sends it after the next connect).
 */
static int publish_stored(struct agent *a, const char *ref, enum flow_event_kind kind)
{
	int r = VARSKO_ERR_INTERNAL, mid = 0;
	char name[NAME_MAX + 1];
	char *text = NULL;
	size_t len = 0;
	json_t *ev = NULL;
	json_error_t jerr;
	struct flow_event check;

	if (!a->connected)
		return VARSKO_ERR_CLOSED;
	if ((r = ack_name(name, ref, kind, "json")) != VARSKO_OK)
		goto out;
	if ((r = file_read_at(a->acks_fd, name, AGENT_ACK_MAX, FILE_NOFOLLOW, &text, &len)) != VARSKO_OK)
		goto out;
	r = VARSKO_ERR_BAD_INPUT;
	if ((ev = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL)
		goto out;
	/* A stored event that is not the one its name says is never sent. */
	if (flow_event_from_json(ev, &check) != VARSKO_OK || strcmp(check.reference, ref) != 0 || check.kind != kind ||
	    strcmp(check.device, a->cert.device) != 0)
		goto out;
	r = publish_with_cert(a, "event", "event", ev, &mid);
	ev = NULL;
	if (r == VARSKO_ERR_CONNECT)
		agent_log("%s: %s is sent again after the next connect", ref, flow_event_kind_name(kind));
	if (r != VARSKO_OK)
		goto out;
	track(a, mid, ref, kind);
	r = VARSKO_OK;
out:
	if (r == VARSKO_ERR_BAD_INPUT || r == VARSKO_ERR_TOO_LARGE)
		agent_log("%s: the stored %s event is damaged; not sent", ref, flow_event_kind_name(kind));
	json_decref(ev);
	file_free(text, len, 0);
	return r;
}

int casedir_refuse(struct agent *a, const char *ref, enum flow_refusal_reason reason)
{
	struct flow_refusal f;
	json_t *j = NULL;
	int r, mid = 0;

	if (!a->connected)
		return VARSKO_ERR_CLOSED;
	memset(&f, 0, sizeof(f));
	f.version = FLOW_VERSION;
	f.time = (int64_t)time(NULL);
	f.reason = reason;
	if (proto_str_copy(f.reference, sizeof(f.reference), ref) != VARSKO_OK ||
	    proto_str_copy(f.device, sizeof(f.device), a->cert.device) != VARSKO_OK)
		return VARSKO_ERR_BAD_INPUT;
	if ((r = flow_refusal_sign(&f, a->keys->sign_sk)) != VARSKO_OK ||
	    (r = flow_refusal_to_json(&f, &j)) != VARSKO_OK)
		return r;
	r = publish_with_cert(a, "refusal", "refusal", j, &mid);
	if (r == VARSKO_OK)
		a->stats.refused++;
	return r;
}

/* A batch is open (casedir_batch_begin()). */
static int batching(const struct agent *a)
{
	return a->batch != NULL && a->batch->open;
}

/* Write buf as a temporary for `name` in dirfd, made durable and renamed at the batch's commit. */
static int batch_file(struct agent *a, int dirfd, const char *name, const void *buf, size_t len, const char *ref,
                      enum agent_pending_what what, int rerouted)
{
	struct agent_batch *b = a->batch;
	struct agent_pending *p;
	int r;

	if (b->n == AGENT_BATCH_FILES)
		return VARSKO_ERR_INTERNAL; /* casedir_batch_full() is asked before each underretning */
	p = &b->files[b->n];
	memset(p, 0, sizeof(*p));
	if ((r = dir_write_temp(dirfd, name, buf, len, 0600, 0, p->tmp)) != VARSKO_OK)
		return r;
	p->dirfd = dirfd;
	snprintf(p->name, sizeof(p->name), "%s", name);
	snprintf(p->reference, sizeof(p->reference), "%s", ref);
	p->what = what;
	p->rerouted = rerouted;
	b->n++;
	return VARSKO_OK;
}

static int batch_publish(struct agent *a, const char *ref, enum flow_event_kind kind)
{
	struct agent_batch *b = a->batch;

	if (b->n_pub == AGENT_BATCH_FILES)
		return VARSKO_ERR_INTERNAL;
	snprintf(b->pubs[b->n_pub].reference, sizeof(b->pubs[b->n_pub].reference), "%s", ref);
	b->pubs[b->n_pub].kind = kind;
	b->n_pub++;
	return VARSKO_OK;
}

int casedir_ack(struct agent *a, const char *ref, enum flow_event_kind kind)
{
	int r = VARSKO_ERR_INTERNAL;
	char name[NAME_MAX + 1];
	char *text = NULL;
	size_t len = 0;

	if ((r = ack_name(name, ref, kind, "json")) != VARSKO_OK)
		goto out;
	if (!casedir_has(a->acks_fd, name)) {
		if ((r = sign_event(a, ref, kind, &text, &len)) != VARSKO_OK)
			goto out;
		if (batching(a))
			r = batch_file(a, a->acks_fd, name, text, len, ref, AGENT_PENDING_EVENT, 0);
		else
			r = casedir_write(a, a->acks_fd, name, text, len, 1);
		if (r != VARSKO_OK && r != VARSKO_ERR_EXISTS)
			goto out;
	}
	/* Stored (in a batch: at its commit): from then on the event is not lost, whether its publication works or not. */
	if (batching(a))
		r = batch_publish(a, ref, kind);
	else
		(void)publish_stored(a, ref, kind);
	if (r == VARSKO_ERR_EXISTS)
		r = VARSKO_OK;
out:
	free(text);
	return r;
}

int casedir_file_record(struct agent *a, const char *ref, const char *rec, size_t rec_len, int rerouted,
                        int *duplicate, int *deferred)
{
	char name[NAME_MAX + 1];
	int r;

	*duplicate = *deferred = 0;
	if ((r = ref_name(name, ref)) != VARSKO_OK)
		return r;
	if (batching(a)) {
		if ((r = batch_file(a, a->case_fd, name, rec, rec_len, ref, AGENT_PENDING_RECORD, rerouted)) != VARSKO_OK)
			return r;
		*deferred = 1;
	} else {
		r = casedir_write(a, a->case_fd, name, rec, rec_len, 1);
		if (r == VARSKO_ERR_EXISTS) {
			*duplicate = 1;
			r = VARSKO_OK;
		}
		if (r != VARSKO_OK)
			return r;
	}
	return casedir_ack(a, ref, FLOW_EV_JOURNALISERET);
}

void casedir_batch_begin(struct agent *a)
{
	if (a->batch != NULL && a->command == NULL) {
		a->batch->open = 1;
		a->batch->n = a->batch->n_pub = 0;
	}
}

int casedir_batch_full(const struct agent *a)
{
	/* One underretning adds at most three files (modtaget, record, journaliseret) and two publications. */
	return batching(a) && (a->batch->n + 3 > AGENT_BATCH_FILES || a->batch->n_pub + 2 > AGENT_BATCH_FILES);
}

/* Whether ref has a file in the batch that could not be made durable (failed[] parallel to files[]). */
static int ref_failed(const struct agent_batch *b, const int *failed, const char *ref)
{
	for (size_t i = 0; i < b->n; i++)
		if (failed[i] && strcmp(b->files[i].reference, ref) == 0)
			return 1;
	return 0;
}

void casedir_batch_commit(struct agent *a)
{
	struct agent_batch *b = a->batch;
	int failed[AGENT_BATCH_FILES] = {0};
	int synced = 1, acks_dirty = 0, case_dirty = 0, dup;
	struct stat sc, sa;
	size_t i;

	if (!batching(a))
		return;
	b->open = 0; /* from here on every write and publication is direct */
	if (b->n > 0) {
		/* Every temporary's data on disk: one syncfs, twice only when .acks is another filesystem. */
		a->stats.syncs++;
		if (syncfs(a->case_fd) != 0)
			synced = 0;
		else if (fstat(a->case_fd, &sc) == 0 && fstat(a->acks_fd, &sa) == 0 && sc.st_dev != sa.st_dev &&
		         (a->stats.syncs++, syncfs(a->acks_fd) != 0))
			synced = 0;
	}
	for (i = 0; i < b->n; i++) {
		struct agent_pending *p = &b->files[i];
		int r;

		if (!synced) {
			unlinkat(p->dirfd, p->tmp, 0);
			failed[i] = 1;
			continue;
		}
		r = dir_rename_temp(p->dirfd, p->tmp, p->name, 1);
		if (r == VARSKO_ERR_EXISTS && p->what == AGENT_PENDING_RECORD)
			p->rerouted = -1; /* filed before: a duplicate */
		else if (r != VARSKO_OK && r != VARSKO_ERR_EXISTS)
			failed[i] = 1;
		if (p->dirfd == a->acks_fd)
			acks_dirty = 1;
		else
			case_dirty = 1;
	}
	a->stats.syncs += (uint64_t)(acks_dirty + case_dirty);
	if ((acks_dirty && fsync(a->acks_fd) != 0) || (case_dirty && fsync(a->case_fd) != 0))
		for (i = 0; i < b->n; i++)
			failed[i] = 1; /* the renames may not last: nothing is said about any of them */
	for (i = 0; i < b->n; i++) {
		const struct agent_pending *p = &b->files[i];

		if (p->what != AGENT_PENDING_RECORD)
			continue;
		if (ref_failed(b, failed, p->reference)) {
			agent_log("%s: failed:%s (cannot make the case files durable; it is delivered again)", p->reference,
			          varsko_err_name(VARSKO_ERR_IO));
			a->stats.errors++;
			continue;
		}
		dup = p->rerouted < 0;
		agent_log("%s: %s", p->reference, dup ? "duplicate" : p->rerouted ? "filed (re-routed)" : "filed");
		if (dup)
			agent_count_success(a);
		else
			agent_count_filed(a);
	}
	/* In the order queued: a modtaget before its journaliseret. */
	for (i = 0; i < b->n_pub; i++)
		if (!ref_failed(b, failed, b->pubs[i].reference))
			(void)publish_stored(a, b->pubs[i].reference, b->pubs[i].kind);
	b->n = b->n_pub = 0;
}

void casedir_on_puback(struct agent *a, int mid)
{
	char name[NAME_MAX + 1];
	struct agent_inflight *f;
	int fd;

	if (mid <= 0 || mid >= AGENT_INFLIGHT_MAX || a->inflight[mid].mid != mid)
		return;
	f = &a->inflight[mid];
	a->stats.events_sent++;
	/* The marker needs no fsync: losing it only means the event is sent once more. */
	if (ack_name(name, f->reference, f->kind, "sent") == VARSKO_OK) {
		fd = openat(a->acks_fd, name, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0)
			close(fd);
	}
	f->mid = 0;
}

/*
 * Split a stored ack name "<REF>.<kind>.json" into ref (FLOW_REF_MAX + 1)
 * and kind. 0 for any other name.
 */
static int parse_ack_name(const char *name, char ref[FLOW_REF_MAX + 1], enum flow_event_kind *kind)
{
	const char *dot = strchr(name, '.'), *dot2;
	char k[FLOW_KIND_MAX + 1];
	size_t n;

	if (dot == NULL || (size_t)(dot - name) > FLOW_REF_MAX)
		return 0;
	n = (size_t)(dot - name);
	memcpy(ref, name, n);
	ref[n] = '\0';
	if (!flow_reference_valid(ref))
		return 0;
	if ((dot2 = strchr(dot + 1, '.')) == NULL || strcmp(dot2, ".json") != 0)
		return 0;
	n = (size_t)(dot2 - dot - 1);
	if (n == 0 || n > FLOW_KIND_MAX)
		return 0;
	memcpy(k, dot + 1, n);
	k[n] = '\0';
	*kind = flow_event_kind_from_name(k);
	return *kind == FLOW_EV_MODTAGET || *kind == FLOW_EV_JOURNALISERET;
}

void casedir_publish_pending(struct agent *a)
{
	static const enum flow_event_kind order[] = {FLOW_EV_MODTAGET, FLOW_EV_JOURNALISERET};
	char ref[FLOW_REF_MAX + 1], sent[NAME_MAX + 1];
	enum flow_event_kind kind;
	struct dirent *e;
	DIR *d = NULL;
	int n = 0;

	if ((d = open_stream(a->acks_fd)) == NULL)
		return;
	/* modtaget first: varskod learns of the receipt before the filing. */
	for (size_t pass = 0; pass < sizeof(order) / sizeof(order[0]) && a->connected; pass++) {
		rewinddir(d);
		while ((e = readdir(d)) != NULL && a->connected) {
			if (!parse_ack_name(e->d_name, ref, &kind) || kind != order[pass])
				continue;
			if (ack_name(sent, ref, kind, "sent") != VARSKO_OK || casedir_has(a->acks_fd, sent))
				continue;
			if (publish_stored(a, ref, kind) == VARSKO_OK)
				n++;
		}
	}
	closedir(d);
	if (n > 0)
		agent_log("sent %d stored event%s the broker had not acknowledged", n, n == 1 ? "" : "s");
}

/* Run the command on path and wait for it. Returns its wait status, or -1 when it could not be started. */
static int run_wait(const char *command, const char *path)
{
	pid_t pid, w;
	int status = 0, fd;
	sigset_t none;

	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		/* The child: default signals, no inherited descriptors but stdio, stdout to our log. */
		char *argv[3];

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		if ((fd = open("/dev/null", O_RDONLY)) >= 0 && fd != STDIN_FILENO) {
			dup2(fd, STDIN_FILENO);
			close(fd);
		}
		dup2(STDERR_FILENO, STDOUT_FILENO);
		close_range(3, ~0u, 0);
		argv[0] = (char *)command;
		argv[1] = (char *)path;
		argv[2] = NULL;
		execvp(command, argv);
		_exit(127);
	}
	/* A stop request waits for the command: a half-done import is worse than a slow stop. */
	do {
		w = waitpid(pid, &status, 0);
	} while (w < 0 && errno == EINTR);
	return w == pid ? status : -1;
}

int casedir_run_command(struct agent *a, const char *ref)
{
	int r = VARSKO_ERR_IO, status;
	char name[NAME_MAX + 1];
	char *path = NULL;

	if ((r = ref_name(name, ref)) != VARSKO_OK)
		goto out;
	if (asprintf(&path, "%s/.spool/%s", a->case_path, name) < 0) {
		path = NULL;
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	r = VARSKO_ERR_IO;
	status = run_wait(a->command, path);
	if (status == -1) {
		agent_log("%s: the command could not be started", ref);
		goto out;
	}
	if (WIFSIGNALED(status)) {
		agent_log("%s: the command was killed by signal %d", ref, WTERMSIG(status));
		goto out;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		agent_log("%s: the command exited with status %d%s", ref, WIFEXITED(status) ? WEXITSTATUS(status) : -1,
		          WIFEXITED(status) && WEXITSTATUS(status) == 127 ? " (not found?)" : "");
		goto out;
	}
	/* Filed. The event first, then the spool file: a crash in between finds both and only removes the file. */
	if ((r = casedir_ack(a, ref, FLOW_EV_JOURNALISERET)) != VARSKO_OK)
		goto out;
	if (unlinkat(a->spool_fd, name, 0) != 0 && errno != ENOENT)
		agent_log("%s: cannot remove the spool file", ref);
	(void)fsync(a->spool_fd);
	r = VARSKO_OK;
out:
	if (r != VARSKO_OK) {
		int64_t now = agent_now_mono();

		if (a->spool_backoff < SPOOL_BACKOFF_FIRST)
			a->spool_backoff = SPOOL_BACKOFF_FIRST;
		if (a->spool_due == 0 || a->spool_due > now + a->spool_backoff)
			a->spool_due = now + a->spool_backoff;
	}
	free(path);
	return r;
}

/* The references waiting in .spool (names "<REF>.json"), as a malloc'ed array of n entries. */
static int list_spool(struct agent *a, char (**out)[FLOW_REF_MAX + 1], size_t *n)
{
	char(*refs)[FLOW_REF_MAX + 1] = NULL;
	size_t cap = 0, len;
	struct dirent *e;
	DIR *d;

	*out = NULL;
	*n = 0;
	if ((d = open_stream(a->spool_fd)) == NULL)
		return VARSKO_ERR_IO;
	while ((e = readdir(d)) != NULL) {
		len = strlen(e->d_name);
		if (len <= 5 || len - 5 > FLOW_REF_MAX || strcmp(e->d_name + len - 5, ".json") != 0)
			continue;
		if (proto_array_grow((void **)&refs, *n, &cap, sizeof(*refs), SIZE_MAX / sizeof(*refs)) != VARSKO_OK)
			break;
		memcpy(refs[*n], e->d_name, len - 5);
		refs[*n][len - 5] = '\0';
		if (flow_reference_valid(refs[*n]))
			(*n)++;
	}
	closedir(d);
	*out = refs;
	return VARSKO_OK;
}

void casedir_retry_spool(struct agent *a)
{
	char(*refs)[FLOW_REF_MAX + 1] = NULL;
	char name[NAME_MAX + 1];
	size_t n = 0, failed = 0;

	a->spool_due = 0;
	if (a->command == NULL || list_spool(a, &refs, &n) != VARSKO_OK)
		return;
	for (size_t i = 0; i < n; i++) {
		if (casedir_is_filed(a, refs[i])) {
			/* Filed before a crash removed the spool file. */
			if (ref_name(name, refs[i]) == VARSKO_OK)
				unlinkat(a->spool_fd, name, 0);
			continue;
		}
		if (casedir_run_command(a, refs[i]) == VARSKO_OK) {
			agent_log("%s: filed (spooled, command succeeded)", refs[i]);
			agent_count_filed(a);
		} else {
			failed++;
		}
	}
	if (failed == 0) {
		a->spool_backoff = 0;
		a->spool_due = 0;
	} else {
		a->spool_backoff = a->spool_backoff * 2 > SPOOL_BACKOFF_MAX ? SPOOL_BACKOFF_MAX : a->spool_backoff * 2;
		agent_log("%zu spooled underretning%s not filed yet; retrying in %lld s", failed,
		          failed == 1 ? "" : "er", (long long)(a->spool_due - agent_now_mono()));
	}
	free(refs);
}

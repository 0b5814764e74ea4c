/*
 * test-threadc.c: the client side of threads without a server
 * (clients/lib/threadchain.c, threadmsg.c): who the certificates admit
 * (PROTOCOL.md 17.5), membership at a version, fresh ids, the message
 * plaintext, and what a client checks before it shows a message or a read
 * mark (17.6), each against a thread and user chains built in-process.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "check.h"
#include "client.h"

#define INST  "inst-nord"
#define TEAM  "team-nord"
#define ANNA  "laerer-anna"
#define SOFIE "raadgiver-sofie"
#define THOMAS "leder-thomas"

static int64_t now;
static uint8_t org_pk[32], org_sk[64];

struct dev {
	uint8_t sign_pk[32], sign_sk[64], box_pk[32], box_sk[32];
	char id[PROTO_DEVICE_ID_LEN + 1];
};

static void dev_new(struct dev *d)
{
	crypto_sign_keypair(d->sign_pk, d->sign_sk);
	crypto_box_keypair(d->box_pk, d->box_sk);
	proto_device_id(d->sign_pk, d->id);
}

static void cert_make(struct proto_cert *c, const struct dev *d, const char *user, const char *role, const char *team,
                      const char *inst, const uint8_t *sk)
{
	memset(c, 0, sizeof(*c));
	c->version = PROTO_VERSION;
	c->serial = 7;
	snprintf(c->user, sizeof(c->user), "%s", user);
	snprintf(c->name, sizeof(c->name), "Test %s", user);
	snprintf(c->role, sizeof(c->role), "%s", role);
	snprintf(c->team, sizeof(c->team), "%s", team != NULL ? team : "");
	if (inst != NULL) {
		snprintf(c->institutions[0], sizeof(c->institutions[0]), "%s", inst);
		c->n_institutions = 1;
	}
	memcpy(c->sign_pk, d->sign_pk, 32);
	memcpy(c->box_pk, d->box_pk, 32);
	c->not_before = now - 600;
	c->not_after = now + 86400;
	CHECK_EQ_INT(proto_cert_sign(c, sk), VARSKO_OK);
}

static json_t *cert_obj(const struct proto_cert *c)
{
	char *text = NULL;
	json_t *o;

	CHECK_EQ_INT(proto_cert_to_json(c, &text), VARSKO_OK);
	o = json_loads(text, 0, NULL);
	free(text);
	return o;
}

static void follow_sign(struct chain_link *l, struct chain_head *head, const uint8_t *sk)
{
	chain_link_follow(l, head);
	CHECK_EQ_INT(chain_link_sign(l, sk), VARSKO_OK);
	head->seq = l->seq;
	CHECK_EQ_INT(chain_link_hash(l, head->hash), VARSKO_OK);
}

/* One thread user: a device, a user key (generation 1), a user chain of uk_create, its certificate. */
struct person {
	const char *user;
	struct dev d;
	struct keybox_gen *g;
	struct proto_cert cert;
	struct tuser tu;
};

static void person_make(struct person *p, const char *user, const char *role, const char *team, const char *inst)
{
	struct chain_link l;
	struct chain_head h;
	struct userkey_chain *uc = malloc(sizeof(*uc));
	json_t *links = json_array(), *certs = json_array(), *o;
	char detail[256];

	CHECK(uc != NULL);
	p->user = user;
	dev_new(&p->d);
	CHECK_EQ_INT(keybox_gen_new(&p->g, KEYBOX_USER, 1), VARSKO_OK);
	memset(&l, 0, sizeof(l));
	memset(&h, 0, sizeof(h));
	l.kind = CHAIN_KIND_USER;
	l.op = CHAIN_OP_UK_CREATE;
	snprintf(l.chain, sizeof(l.chain), "%s", user);
	snprintf(l.device, sizeof(l.device), "%s", p->d.id);
	memcpy(l.device_sign_pk, p->d.sign_pk, 32);
	memcpy(l.device_box_pk, p->d.box_pk, 32);
	l.generation = 1;
	memcpy(l.uk_sign_pk, p->g->sign_pk, 32);
	memcpy(l.uk_box_pk, p->g->box_pk, 32);
	l.time = now - 60;
	follow_sign(&l, &h, p->d.sign_sk);
	CHECK_EQ_INT(chain_link_to_json(&l, &o), VARSKO_OK);
	json_array_append_new(links, o);
	cert_make(&p->cert, &p->d, user, role, team, inst, org_sk);
	json_array_append_new(certs, cert_obj(&p->cert));
	CHECK_EQ_INT(userkey_chain_check(links, certs, user, org_pk, now, uc, detail, sizeof(detail)), VARSKO_OK);
	CHECK(uc->has_cert);
	CHECK_EQ_STR(uc->cert.role, role);
	tuser_from_chain(uc, &p->tu);
	json_decref(links);
	json_decref(certs);
	free(uc);
}

static void person_free(struct person *p)
{
	keybox_gen_free(p->g);
}

static void test_admits(void)
{
	struct dev d;
	struct proto_cert c;
	const char *teams[] = {TEAM};
	char why[200];

	dev_new(&d);
	cert_make(&c, &d, ANNA, "fagperson", NULL, INST, org_sk);
	CHECK(tchain_admits(INST, CHAIN_ROLE_FAGPERSON, &c, NULL, 0, why, sizeof(why)));
	CHECK(!tchain_admits("inst-syd", CHAIN_ROLE_FAGPERSON, &c, NULL, 0, why, sizeof(why)));
	CHECK(strstr(why, "inst-syd") != NULL);
	/* The role in the link must be the certificate's. */
	CHECK(!tchain_admits(INST, CHAIN_ROLE_RAADGIVER, &c, NULL, 0, why, sizeof(why)));
	CHECK(!tchain_admits(INST, CHAIN_ROLE_FAGPERSON, NULL, NULL, 0, why, sizeof(why)));
	cert_make(&c, &d, SOFIE, "raadgiver", TEAM, INST, org_sk);
	CHECK(tchain_admits(INST, CHAIN_ROLE_RAADGIVER, &c, NULL, 0, why, sizeof(why)));
	CHECK(!tchain_admits("inst-syd", CHAIN_ROLE_RAADGIVER, &c, NULL, 0, why, sizeof(why)));
	/* A leder: only with a rådgiver of the leder's team in the thread. */
	cert_make(&c, &d, THOMAS, "leder", TEAM, NULL, org_sk);
	CHECK(tchain_admits(INST, CHAIN_ROLE_LEDER, &c, teams, 1, why, sizeof(why)));
	CHECK(!tchain_admits(INST, CHAIN_ROLE_LEDER, &c, NULL, 0, why, sizeof(why)));
	cert_make(&c, &d, THOMAS, "leder", "team-syd", NULL, org_sk);
	CHECK(!tchain_admits(INST, CHAIN_ROLE_LEDER, &c, teams, 1, why, sizeof(why)));
	/* Nobody else: myndighed, agent, admin, even listing the institution. */
	cert_make(&c, &d, "myndighed-lene", "myndighed", TEAM, INST, org_sk);
	CHECK(!tchain_admits(INST, CHAIN_ROLE_MYNDIGHED, &c, teams, 1, why, sizeof(why)));
	CHECK(!tchain_admits(INST, CHAIN_ROLE_FAGPERSON, &c, teams, 1, why, sizeof(why)));
	cert_make(&c, &d, "agent-nord", "agent", TEAM, INST, org_sk);
	CHECK(!tchain_admits(INST, CHAIN_ROLE_AGENT, &c, teams, 1, why, sizeof(why)));
}

static void test_ids(void)
{
	char a[THREAD_ID_LEN + 1], b[THREAD_ID_LEN + 1], m[THREAD_MSG_ID_LEN + 1];

	for (int i = 0; i < 50; i++) {
		tchain_new_id("T-", a);
		tchain_new_id("T-", b);
		tchain_new_id("M-", m);
		CHECK(thread_id_valid(a));
		CHECK(thread_message_id_valid(m));
		CHECK(!thread_message_id_valid(a));
		CHECK(strcmp(a, b) != 0);
	}
}

static void test_plain(void)
{
	struct proto_buf b;
	json_t *o = NULL;
	char long_title[TMSG_TITLE_MAX + 2], *big;

	proto_buf_init(&b);
	CHECK_EQ_INT(tmsg_plain_encode("Hej Sofie,\n\tæøå \"citat\" \\", "Bekymring – 3.b", &b), VARSKO_OK);
	CHECK_EQ_STR((const char *)b.p, "{\"text\":\"Hej Sofie,\\n\\tæøå \\\"citat\\\" \\\\\",\"title\":\"Bekymring – 3.b\"}");
	CHECK_EQ_INT(tmsg_plain_decode(b.p, b.len, &o), VARSKO_OK);
	CHECK_EQ_STR(json_string_value(json_object_get(o, "text")), "Hej Sofie,\n\tæøå \"citat\" \\");
	CHECK_EQ_STR(json_string_value(json_object_get(o, "title")), "Bekymring – 3.b");
	json_decref(o);
	proto_buf_free(&b);
	proto_buf_init(&b);
	CHECK_EQ_INT(tmsg_plain_encode("kun tekst", NULL, &b), VARSKO_OK);
	CHECK_EQ_STR((const char *)b.p, "{\"text\":\"kun tekst\"}");
	proto_buf_free(&b);
	/* What a sender refuses: an empty text, control characters, a title on two lines or too long. */
	proto_buf_init(&b);
	CHECK_EQ_INT(tmsg_plain_encode("", NULL, &b), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(tmsg_plain_encode("a\x1b[2Jb", NULL, &b), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(tmsg_plain_encode("a", "to\nlinjer", &b), VARSKO_ERR_BAD_INPUT);
	memset(long_title, 'x', sizeof(long_title) - 1);
	long_title[sizeof(long_title) - 1] = '\0';
	CHECK_EQ_INT(tmsg_plain_encode("a", long_title, &b), VARSKO_ERR_BAD_INPUT);
	long_title[TMSG_TITLE_MAX] = '\0';
	CHECK_EQ_INT(tmsg_plain_encode("a", long_title, &b), VARSKO_OK);
	proto_buf_free(&b);
	big = malloc(TMSG_TEXT_MAX + 2);
	memset(big, 'y', TMSG_TEXT_MAX + 1);
	big[TMSG_TEXT_MAX + 1] = '\0';
	CHECK(!tmsg_text_valid(big, TMSG_TEXT_MAX + 1));
	CHECK(tmsg_text_valid(big, TMSG_TEXT_MAX));
	free(big);
	/* What a reader refuses: anything but {"text"} and an optional "title". */
	static const char *const bad[] = {
	        "{}", "{\"text\":\"\"}", "{\"text\":1}", "{\"text\":\"a\",\"x\":1}", "{\"text\":\"a\",\"title\":\"\"}",
	        "{\"text\":\"a\",\"title\":2}", "[\"text\"]", "{\"text\":\"a\"} x", "{\"text\":\"a\",\"text\":\"b\"}",
	        "{\"title\":\"a\"}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_EQ_INT(tmsg_plain_decode((const uint8_t *)bad[i], strlen(bad[i]), &o), VARSKO_ERR_BAD_FRAME);
		CHECK(o == NULL);
	}
}

/* A thread of ANNA (creator) with SOFIE and THOMAS, verified into a struct tchain the way tchain_of() leaves it. */
struct fixture {
	struct person p[3]; /* anna, sofie, thomas */
	struct tchain t;
	struct chain_link links[8];
};

static void link_add(struct fixture *f, size_t i, enum chain_op op, const struct person *who, const struct person *by,
                     struct chain_head *h)
{
	struct chain_link *l = &f->links[i];

	memset(l, 0, sizeof(*l));
	l->kind = CHAIN_KIND_THREAD;
	l->op = op;
	snprintf(l->chain, sizeof(l->chain), "%s", f->t.st.thread);
	snprintf(l->user, sizeof(l->user), "%s", who->user);
	if (op == CHAIN_OP_THREAD_CREATE || op == CHAIN_OP_THREAD_MEMBER_ADD) {
		l->role = strcmp(who->cert.role, "fagperson") == 0   ? CHAIN_ROLE_FAGPERSON
		          : strcmp(who->cert.role, "raadgiver") == 0 ? CHAIN_ROLE_RAADGIVER
		                                                     : CHAIN_ROLE_LEDER;
		l->generation = 1;
		memcpy(l->uk_sign_pk, who->g->sign_pk, 32);
	}
	if (op == CHAIN_OP_THREAD_CREATE)
		snprintf(l->institution, sizeof(l->institution), INST);
	l->time = now - 30 + (int64_t)i;
	follow_sign(l, h, by->g->sign_sk);
}

/* Links: 1 create (anna), 2 add sofie, 3 add thomas, 4 remove thomas (by sofie), 5 add thomas again. */
static void fixture_make(struct fixture *f)
{
	struct chain_head h;
	size_t bad = 0;
	char thread[THREAD_ID_LEN + 1];

	memset(f, 0, sizeof(*f));
	person_make(&f->p[0], ANNA, "fagperson", NULL, INST);
	person_make(&f->p[1], SOFIE, "raadgiver", TEAM, INST);
	person_make(&f->p[2], THOMAS, "leder", TEAM, NULL);
	tchain_new_id("T-", thread);
	snprintf(f->t.st.thread, sizeof(f->t.st.thread), "%s", thread);
	memset(&h, 0, sizeof(h));
	link_add(f, 0, CHAIN_OP_THREAD_CREATE, &f->p[0], &f->p[0], &h);
	link_add(f, 1, CHAIN_OP_THREAD_MEMBER_ADD, &f->p[1], &f->p[0], &h);
	link_add(f, 2, CHAIN_OP_THREAD_MEMBER_ADD, &f->p[2], &f->p[0], &h);
	link_add(f, 3, CHAIN_OP_THREAD_MEMBER_REMOVE, &f->p[2], &f->p[1], &h);
	link_add(f, 4, CHAIN_OP_THREAD_MEMBER_ADD, &f->p[2], &f->p[1], &h);
	memset(&f->t.st, 0, sizeof(f->t.st));
	CHECK_EQ_INT(chain_thread_verify(f->links, 5, thread, &f->t.st, &bad), VARSKO_OK);
	f->t.links = f->links;
	f->t.n_links = 5;
	f->t.users = calloc(3, sizeof(*f->t.users));
	for (size_t i = 0; i < 3; i++)
		f->t.users[tchain_user_index(&f->t, f->p[i].user)] = f->p[i].tu;
}

static void fixture_free(struct fixture *f)
{
	free(f->t.users);
	for (size_t i = 0; i < 3; i++)
		person_free(&f->p[i]);
}

static void test_present(void)
{
	struct fixture f;

	fixture_make(&f);
	CHECK(tchain_present_at(f.links, 5, ANNA, 1));
	CHECK(!tchain_present_at(f.links, 5, SOFIE, 1));
	CHECK(tchain_present_at(f.links, 5, SOFIE, 5));
	CHECK(tchain_present_at(f.links, 5, THOMAS, 3));
	CHECK(!tchain_present_at(f.links, 5, THOMAS, 4)); /* removed by link 4 */
	CHECK(tchain_present_at(f.links, 5, THOMAS, 5));  /* and added again */
	CHECK(!tchain_present_at(f.links, 5, "laerer-jonas", 5));
	CHECK_EQ_INT(tchain_user_index(&f.t, THOMAS), 2);
	fixture_free(&f);
}

/* A message of f's thread by person p's device at version, as a sender seals it; *env owned by the caller. */
static struct env_envelope *message(const struct fixture *f, const struct person *p, const char *thread,
                                    uint64_t version, const char *kind, const char *id)
{
	struct proto_buf routing, pt;
	struct env_params ep;
	struct env_recipient rc[3];
	char ids[3][KEYBOX_KEYID_MAX + 1];
	struct env_envelope *env = NULL;

	proto_buf_init(&routing);
	proto_buf_init(&pt);
	CHECK_EQ_INT(thread_routing_encode(thread, version, THREAD_MSG_TEXT, &routing), VARSKO_OK);
	CHECK_EQ_INT(tmsg_plain_encode("Hej", NULL, &pt), VARSKO_OK);
	for (size_t i = 0; i < 3; i++) {
		CHECK_EQ_INT(keybox_user_key_id(ids[i], f->p[i].user, 1), VARSKO_OK);
		rc[i].device = ids[i];
		memcpy(rc[i].box_pk, f->p[i].g->box_pk, 32);
	}
	memset(&ep, 0, sizeof(ep));
	ep.kind = kind;
	ep.object_id = id;
	ep.sender = p->d.id;
	ep.routing = routing.p;
	ep.routing_len = routing.len;
	CHECK_EQ_INT(env_seal(&ep, rc, 3, pt.p, pt.len, p->d.sign_sk, &env), VARSKO_OK);
	proto_buf_free(&routing);
	proto_buf_free(&pt);
	return env;
}

static int verify(const struct fixture *f, const struct env_envelope *env, const struct proto_cert *cert)
{
	struct tmsg_in in;
	char detail[256];

	memset(&in, 0, sizeof(in));
	in.seq = 3;
	in.received = now;
	in.env = env;
	in.cert = cert;
	return tmsg_verify(&f->t, org_pk, &in, detail, sizeof(detail));
}

static void test_verify(void)
{
	struct fixture f;
	struct env_envelope *env;
	struct proto_cert other;
	struct dev stranger;
	uint8_t osk[64], opk[32];
	char id[THREAD_MSG_ID_LEN + 1], other_thread[THREAD_ID_LEN + 1];

	fixture_make(&f);
	tchain_new_id("M-", id);
	tchain_new_id("T-", other_thread);
	/* Anna at version 5: shown. */
	env = message(&f, &f.p[0], f.t.st.thread, 5, "thread_message", id);
	CHECK_EQ_INT(verify(&f, env, &f.p[0].cert), VARSKO_OK);
	/* A signature that does not verify. */
	env->ct[0] ^= 1;
	CHECK_EQ_INT(verify(&f, env, &f.p[0].cert), VARSKO_ERR_BAD_SIGNATURE);
	env_free(env);
	/* Moved from another thread, sealed against a version the chain never had, another kind, no message id. */
	env = message(&f, &f.p[0], other_thread, 5, "thread_message", id);
	CHECK_EQ_INT(verify(&f, env, &f.p[0].cert), VARSKO_ERR_BAD_SIGNATURE);
	env_free(env);
	env = message(&f, &f.p[0], f.t.st.thread, 6, "thread_message", id);
	CHECK_EQ_INT(verify(&f, env, &f.p[0].cert), VARSKO_ERR_BAD_SIGNATURE);
	env_free(env);
	env = message(&f, &f.p[0], f.t.st.thread, 5, "underretning", id);
	CHECK_EQ_INT(verify(&f, env, &f.p[0].cert), VARSKO_ERR_BAD_SIGNATURE);
	env_free(env);
	env = message(&f, &f.p[0], f.t.st.thread, 5, "thread_message", "M-not-an-id");
	CHECK_EQ_INT(verify(&f, env, &f.p[0].cert), VARSKO_ERR_BAD_SIGNATURE);
	env_free(env);
	/* Thomas while removed (version 4): not a member then; at version 3 and 5 he was. */
	env = message(&f, &f.p[2], f.t.st.thread, 4, "thread_message", id);
	CHECK_EQ_INT(verify(&f, env, &f.p[2].cert), VARSKO_ERR_NOT_MEMBER);
	env_free(env);
	env = message(&f, &f.p[2], f.t.st.thread, 3, "thread_message", id);
	CHECK_EQ_INT(verify(&f, env, &f.p[2].cert), VARSKO_OK);
	env_free(env);
	/* The certificate shown is not the sender's, or from another organisation. */
	env = message(&f, &f.p[0], f.t.st.thread, 5, "thread_message", id);
	CHECK_EQ_INT(verify(&f, env, &f.p[1].cert), VARSKO_ERR_BAD_CERT);
	crypto_sign_keypair(opk, osk);
	cert_make(&other, &f.p[0].d, ANNA, "fagperson", NULL, INST, osk);
	CHECK_EQ_INT(verify(&f, env, &other), VARSKO_ERR_BAD_CERT);
	env_free(env);
	/* A device the organisation certified for anna but her user chain never cross-signed (an injected device). */
	dev_new(&stranger);
	cert_make(&other, &stranger, ANNA, "fagperson", NULL, INST, org_sk);
	{
		struct person fake = f.p[0];

		fake.d = stranger;
		env = message(&f, &fake, f.t.st.thread, 5, "thread_message", id);
		CHECK_EQ_INT(verify(&f, env, &other), VARSKO_ERR_NOT_CROSS_SIGNED);
		env_free(env);
	}
	fixture_free(&f);
}

static json_t *mark_obj(const struct fixture *f, const struct dev *d, const char *user, uint64_t seq, const char *msg,
                        const uint8_t hash[32], enum thread_receipt_kind kind)
{
	struct thread_mark mk;
	json_t *o = NULL;

	memset(&mk, 0, sizeof(mk));
	snprintf(mk.r.thread, sizeof(mk.r.thread), "%.*s", THREAD_ID_LEN, f->t.st.thread);
	mk.r.seq = seq;
	snprintf(mk.r.message, sizeof(mk.r.message), "%s", msg);
	memcpy(mk.r.envelope_hash, hash, 32);
	mk.r.kind = kind;
	snprintf(mk.r.user, sizeof(mk.r.user), "%s", user);
	snprintf(mk.r.device, sizeof(mk.r.device), "%s", d->id);
	mk.r.time = now;
	CHECK_EQ_INT(thread_receipt_sign(&mk.r, d->sign_sk, mk.sig), VARSKO_OK);
	CHECK_EQ_INT(thread_mark_to_json(&mk, &o), VARSKO_OK);
	return o;
}

static void test_marks(void)
{
	struct fixture f;
	struct thread_mark out;
	struct dev stranger;
	uint8_t hash[32], other[32];
	char id[THREAD_MSG_ID_LEN + 1];
	json_t *o;

	fixture_make(&f);
	tchain_new_id("M-", id);
	randombytes_buf(hash, sizeof(hash));
	memcpy(other, hash, 32);
	other[0] ^= 1;
	o = mark_obj(&f, &f.p[1].d, SOFIE, 3, id, hash, THREAD_RECEIPT_LAEST);
	CHECK_EQ_INT(tmsg_mark_check(&f.t, o, 3, id, hash, &out), VARSKO_OK);
	CHECK_EQ_INT(out.r.kind, THREAD_RECEIPT_LAEST);
	CHECK_EQ_STR(out.r.user, SOFIE);
	/* Shown for another message (seq, envelope): refused. */
	CHECK(tmsg_mark_check(&f.t, o, 4, id, hash, &out) != VARSKO_OK);
	CHECK(tmsg_mark_check(&f.t, o, 3, id, other, &out) != VARSKO_OK);
	/* Its signature broken. */
	json_object_set_new(o, "time", json_string("2020-01-01T00:00:00Z"));
	CHECK_EQ_INT(tmsg_mark_check(&f.t, o, 3, id, hash, &out), VARSKO_ERR_BAD_SIGNATURE);
	json_decref(o);
	/* By anna's device in sofie's name: not a device of sofie's chain. */
	o = mark_obj(&f, &f.p[0].d, SOFIE, 3, id, hash, THREAD_RECEIPT_LEVERET);
	CHECK_EQ_INT(tmsg_mark_check(&f.t, o, 3, id, hash, &out), VARSKO_ERR_NOT_CROSS_SIGNED);
	json_decref(o);
	/* A device no chain names, and a user who is no member of the thread. */
	dev_new(&stranger);
	o = mark_obj(&f, &stranger, SOFIE, 3, id, hash, THREAD_RECEIPT_LEVERET);
	CHECK_EQ_INT(tmsg_mark_check(&f.t, o, 3, id, hash, &out), VARSKO_ERR_NOT_CROSS_SIGNED);
	json_decref(o);
	o = mark_obj(&f, &stranger, "laerer-jonas", 3, id, hash, THREAD_RECEIPT_LEVERET);
	CHECK_EQ_INT(tmsg_mark_check(&f.t, o, 3, id, hash, &out), VARSKO_ERR_NOT_CROSS_SIGNED);
	json_decref(o);
	/* Not a mark at all. */
	o = json_pack("{s:s}", "kind", "laest");
	CHECK_EQ_INT(tmsg_mark_check(&f.t, o, 3, id, hash, &out), VARSKO_ERR_BAD_FRAME);
	json_decref(o);
	fixture_free(&f);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	now = (int64_t)time(NULL);
	crypto_sign_keypair(org_pk, org_sk);
	test_admits();
	test_ids();
	test_plain();
	test_present();
	test_verify();
	test_marks();
	return check_result();
}

/*
 * catalogue.h: the Danish texts of the error codes (clients/catalogue/da.json,
 * generated into catalogue.c by gen.py at build time). Read through
 * varsko_text() and varsko_next_step() (varsko.h).
 */
#ifndef VARSKO_CATALOGUE_H
#define VARSKO_CATALOGUE_H

#include <stddef.h>

struct catalogue_entry {
	int code;         /* VARSKO_OK or a VARSKO_ERR_* */
	const char *name; /* the stable wire name */
	const char *text; /* what happened, for people (Danish) */
	const char *next; /* what to do next (Danish), or "" */
};

extern const struct catalogue_entry varsko_catalogue[];
extern const size_t varsko_catalogue_len;

/* key -> Danish text; each list ends with {NULL, NULL}. */
struct catalogue_pair {
	const char *key;
	const char *text;
};
extern const struct catalogue_pair varsko_doc_problems[]; /* uh_problem_name() -> what is wrong */
extern const struct catalogue_pair varsko_doc_forms[];    /* field path ("parents[].phone") -> its right form */
extern const struct catalogue_pair varsko_doc_missing[];  /* field path -> what to add when it is missing */
extern const struct catalogue_pair varsko_notices[];      /* a status that is no error -> its text, one {placeholder} */
extern const struct catalogue_pair varsko_unreachable[];  /* why the server cannot be reached; the akut advice */
extern const struct catalogue_pair varsko_steps[];        /* a timeline step (event kind) -> its name */

#endif

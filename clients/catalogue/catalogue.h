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

#endif

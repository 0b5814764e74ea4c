/*
 * utf8.h: the one UTF-8 validator (RFC 3629, strict): no overlong forms, no
 * surrogates (U+D800..U+DFFF), nothing above U+10FFFF, no truncated
 * sequence. Pure; any thread.
 */
#ifndef VARSKO_PROTO_UTF8_H
#define VARSKO_PROTO_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Refuse C0 controls (U+0000..U+001F), DEL (U+007F) and C1 controls (U+0080..U+009F). */
#define PROTO_UTF8_NO_CTRL 0x1u
/* With PROTO_UTF8_NO_CTRL: still allow line feed and tab (message texts). */
#define PROTO_UTF8_LF_TAB 0x2u

/*
 * Length (1..4) of the well-formed UTF-8 sequence at s[0..n), with its code
 * point in *cp (cp may be NULL); 0 when there is none (n == 0, a bad or
 * truncated sequence, an overlong form, a surrogate, past U+10FFFF).
 */
size_t proto_utf8_next(const void *s, size_t n, uint32_t *cp);

/* 1 when s[0..n) is strict UTF-8 and passes flags (PROTO_UTF8_*), else 0. s may be NULL only when n is 0. */
int proto_utf8_valid(const void *s, size_t n, unsigned flags);

#endif

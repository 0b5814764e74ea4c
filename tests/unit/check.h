/*
 * check.h: the few assertion macros the unit tests share. A failed CHECK
 * prints file:line and the expression and counts a failure; the test's main
 * returns check_result() (0 when nothing failed, 1 otherwise).
 */
#ifndef VARSKO_CHECK_H
#define VARSKO_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_failures_;
static int check_count_;

#define CHECK(expr)                                                                  \
	do {                                                                         \
		check_count_++;                                                      \
		if (!(expr)) {                                                       \
			check_failures_++;                                           \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #expr); \
		}                                                                    \
	} while (0)

#define CHECK_EQ_INT(a, b)                                                           \
	do {                                                                         \
		long long a_ = (long long)(a), b_ = (long long)(b);                   \
		check_count_++;                                                      \
		if (a_ != b_) {                                                      \
			check_failures_++;                                           \
			fprintf(stderr, "%s:%d: %s == %lld, expected %s == %lld\n", __FILE__, __LINE__, #a, a_, \
			        #b, b_);                                             \
		}                                                                    \
	} while (0)

#define CHECK_EQ_STR(a, b)                                                           \
	do {                                                                         \
		const char *a_ = (a), *b_ = (b);                                     \
		check_count_++;                                                      \
		if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0) {               \
			check_failures_++;                                           \
			fprintf(stderr, "%s:%d: %s == \"%s\", expected \"%s\"\n", __FILE__, __LINE__, #a, \
			        a_ ? a_ : "(null)", b_ ? b_ : "(null)");             \
		}                                                                    \
	} while (0)

/*
 * The exit status of a test: 1 when a check failed, and also when no check
 * ran at all (a test that cannot run exits 77 and says why instead).
 */
static inline int check_result(void)
{
	fprintf(stderr, "%d checks, %d failed\n", check_count_, check_failures_);
	if (check_count_ == 0) {
		fprintf(stderr, "no check ran\n");
		return 1;
	}
	return check_failures_ ? 1 : 0;
}

#endif

/*
 * ctl_deadline.h: `varskoctl deadline`, the legal deadlines of an
 * underretning computed from the command line (no configuration, no
 * database). gateway/ctl.c dispatches to it.
 */
#ifndef VARSKO_CTL_DEADLINE_H
#define VARSKO_CTL_DEADLINE_H

/*
 * Run `varskoctl deadline ARGS`; argv[0] is "deadline" (borrowed, not kept).
 * Prints one JSON object to stdout, or "varskoctl: <message> (<error name>)"
 * to stderr. Returns the process exit code: 0 on success and for --help, 1 for
 * bad input (a time that does not parse or has no offset, a bad number of
 * days, a year outside the calendar's range), 2 for a usage error (unknown
 * option, missing value, missing --received).
 */
int ctl_deadline(int argc, char **argv);

#endif

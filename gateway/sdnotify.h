/*
 * sdnotify.h: systemd's readiness and watchdog protocol (sd_notify(3)),
 * spoken directly, without libsystemd: one datagram to the AF_UNIX socket
 * named by $NOTIFY_SOCKET (a path, or "@name" in the abstract namespace).
 * Without $NOTIFY_SOCKET (not started by systemd, or Type= is not notify)
 * every call does nothing. Safe from any thread; never blocks.
 */
#ifndef VARSKO_SDNOTIFY_H
#define VARSKO_SDNOTIFY_H

#include <stdint.h>

/* Send `state` ("READY=1", "STOPPING=1", "WATCHDOG=1", "STATUS=..."). 0 sent or nobody to tell, -1 failed. */
int sdnotify(const char *state);

/*
 * The watchdog interval systemd expects keep-alives within (WatchdogSec=),
 * in microseconds, from $WATCHDOG_USEC when $WATCHDOG_PID is unset or this
 * process; 0 when there is no watchdog.
 */
uint64_t sdnotify_watchdog_usec(void);

#endif

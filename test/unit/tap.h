/*
 * tap.h
 *	  A minimal TAP-style reporter for the core's unit tests: each check
 *	  prints "ok N - what" or "not ok N - what"; tap_done() returns the exit
 *	  status (1 when anything failed).
 */
#ifndef AA_TAP_H
#define AA_TAP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

static int	tap_count = 0;
static int	tap_failures = 0;

/* Report one check; returns the condition so callers can add detail. */
static inline bool
tap_ok(bool condition, const char *what, ...)
{
	va_list		args;

	tap_count++;
	if (!condition)
		tap_failures++;
	printf("%s %d - ", condition ? "ok" : "not ok", tap_count);
	va_start(args, what);
	vprintf(what, args);
	va_end(args);
	printf("\n");
	return condition;
}

/* Report one check whose description is plain text, not a format. */
static inline bool
tap_check(bool condition, const char *what)
{
	return tap_ok(condition, "%s", what);
}

/* Report a check that could not run, and why; it counts as neither. */
static inline void
tap_skip(const char *what, const char *why)
{
	tap_count++;
	printf("ok %d - %s # SKIP %s\n", tap_count, what, why);
}

/* Print the plan line and return the process exit status. */
static inline int
tap_done(void)
{
	printf("1..%d\n", tap_count);
	return tap_failures > 0 ? 1 : 0;
}

#endif

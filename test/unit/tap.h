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
static bool
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

/* Print the plan line and return the process exit status. */
static int
tap_done(void)
{
	printf("1..%d\n", tap_count);
	return tap_failures > 0 ? 1 : 0;
}

#endif

/*-------------------------------------------------------------------------
 *
 * casefold.h
 *	  Unicode-aware lower-casing of UTF-8 strings for the core.
 *
 * ASCII takes a fast path (but for the capital I of Turkish and Azeri);
 * anything else goes through ICU's full lower-case mapping (u_strToLower),
 * which is what makes "ÉCOLE" come out as "école" and Greek "ΟΔΟΣ" as
 * "οδος" with a final sigma.  The output is written into a caller-owned
 * growable buffer.
 *
 * This file is part of the core: it includes no PostgreSQL header.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AA_CASEFOLD_H
#define AA_CASEFOLD_H

#include <stdbool.h>
#include <stddef.h>

/* A growable byte buffer owned by its user; free it with aa_buf_free. */
typedef struct AaBuf
{
	char	   *data;
	size_t		len;
	size_t		cap;
} AaBuf;

/* Make room for at least need bytes; false when malloc fails. */
extern bool aa_buf_reserve(AaBuf *buf, size_t need);
extern void aa_buf_free(AaBuf *buf);

/*
 * Lower-case s[0 .. len) into out (replacing its contents; out->data is
 * NUL-terminated on success).  locale is an ICU locale such as "" (root),
 * "tr" or "lt", which matters for the dotted and dotless i.  Returns false
 * when memory runs out or ICU reports an error.
 */
extern bool aa_lower_utf8(const char *s, size_t len, const char *locale, AaBuf *out);

#endif							/* AA_CASEFOLD_H */

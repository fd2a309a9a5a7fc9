/*-------------------------------------------------------------------------
 *
 * casefold.c
 *	  Unicode-aware lower-casing of UTF-8 strings.
 *
 * Most news words are plain ASCII, so those are lower-cased byte by byte.
 * Anything else goes through ICU: UTF-8 to UTF-16, u_strToLower with the
 * language's locale (Turkish and Lithuanian treat the letter i specially,
 * and Greek needs the final sigma rule), and back.  ICU is what PostgreSQL
 * itself links for collations, so it is present wherever PostgreSQL is.
 *
 *-------------------------------------------------------------------------
 */
#include "casefold.h"

#include <stdlib.h>
#include <string.h>

#include <unicode/ustring.h>
#include <unicode/utypes.h>

/*
 * Grow buf so that it holds at least need bytes.  Sizes double, so that a
 * buffer reused across calls settles at the largest size it met.
 */
bool
aa_buf_reserve(AaBuf *buf, size_t need)
{
	size_t		newcap;
	char	   *newdata;

	if (need <= buf->cap)
		return true;
	newcap = buf->cap ? buf->cap : 64;
	while (newcap < need)
	{
		if (newcap > ((size_t) -1) / 2)
			return false;
		newcap *= 2;
	}
	newdata = realloc(buf->data, newcap);
	if (newdata == NULL)
		return false;
	buf->data = newdata;
	buf->cap = newcap;
	return true;
}

/* Release a buffer's memory and leave it empty and reusable. */
void
aa_buf_free(AaBuf *buf)
{
	free(buf->data);
	buf->data = NULL;
	buf->len = 0;
	buf->cap = 0;
}

/*
 * Lower-case through ICU: the slow path for text that is not pure ASCII.
 * Lengths are bounded by int32_t, ICU's own limit; longer input fails.
 */
static bool
lower_with_icu(const char *s, size_t len, const char *locale, AaBuf *out)
{
	UErrorCode	status = U_ZERO_ERROR;
	UChar	   *src = NULL;
	UChar	   *dst = NULL;
	int32_t		srclen;
	int32_t		dstlen;
	int32_t		outlen;
	bool		ok = false;

	if (len > (size_t) INT32_MAX / 4)
		return false;

	/* UTF-16 never needs more code units than UTF-8 has bytes */
	src = malloc(sizeof(UChar) * (len + 1));
	if (src == NULL)
		goto done;
	u_strFromUTF8WithSub(src, (int32_t) len + 1, &srclen, s, (int32_t) len,
						 0xFFFD, NULL, &status);
	if (U_FAILURE(status))
		goto done;

	/* full lower-casing can grow a string (U+0130 becomes two code points) */
	dstlen = srclen * 2 + 1;
	dst = malloc(sizeof(UChar) * dstlen);
	if (dst == NULL)
		goto done;
	dstlen = u_strToLower(dst, dstlen, src, srclen, locale, &status);
	if (U_FAILURE(status))
		goto done;

	/* each UTF-16 code unit becomes at most three UTF-8 bytes */
	if (!aa_buf_reserve(out, (size_t) dstlen * 3 + 1))
		goto done;
	u_strToUTF8(out->data, (int32_t) out->cap, &outlen, dst, dstlen, &status);
	if (U_FAILURE(status))
		goto done;
	out->len = (size_t) outlen;
	out->data[out->len] = '\0';
	ok = true;

done:
	free(src);
	free(dst);
	return ok;
}

/*
 * Lower-case s[0 .. len) into out.  See casefold.h.
 */
bool
aa_lower_utf8(const char *s, size_t len, const char *locale, AaBuf *out)
{
	size_t		i;

	/* in Turkish and Azeri, capital I lower-cases to dotless i */
	bool		dotless_i = locale != NULL &&
		(strcmp(locale, "tr") == 0 || strcmp(locale, "az") == 0);

	if (!aa_buf_reserve(out, len + 1))
		return false;
	for (i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if (c >= 0x80 || (dotless_i && c == 'I'))
			return lower_with_icu(s, len, locale ? locale : "", out);
		out->data[i] = (c >= 'A' && c <= 'Z') ? (char) (c + ('a' - 'A')) : (char) c;
	}
	out->len = len;
	out->data[len] = '\0';
	return true;
}

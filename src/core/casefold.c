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

/* Words up to this many UTF-16 code units are lower-cased on the stack. */
#define AA_ICU_STACK_UNITS 128

/*
 * Lower-case through ICU: the slow path for text that is not pure ASCII.
 * Lengths are bounded by int32_t, ICU's own limit; longer input fails.
 * Short words (nearly all of them) use stack buffers, so the common case
 * costs no malloc.
 */
static bool
lower_with_icu(const char *s, size_t len, const char *locale, AaBuf *out)
{
	UErrorCode	status = U_ZERO_ERROR;
	UChar		srcbuf[AA_ICU_STACK_UNITS];
	UChar		dstbuf[AA_ICU_STACK_UNITS * 2];
	UChar	   *src = srcbuf;
	UChar	   *dst = dstbuf;
	int32_t		srclen;
	int32_t		dstlen;
	int32_t		outlen;
	bool		ok = false;

	if (len > (size_t) INT32_MAX / 4)
		return false;

	/* UTF-16 never needs more code units than UTF-8 has bytes */
	if (len + 1 > AA_ICU_STACK_UNITS)
	{
		src = malloc(sizeof(UChar) * (len + 1));
		if (src == NULL)
			goto done;
	}
	u_strFromUTF8WithSub(src, (int32_t) len + 1, &srclen, s, (int32_t) len,
						 0xFFFD, NULL, &status);
	if (U_FAILURE(status))
		goto done;

	/*
	 * Full lower-casing can grow a string: U+0130 becomes two code points,
	 * and Lithuanian turns each of U+00CC, U+00CD and U+0128 into three
	 * code units.  Guess twice the input; when ICU reports the guess too
	 * small (U_BUFFER_OVERFLOW_ERROR), it has also said how many code units
	 * it needs, so retry once with exactly that.
	 */
	dstlen = srclen * 2 + 1;
	if (dstlen > AA_ICU_STACK_UNITS * 2)
	{
		dst = malloc(sizeof(UChar) * dstlen);
		if (dst == NULL)
			goto done;
	}
	else
		dstlen = AA_ICU_STACK_UNITS * 2;
	outlen = u_strToLower(dst, dstlen, src, srclen, locale, &status);
	if (status == U_BUFFER_OVERFLOW_ERROR)
	{
		if (dst != dstbuf)
			free(dst);
		dst = NULL;
		if (outlen < 0 || outlen >= INT32_MAX)
			goto done;
		dstlen = outlen + 1;
		dst = malloc(sizeof(UChar) * dstlen);
		if (dst == NULL)
			goto done;
		status = U_ZERO_ERROR;
		outlen = u_strToLower(dst, dstlen, src, srclen, locale, &status);
	}
	if (U_FAILURE(status))
		goto done;
	dstlen = outlen;

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
	if (src != srcbuf)
		free(src);
	if (dst != dstbuf)
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

/*
 * fuzz_tokenizer.c
 *	  libFuzzer target for the core's text path: tokenize arbitrary bytes,
 *	  check the token invariants, and lower-case and stem every word in
 *	  English and Turkish (the stemmer with the deepest recursion).
 *	  Built and run by "make fuzz" (and briefly by "make test").
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stemmer.h"
#include "tokenizer.h"

static AaStemmerSet *stemmers = NULL;

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	AaTokenizer tz;
	AaToken		tok;
	size_t		last_end = 0;
	AaStemStatus status;
	AaStemmer  *english;
	AaStemmer  *turkish;

	if (stemmers == NULL)
		stemmers = aa_stemmer_set_create("/usr/share/postgresql/15/tsearch_data");
	english = aa_stemmer_set_get(stemmers, aa_language_lookup("en", 2), &status);
	turkish = aa_stemmer_set_get(stemmers, aa_language_lookup("tr", 2), &status);

	aa_tokenizer_init(&tz, (const char *) data, size);
	while (aa_tokenizer_next(&tz, &tok))
	{
		AaStemResult result;

		if (tok.byte_len == 0 || tok.byte_start < last_end ||
			tok.byte_start + tok.byte_len > size || tok.char_len > tok.byte_len)
			abort();
		last_end = tok.byte_start + tok.byte_len;
		if (tok.kind != AA_TOKEN_WORD)
			continue;
		if (aa_stemmer_stem(english, (const char *) data + tok.byte_start,
							tok.byte_len, &result) != AA_STEM_OK)
			abort();
		if (aa_stemmer_stem(turkish, (const char *) data + tok.byte_start,
							tok.byte_len, &result) != AA_STEM_OK)
			abort();
	}
	return 0;
}

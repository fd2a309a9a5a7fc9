/*-------------------------------------------------------------------------
 *
 * aa_stem.c
 *	  SQL functions for stemming: aa_stem, aa_stems, aa_term_counts and
 *	  aa_languages.
 *
 * The backend keeps one AaStemmerSet (see core/stemmer.h) for its whole
 * life, created on first use.  libstemmer allocates with malloc, so the set
 * is owned by a memory context of its own whose reset callback frees it:
 * nothing malloc'ed outlives the context.  Everything a single call needs
 * is palloc'ed, so an error or a cancel in the middle of a call leaks
 * nothing.
 *
 *-------------------------------------------------------------------------
 */
#include "aa_glue.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "core/casefold.h"
#include "core/tokenizer.h"

PG_FUNCTION_INFO_V1(aa_stem);
PG_FUNCTION_INFO_V1(aa_stems);
PG_FUNCTION_INFO_V1(aa_term_counts);
PG_FUNCTION_INFO_V1(aa_languages);

/* The backend's stemmers, and the context whose reset frees them. */
static AaStemmerSet *stemmer_set = NULL;
static MemoryContext stemmer_context = NULL;

/* The stems of one document, back to back, with their lengths. */
typedef struct StemList
{
	char	   *bytes;
	Size		nbytes;
	Size		bytes_cap;
	int32	   *lengths;
	int			count;
	int			count_cap;
} StemList;

/* Memory-context reset callback: give libstemmer's memory back. */
static void
release_stemmer_set(void *arg)
{
	aa_stemmer_set_destroy(stemmer_set);
	stemmer_set = NULL;
	stemmer_context = NULL;
}

/*
 * The backend's stemmer set, created on first use.  Stopwords come from
 * PostgreSQL's own tsearch_data folder, so that aa_stems drops the same
 * words as to_tsvector.
 */
static AaStemmerSet *
get_stemmer_set(void)
{
	char		sharepath[MAXPGPATH];
	char		stopword_dir[MAXPGPATH];
	MemoryContextCallback *callback;

	if (stemmer_set != NULL)
		return stemmer_set;

	get_share_path(my_exec_path, sharepath);
	snprintf(stopword_dir, sizeof(stopword_dir), "%s/tsearch_data", sharepath);

	stemmer_context = AllocSetContextCreate(TopMemoryContext,
											"article_analytics stemmers",
											ALLOCSET_SMALL_SIZES);
	stemmer_set = aa_stemmer_set_create(stopword_dir);
	if (stemmer_set == NULL)
	{
		MemoryContextDelete(stemmer_context);
		stemmer_context = NULL;
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory while creating the stemmers")));
	}
	callback = MemoryContextAlloc(stemmer_context, sizeof(MemoryContextCallback));
	callback->func = release_stemmer_set;
	callback->arg = NULL;
	MemoryContextRegisterResetCallback(stemmer_context, callback);
	return stemmer_set;
}

/* Raise the error that matches a core stemmer status. */
void
aa_report_stem_status(AaStemStatus status, const char *language)
{
	switch (status)
	{
		case AA_STEM_OK:
			return;
		case AA_STEM_NO_MEMORY:
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory while stemming")));
			break;
		case AA_STEM_STOPWORDS_UNREADABLE:
			ereport(ERROR,
					(errcode(ERRCODE_CONFIG_FILE_ERROR),
					 errmsg("could not read the stopword file of language \"%s\"",
							language),
					 errhint("Check the permissions of the .stop files in PostgreSQL's tsearch_data folder.")));
			break;
		case AA_STEM_UNKNOWN_LANGUAGE:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown stemming language \"%s\"", language)));
			break;
	}
}

/*
 * The stemmer for a language given by name or ISO code.  An unknown name
 * is SQLSTATE 22023, with every valid name in the hint.
 */
AaStemmer *
aa_stemmer_for(text *language)
{
	char	   *name = text_to_cstring(language);
	int			index = aa_language_lookup(name, strlen(name));
	AaStemStatus status;
	AaStemmer  *stemmer;

	if (index < 0)
	{
		char	   *names = aa_language_names();
		char	   *hint = pstrdup(names ? names : "");

		free(names);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown stemming language \"%s\"", name),
				 errhint("Valid languages are: %s.", hint)));
	}
	stemmer = aa_stemmer_set_get(get_stemmer_set(), index, &status);
	if (stemmer == NULL)
		aa_report_stem_status(status, name);
	pfree(name);
	return stemmer;
}

/*
 * True when UTF-8 text has an equivalent in the database encoding.  Always
 * true in UTF-8 and SQL_ASCII databases and for ASCII text; otherwise the
 * text is converted without raising (PostgreSQL 14 and later) or with the
 * error caught (13, whose conversions cannot be asked not to raise).
 */
static bool
utf8_fits_database(const char *utf8, size_t len)
{
	int			encoding = GetDatabaseEncoding();
	bool		ascii = true;
	bool		fits = true;

	if (encoding == PG_UTF8 || encoding == PG_SQL_ASCII)
		return true;
	for (size_t i = 0; i < len && ascii; i++)
		ascii = (utf8[i] & 0x80) == 0;
	if (ascii)
		return true;
#if PG_VERSION_NUM >= 140000
	{
		Oid			proc = FindDefaultConversionProc(PG_UTF8, encoding);
		int			destlen = (int) len * MAX_CONVERSION_GROWTH + 1;
		unsigned char *dest;

		if (!OidIsValid(proc))
			return false;
		dest = palloc(destlen);
		fits = pg_do_encoding_conversion_buf(proc, PG_UTF8, encoding,
											 (unsigned char *) utf8, (int) len,
											 dest, destlen, true) == (int) len;
		pfree(dest);
	}
#else
	{
		MemoryContext context = CurrentMemoryContext;

		PG_TRY();
		{
			(void) pg_any_to_server(utf8, (int) len, PG_UTF8);
		}
		PG_CATCH();
		{
			MemoryContextSwitchTo(context);
			FlushErrorState();
			fits = false;
		}
		PG_END_TRY();
	}
#endif
	return fits;
}

/*
 * Make sure a word's stem can be stored in the database encoding.  A stem
 * with a character the encoding lacks (Turkish lower-cases I to a dotless
 * i, which LATIN1 does not have; Lithuanian keeps a combining dot over an
 * accented i) is replaced by the word lower-cased without the language's
 * own rules (root locale) and unstemmed, or, when the encoding lacks a
 * character of that too (U+0130 lower-cases to i and a combining dot,
 * which LATIN5 lacks), by the word as written, which came from the
 * database and so always fits.  Every function that stems (aa_stem,
 * aa_stems, aa_term_counts) goes through here, so a word has one stem
 * everywhere, and no word is dropped or makes a whole document fail.
 */
static void
ensure_stem_fits(const char *word, size_t word_len, AaStemResult *stem)
{
	AaBuf		lowered = {0};
	char	   *copy = NULL;
	size_t		copy_len = 0;

	if (utf8_fits_database(stem->text, stem->len))
		return;
	if (aa_lower_utf8(word, word_len, "", &lowered))
	{
		copy = palloc(lowered.len + 1);
		memcpy(copy, lowered.data, lowered.len + 1);
		copy_len = lowered.len;
	}
	aa_buf_free(&lowered);
	if (copy == NULL)
		aa_report_stem_status(AA_STEM_NO_MEMORY, "");
	if (!utf8_fits_database(copy, copy_len))
	{
		copy = (char *) word;
		copy_len = word_len;
	}
	stem->text = copy;
	stem->len = copy_len;
}

/* Append one stem to the list, growing it geometrically. */
static void
stem_list_append(StemList *list, const char *stem, size_t len)
{
	if (list->count == list->count_cap)
	{
		if (list->count_cap >= (int) (MaxArraySize / 2))
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("document has too many words")));
		list->count_cap = list->count_cap ? list->count_cap * 2 : 256;
		list->lengths = list->lengths
			? repalloc_huge(list->lengths, list->count_cap * sizeof(int32))
			: palloc_extended(list->count_cap * sizeof(int32), MCXT_ALLOC_HUGE);
	}
	if (list->nbytes + len > list->bytes_cap)
	{
		Size		newcap = list->bytes_cap ? list->bytes_cap : 4096;

		while (newcap < list->nbytes + len)
			newcap *= 2;
		if (newcap > MaxAllocHugeSize)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("document has too many words")));
		list->bytes = list->bytes
			? repalloc_huge(list->bytes, newcap)
			: palloc_extended(newcap, MCXT_ALLOC_HUGE);
		list->bytes_cap = newcap;
	}
	memcpy(list->bytes + list->nbytes, stem, len);
	list->nbytes += len;
	list->lengths[list->count++] = (int32) len;
}

/*
 * Stem every word token of a UTF-8 document into list, in order.
 * Stopwords and clitics ("'s", "n't") are left out unless keep_stopwords;
 * numbers and punctuation are never stems.
 */
static void
stem_document(AaStemmer *stemmer, const char *language, const char *utf8,
			  size_t len, bool keep_stopwords, StemList *list)
{
	AaTokenizer tokenizer;
	AaToken		token;
	AaStemResult stem;
	uint64		ntokens = 0;

	aa_tokenizer_init(&tokenizer, utf8, len);
	while (aa_tokenizer_next(&tokenizer, &token))
	{
		AaStemStatus status;

		if (++ntokens % AA_INTERRUPT_INTERVAL == 0)
			CHECK_FOR_INTERRUPTS();
		if (token.kind != AA_TOKEN_WORD &&
			!(keep_stopwords && token.kind == AA_TOKEN_CLITIC))
			continue;
		status = aa_stemmer_stem(stemmer, utf8 + token.byte_start,
								 token.byte_len, &stem);
		if (status != AA_STEM_OK)
			aa_report_stem_status(status, language);
		if (stem.is_stopword && !keep_stopwords)
			continue;
		ensure_stem_fits(utf8 + token.byte_start, token.byte_len, &stem);
		stem_list_append(list, stem.text, stem.len);
	}
}

/*
 * Build a text[] straight from the stem list: one allocation of the
 * array's exact size, instead of one text datum per stem.
 */
static ArrayType *
stem_list_to_array(const StemList *list)
{
	Size		nbytes = ARR_OVERHEAD_NONULLS(1);
	ArrayType  *array;
	char	   *p;
	const char *src = list->bytes;
	int			i;

	if (list->count == 0)
		return construct_empty_array(TEXTOID);
	for (i = 0; i < list->count; i++)
		nbytes += INTALIGN(VARHDRSZ + list->lengths[i]);
	if (!AllocSizeIsValid(nbytes))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the stems of this document exceed the maximum array size"),
				 errhint("Use aa_term_counts, or split the document.")));

	array = (ArrayType *) palloc0(nbytes);
	SET_VARSIZE(array, nbytes);
	array->ndim = 1;
	array->dataoffset = 0;
	array->elemtype = TEXTOID;
	ARR_DIMS(array)[0] = list->count;
	ARR_LBOUND(array)[0] = 1;
	p = ARR_DATA_PTR(array);
	for (i = 0; i < list->count; i++)
	{
		int32		len = list->lengths[i];

		SET_VARSIZE(p, VARHDRSZ + len);
		memcpy(VARDATA(p), src, len);
		src += len;
		p += INTALIGN(VARHDRSZ + len);
	}
	return array;
}

/*
 * In a database that is not UTF-8, convert each stem back to the database
 * encoding; the list is rebuilt in place.
 */
static void
stem_list_to_server_encoding(StemList *list)
{
	StemList	converted = {0};
	const char *src = list->bytes;
	int			i;

	if (aa_database_is_utf8())
		return;
	for (i = 0; i < list->count; i++)
	{
		char	   *server = pg_any_to_server(src, list->lengths[i], PG_UTF8);

		stem_list_append(&converted, server,
						 server == src ? (size_t) list->lengths[i] : strlen(server));
		src += list->lengths[i];
	}
	*list = converted;
}

/*
 * aa_stem(word text, language text) returns text: the word lower-cased
 * and stemmed.  The whole argument is one word: it is not tokenized.
 */
Datum
aa_stem(PG_FUNCTION_ARGS)
{
	text	   *word = PG_GETARG_TEXT_PP(0);
	text	   *language = PG_GETARG_TEXT_PP(1);
	AaStemmer  *stemmer = aa_stemmer_for(language);
	size_t		len;
	const char *utf8 = aa_text_to_utf8(word, &len);
	AaStemResult stem;
	AaStemStatus status;

	status = aa_stemmer_stem(stemmer, utf8, len, &stem);
	if (status != AA_STEM_OK)
		aa_report_stem_status(status, text_to_cstring(language));
	ensure_stem_fits(utf8, len, &stem);
	PG_RETURN_TEXT_P(aa_utf8_to_text(stem.text, stem.len));
}

/*
 * aa_stems(document text, language text, keep_stopwords boolean) returns
 * text[]: the stems of the document's words in order.
 */
Datum
aa_stems(PG_FUNCTION_ARGS)
{
	text	   *document = PG_GETARG_TEXT_PP(0);
	text	   *language = PG_GETARG_TEXT_PP(1);
	bool		keep_stopwords = PG_GETARG_BOOL(2);
	AaStemmer  *stemmer = aa_stemmer_for(language);
	size_t		len;
	const char *utf8 = aa_text_to_utf8(document, &len);
	StemList	list = {0};

	stem_document(stemmer, text_to_cstring(language), utf8, len,
				  keep_stopwords, &list);
	stem_list_to_server_encoding(&list);
	PG_RETURN_ARRAYTYPE_P(stem_list_to_array(&list));
}

/* A stem's place in the list, for sorting. */
typedef struct StemRef
{
	const char *text;
	int32		len;
	int32		count;
} StemRef;

/* Order stems by their bytes, so equal stems become neighbours. */
static int
compare_stem_text(const void *a, const void *b)
{
	const StemRef *x = (const StemRef *) a;
	const StemRef *y = (const StemRef *) b;
	int			cmp = memcmp(x->text, y->text, Min(x->len, y->len));

	if (cmp != 0)
		return cmp;
	return (x->len > y->len) - (x->len < y->len);
}

/* Order counted stems by count, descending, then by their bytes. */
static int
compare_stem_count(const void *a, const void *b)
{
	const StemRef *x = (const StemRef *) a;
	const StemRef *y = (const StemRef *) b;

	if (x->count != y->count)
		return (x->count < y->count) - (x->count > y->count);
	return compare_stem_text(a, b);
}

/*
 * aa_term_counts(document text, language text) returns (term, count):
 * every stem of the document (stopwords dropped) with how often it
 * occurs, most frequent first.  Counting sorts the stems, which is
 * O(n log n) and needs no hash table that could outlive an error.
 */
Datum
aa_term_counts(PG_FUNCTION_ARGS)
{
	text	   *document = PG_GETARG_TEXT_PP(0);
	text	   *language = PG_GETARG_TEXT_PP(1);
	AaStemmer  *stemmer = aa_stemmer_for(language);
	TupleDesc	tupdesc;
	Tuplestorestate *store = aa_srf_materialize(fcinfo, &tupdesc);
	size_t		len;
	const char *utf8 = aa_text_to_utf8(document, &len);
	StemList	list = {0};
	StemRef    *refs;
	const char *src;
	int			nterms = 0;
	int			i;

	stem_document(stemmer, text_to_cstring(language), utf8, len, false, &list);
	if (list.count == 0)
		return (Datum) 0;

	refs = palloc_extended(sizeof(StemRef) * list.count, MCXT_ALLOC_HUGE);
	src = list.bytes;
	for (i = 0; i < list.count; i++)
	{
		refs[i].text = src;
		refs[i].len = list.lengths[i];
		refs[i].count = 1;
		src += list.lengths[i];
	}
	qsort(refs, list.count, sizeof(StemRef), compare_stem_text);
	for (i = 0; i < list.count; i++)
	{
		if (nterms > 0 && compare_stem_text(&refs[nterms - 1], &refs[i]) == 0)
			refs[nterms - 1].count++;
		else
			refs[nterms++] = refs[i];
	}
	CHECK_FOR_INTERRUPTS();
	qsort(refs, nterms, sizeof(StemRef), compare_stem_count);

	for (i = 0; i < nterms; i++)
	{
		Datum		values[2];
		bool		nulls[2] = {false, false};

		if (i % AA_INTERRUPT_INTERVAL == 0)
			CHECK_FOR_INTERRUPTS();
		values[0] = PointerGetDatum(aa_utf8_to_text(refs[i].text, refs[i].len));
		values[1] = Int32GetDatum(refs[i].count);
		tuplestore_putvalues(store, tupdesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * aa_languages() returns (language, iso_code, stopwords, entities): every
 * algorithm of the linked libstemmer, the ISO 639-1 code accepted as its
 * alias, whether PostgreSQL ships a stopword list for it, and whether
 * aa_entities and aa_tag have an entity model for it.
 */
Datum
aa_languages(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Tuplestorestate *store = aa_srf_materialize(fcinfo, &tupdesc);
	char		sharepath[MAXPGPATH];
	int			count = aa_language_count();
	int			i;

	get_share_path(my_exec_path, sharepath);
	for (i = 0; i < count; i++)
	{
		const AaLanguage *language = aa_language_at(i);
		char		path[MAXPGPATH];
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};

		snprintf(path, sizeof(path), "%s/tsearch_data/%s.stop", sharepath,
				 language->algorithm);
		values[0] = CStringGetTextDatum(language->algorithm);
		if (language->iso_code != NULL)
			values[1] = CStringGetTextDatum(language->iso_code);
		else
			nulls[1] = true;
		values[2] = BoolGetDatum(access(path, R_OK) == 0);
		values[3] = BoolGetDatum(aa_entity_language_has_model(language->iso_code));
		tuplestore_putvalues(store, tupdesc, values, nulls);
	}
	return (Datum) 0;
}

/*-------------------------------------------------------------------------
 *
 * aa_text.c
 *	  Encoding conversion and set-returning helpers shared by the glue.
 *
 * The core reads and writes UTF-8 only.  In a UTF-8 database the text is
 * handed over as it is; in any other encoding it is converted on the way
 * in and the results on the way out, as PostgreSQL's own snowball
 * dictionary does, so that a LATIN1 database gets the same stems.
 *
 *-------------------------------------------------------------------------
 */
#include "aa_glue.h"

#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"

/* True when the database encoding is UTF-8. */
bool
aa_database_is_utf8(void)
{
	return GetDatabaseEncoding() == PG_UTF8;
}

/*
 * True when text goes to and from the core without any conversion or
 * check: UTF-8 databases, and SQL_ASCII ones, whose text is any bytes.
 * There the core reads the bytes as UTF-8 where they are (SQL_ASCII
 * databases mostly hold UTF-8 written by UTF-8 clients), and a byte that
 * is not valid UTF-8 is a one-byte symbol token: nothing is refused.
 */
static bool
passes_through(void)
{
	int			encoding = GetDatabaseEncoding();

	return encoding == PG_UTF8 || encoding == PG_SQL_ASCII;
}

/*
 * True when positions (start_pos, length) count bytes rather than
 * characters: in a SQL_ASCII database, where substr and length count
 * bytes, so that substr(document, start_pos, length) is the token there
 * too.
 */
bool
aa_positions_count_bytes(void)
{
	return GetDatabaseEncoding() == PG_SQL_ASCII;
}

/*
 * The text's bytes as UTF-8: the datum's own bytes in a UTF-8 or
 * SQL_ASCII database (no copy, no check), a converted copy otherwise.
 */
const char *
aa_text_to_utf8(text *value, size_t *len)
{
	const char *data = VARDATA_ANY(value);
	int			nbytes = VARSIZE_ANY_EXHDR(value);
	char	   *converted;

	if (passes_through())
	{
		*len = (size_t) nbytes;
		return data;
	}
	converted = pg_server_to_any(data, nbytes, PG_UTF8);
	if (converted == data)
		*len = (size_t) nbytes;
	else
		*len = strlen(converted);
	return converted;
}

/* A text in the database encoding made from UTF-8 bytes. */
text *
aa_utf8_to_text(const char *utf8, size_t len)
{
	char	   *converted;
	text	   *result;

	if (passes_through())
		return cstring_to_text_with_len(utf8, (int) len);
	converted = pg_any_to_server(utf8, (int) len, PG_UTF8);
	if (converted == utf8)
		return cstring_to_text_with_len(utf8, (int) len);
	result = cstring_to_text(converted);
	pfree(converted);
	return result;
}

/*
 * Set up a materialized set-returning call.  Written out rather than using
 * InitMaterializedSRF so that the same code builds on PostgreSQL 13 and 14.
 *
 * A lateral call such as FROM articles a, aa_tokens(a.body) runs once per
 * row in one statement, and whatever a call leaves in per-query memory
 * stays there until the statement ends.  So the result type is worked out
 * once per call site (get_call_result_type allocates each time it runs)
 * and kept in fn_extra, in the call site's fn_mcxt.  Each call then puts
 * only two things in per-query memory: the tuplestore, which the executor
 * ends when it has read it, and a copy of the descriptor as setDesc,
 * which the executor frees after the call.  The descriptor returned in
 * *tupdesc is the cached one, for tuplestore_putvalues.
 */
Tuplestorestate *
aa_srf_materialize(FunctionCallInfo fcinfo, TupleDesc *tupdesc)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext oldcontext;
	Tuplestorestate *store;
	TupleDesc	cached;

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("set-valued function called in context that cannot accept a set")));
	if (!(rsinfo->allowedModes & SFRM_Materialize))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("materialize mode required, but it is not allowed in this context")));

	cached = (TupleDesc) fcinfo->flinfo->fn_extra;
	if (cached == NULL)
	{
		TupleDesc	resolved;

		/*
		 * Resolve in the caller's short-lived context; only the copy goes
		 * to fn_mcxt, once per call site.
		 */
		if (get_call_result_type(fcinfo, NULL, &resolved) != TYPEFUNC_COMPOSITE)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("function returning record called in context that cannot accept type record")));
		oldcontext = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
		cached = CreateTupleDescCopy(resolved);
		MemoryContextSwitchTo(oldcontext);
		fcinfo->flinfo->fn_extra = cached;
	}

	oldcontext = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	store = tuplestore_begin_heap(true, false, work_mem);
	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setResult = store;
	/* freed by the executor after this call (its tdrefcount is -1) */
	rsinfo->setDesc = CreateTupleDescCopy(cached);
	MemoryContextSwitchTo(oldcontext);
	*tupdesc = cached;
	return store;
}

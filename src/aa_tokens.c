/*-------------------------------------------------------------------------
 *
 * aa_tokens.c
 *	  aa_tokens(document): the shared tokenizer's output as rows.
 *
 *-------------------------------------------------------------------------
 */
#include "aa_glue.h"

#include "miscadmin.h"

#include "core/tokenizer.h"

PG_FUNCTION_INFO_V1(aa_tokens);

/*
 * aa_tokens(document text) returns (ordinal, token, start_pos, length).
 * Positions count characters from 1, as substr does, so that
 * substr(document, start_pos, length) = token for every row; in a
 * SQL_ASCII database substr counts bytes, and so do the positions.
 */
Datum
aa_tokens(PG_FUNCTION_ARGS)
{
	text	   *document = PG_GETARG_TEXT_PP(0);
	TupleDesc	tupdesc;
	Tuplestorestate *store = aa_srf_materialize(fcinfo, &tupdesc);
	size_t		len;
	const char *utf8 = aa_text_to_utf8(document, &len);
	AaTokenizer tokenizer;
	AaToken		token;
	int64		ordinal = 0;
	bool		in_bytes = aa_positions_count_bytes();

	aa_tokenizer_init(&tokenizer, utf8, len);
	while (aa_tokenizer_next(&tokenizer, &token))
	{
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};

		if (++ordinal % AA_INTERRUPT_INTERVAL == 0)
			CHECK_FOR_INTERRUPTS();
		if (ordinal > PG_INT32_MAX || token.byte_start >= PG_INT32_MAX)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("document has too many tokens for aa_tokens"),
					 errdetail("Positions and ordinals are of type integer.")));
		values[0] = Int32GetDatum((int32) ordinal);
		values[1] = PointerGetDatum(aa_utf8_to_text(utf8 + token.byte_start,
													token.byte_len));
		if (in_bytes)
		{
			values[2] = Int32GetDatum((int32) token.byte_start + 1);
			values[3] = Int32GetDatum((int32) token.byte_len);
		}
		else
		{
			values[2] = Int32GetDatum((int32) token.char_start + 1);
			values[3] = Int32GetDatum((int32) token.char_len);
		}
		tuplestore_putvalues(store, tupdesc, values, nulls);
		pfree(DatumGetPointer(values[1]));
	}
	return (Datum) 0;
}

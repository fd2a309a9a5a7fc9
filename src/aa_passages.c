/*-------------------------------------------------------------------------
 *
 * aa_passages.c
 *	  Passages two documents share: aa_shared_passages.
 *
 * The passages are found by the core (core/passages.h) on the UTF-8
 * texts; this file maps their positions to what substr counts and
 * returns the rows.
 *
 *-------------------------------------------------------------------------
 */
#include "aa_dup.h"

#include "miscadmin.h"

#include "core/passages.h"

PG_FUNCTION_INFO_V1(aa_shared_passages);

/*
 * aa_shared_passages(a, b, min_words) -> (a_start, a_length, b_start,
 * b_length, passage): runs of at least min_words shared words, positions
 * 1-based as substr counts them (characters; bytes in SQL_ASCII), passage
 * text from a.
 */
Datum
aa_shared_passages(PG_FUNCTION_ARGS)
{
	text	   *a = PG_GETARG_TEXT_PP(0);
	text	   *b = PG_GETARG_TEXT_PP(1);
	int32		min_words = PG_GETARG_INT32(2);
	size_t		alen,
				blen,
				count = 0;
	const char *autf8,
			   *butf8;
	AaPassage  *passages = NULL;
	AaPassage  *copy;
	TupleDesc	tupdesc;
	Tuplestorestate *store;

	if (min_words < 1 || min_words > AA_PASSAGE_MIN_WORDS_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("min_words must be between 1 and %d, not %d",
						AA_PASSAGE_MIN_WORDS_MAX, min_words)));
	autf8 = aa_text_to_utf8(a, &alen);
	butf8 = aa_text_to_utf8(b, &blen);
	aa_dup_report_status(aa_passages_find(autf8, alen, butf8, blen, min_words, &passages, &count),
						 "aa_shared_passages");
	/* move the result to palloc memory so no error below can leak it */
	copy = palloc((count + 1) * sizeof(AaPassage));
	if (count > 0)
		memcpy(copy, passages, count * sizeof(AaPassage));
	free(passages);

	store = aa_srf_materialize(fcinfo, &tupdesc);
	for (size_t i = 0; i < count; i++)
	{
		Datum		row[5];
		bool		nulls[5] = {false, false, false, false, false};

		if (i % AA_INTERRUPT_INTERVAL == 0)
			CHECK_FOR_INTERRUPTS();
		if (aa_positions_count_bytes())
		{
			row[0] = Int32GetDatum((int32) copy[i].a_byte_start + 1);
			row[1] = Int32GetDatum((int32) copy[i].a_byte_len);
			row[2] = Int32GetDatum((int32) copy[i].b_byte_start + 1);
			row[3] = Int32GetDatum((int32) copy[i].b_byte_len);
		}
		else
		{
			row[0] = Int32GetDatum((int32) copy[i].a_char_start + 1);
			row[1] = Int32GetDatum((int32) copy[i].a_char_len);
			row[2] = Int32GetDatum((int32) copy[i].b_char_start + 1);
			row[3] = Int32GetDatum((int32) copy[i].b_char_len);
		}
		row[4] = PointerGetDatum(aa_utf8_to_text(autf8 + copy[i].a_byte_start,
												 copy[i].a_byte_len));
		tuplestore_putvalues(store, tupdesc, row, nulls);
	}
	return (Datum) 0;
}

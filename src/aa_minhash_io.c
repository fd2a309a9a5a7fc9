/*-------------------------------------------------------------------------
 *
 * aa_minhash_io.c
 *	  Input and output of the minhash type: the text form (minhash_in,
 *	  minhash_out) and the binary form (minhash_recv, minhash_send).
 *
 * The text form is parsed and printed by the core (core/minhash.h); the
 * binary form is read and written here field by field.  The type has no
 * typmod.
 *
 *-------------------------------------------------------------------------
 */
#include "aa_dup.h"

#include "libpq/pqformat.h"

PG_FUNCTION_INFO_V1(aa_minhash_in);
PG_FUNCTION_INFO_V1(aa_minhash_out);
PG_FUNCTION_INFO_V1(aa_minhash_recv);
PG_FUNCTION_INFO_V1(aa_minhash_send);

/*
 * minhash_in: parse the text form "v1;k=..;n=..;seed=..;shingles=..;hex".
 * Anything malformed is 22P02 with a detail saying what was expected.
 */
Datum
aa_minhash_in(PG_FUNCTION_ARGS)
{
	char	   *input = PG_GETARG_CSTRING(0);
	AaMinhashHeader header;
	uint32_t   *values = NULL;
	const char *detail = NULL;
	AaDupStatus status;
	MinhashDatum *sketch;

	status = aa_minhash_from_text(input, strlen(input), &header, &values, &detail);
	if (status == AA_DUP_BAD_INPUT)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type minhash"),
				 errdetail("%s", detail ? detail : "The value is malformed.")));
	aa_dup_report_status(status, "minhash input");
	sketch = aa_new_minhash(header.num_perm);
	sketch->header = header;
	memcpy(sketch->values, values, header.num_perm * sizeof(uint32));
	free(values);
	PG_RETURN_POINTER(sketch);
}

/* minhash_out: the text form. */
Datum
aa_minhash_out(PG_FUNCTION_ARGS)
{
	MinhashDatum *sketch = aa_minhash_arg(fcinfo, 0);
	size_t		len = aa_minhash_text_length(&sketch->header);
	char	   *out = palloc(len + 1);

	aa_minhash_to_text(&sketch->header, sketch->values, out, len + 1);
	PG_RETURN_CSTRING(out);
}

/*
 * minhash_recv: version (int1), shingle size (int1), num_perm (int2), seed
 * (int4), distinct shingles (int4), then num_perm int4 slot values, all in
 * network byte order.
 */
Datum
aa_minhash_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	AaMinhashHeader header;
	MinhashDatum *sketch;

	memset(&header, 0, sizeof(header));
	header.version = (uint8) pq_getmsgint(buf, 1);
	header.shingle_size = (uint8) pq_getmsgint(buf, 1);
	header.num_perm = (uint16) pq_getmsgint(buf, 2);
	header.seed = (uint32) pq_getmsgint(buf, 4);
	header.num_shingles = (uint32) pq_getmsgint(buf, 4);
	if (aa_minhash_check_header(&header) != AA_DUP_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid external minhash value"),
				 errdetail("Unknown version %u or parameters out of range (num_perm=%u, shingle_size=%u).",
						   header.version, header.num_perm, header.shingle_size)));
	if (buf->len - buf->cursor != (int) (header.num_perm * sizeof(uint32)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid external minhash value"),
				 errdetail("Expected %u slot values.", header.num_perm)));
	sketch = aa_new_minhash(header.num_perm);
	sketch->header = header;
	for (int i = 0; i < header.num_perm; i++)
		sketch->values[i] = (uint32) pq_getmsgint(buf, 4);
	PG_RETURN_POINTER(sketch);
}

/* minhash_send: the binary form read by aa_minhash_recv. */
Datum
aa_minhash_send(PG_FUNCTION_ARGS)
{
	MinhashDatum *sketch = aa_minhash_arg(fcinfo, 0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendint8(&buf, sketch->header.version);
	pq_sendint8(&buf, sketch->header.shingle_size);
	pq_sendint16(&buf, sketch->header.num_perm);
	pq_sendint32(&buf, sketch->header.seed);
	pq_sendint32(&buf, sketch->header.num_shingles);
	for (int i = 0; i < sketch->header.num_perm; i++)
		pq_sendint32(&buf, sketch->values[i]);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/*-------------------------------------------------------------------------
 *
 * aa_glue.h
 *	  Declarations shared by the PostgreSQL glue files of article_analytics.
 *
 * The glue converts between the database encoding and the UTF-8 the core
 * works in, builds set-returning results and turns core failures into
 * ereport calls with the right SQLSTATE.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AA_GLUE_H
#define AA_GLUE_H

#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "utils/tuplestore.h"

#include "core/stemmer.h"

/* How often long loops check for a cancel request, in tokens or items. */
#define AA_INTERRUPT_INTERVAL 4096

/*
 * A text value's contents as UTF-8.  When the database is UTF-8 this is
 * the datum's own bytes (not NUL-terminated); otherwise a converted copy.
 */
extern const char *aa_text_to_utf8(text *value, size_t *len);

/* A new text value in the database encoding from UTF-8 bytes. */
extern text *aa_utf8_to_text(const char *utf8, size_t len);

/* True when the database encoding is UTF-8 (no conversions needed). */
extern bool aa_database_is_utf8(void);

/*
 * True when positions count bytes, not characters: in SQL_ASCII databases,
 * where substr counts bytes.
 */
extern bool aa_positions_count_bytes(void);

/*
 * Prepare a materialized set-returning call: checks that the caller
 * accepts a tuplestore, and returns it with the result's tuple descriptor.
 */
extern Tuplestorestate *aa_srf_materialize(FunctionCallInfo fcinfo,
										   TupleDesc *tupdesc);

/* The stemmer for a language name; errors (22023) for an unknown one. */
extern AaStemmer *aa_stemmer_for(text *language);

/* Raise the error matching a core stemmer status. */
extern void aa_report_stem_status(AaStemStatus status, const char *language);

/* The module's entry point (article_analytics.c). */
extern void _PG_init(void);

/*
 * Settings of the feature files, defined by _PG_init when the library
 * loads: article_analytics.ner_model (aa_entities.c) and
 * article_analytics.similarity_threshold (aa_minhash_sim.c).
 */
extern void aa_entities_init_gucs(void);
extern void aa_minhash_init_gucs(void);

/* Whether the language of an ISO 639-1 code has an entity model. */
extern bool aa_entity_language_has_model(const char *iso_code);

#endif							/* AA_GLUE_H */

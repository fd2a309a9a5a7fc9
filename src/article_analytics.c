/*-------------------------------------------------------------------------
 *
 * article_analytics.c
 *	  Module entry point of the article_analytics extension.
 *
 * Each feature file keeps its own state and settings; this file only
 * marks the library as a PostgreSQL module and lets the features register
 * their settings when the library is loaded.
 *
 *-------------------------------------------------------------------------
 */
#include "aa_glue.h"

#include "utils/guc.h"

PG_MODULE_MAGIC;

/*
 * Called once when a backend loads the library.  Settings are defined
 * here so that SET article_analytics.* works before any function runs.
 */
void
_PG_init(void)
{
	aa_entities_init_gucs();
	aa_minhash_init_gucs();
#if PG_VERSION_NUM >= 150000
	MarkGUCPrefixReserved("article_analytics");
#else
	EmitWarningsOnPlaceholders("article_analytics");
#endif
}

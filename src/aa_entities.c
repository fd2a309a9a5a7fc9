/*-------------------------------------------------------------------------
 *
 * aa_entities.c
 *	  aa_tag(tokens, language) and aa_entity_mentions(document, language):
 *	  the entity tagger of the core as SQL functions, and the setting
 *	  naming the English model file.
 *
 * Each language with an entity model (entity_languages: en, es, nl, pt,
 * de) has its own model file, loaded once per backend at the first call
 * in that language and kept until it changes: before each call, one
 * stat() of the path compares the file with the one that was read
 * (device, inode, size, modification and change times), and a different
 * file is loaded again.  Loading reads and checks the file, then maps
 * read-only a copy of it that the core keeps in
 * $PGDATA/pg_article_analytics (ner_model.h): every backend using the
 * same model maps the same copy, so its pages are shared, and nothing
 * done to the named file (truncated, rewritten in place, replaced) can
 * reach the mapping, so an upgrade that replaces the model while backends
 * run is picked up by each at its next call and never crashes one.  The
 * mapping belongs to a memory context under TopMemoryContext whose reset
 * callback unmaps it: changing article_analytics.ner_model drops the old
 * model and loads the new file at the next call.  A missing, truncated or
 * corrupt model file, or a path that is not a regular file, is reported as
 * an error naming the path, and so is a copy directory that cannot be
 * written or a full disk (the SQLSTATE of the file error); nothing is
 * cached then, so the next call tries again.
 *
 *-------------------------------------------------------------------------
 */
#include "aa_glue.h"

#include "catalog/pg_type.h"
#include "common/file_perm.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "core/ner_model.h"
#include "core/tagger.h"
#include "core/tokenizer.h"

PG_FUNCTION_INFO_V1(aa_tag);
PG_FUNCTION_INFO_V1(aa_entity_mentions);

/*
 * The languages with an entity model, by ISO 639-1 code: the model of
 * language CODE is installed as
 * share/extension/article_analytics_ner_CODE.model.
 * English comes first: its model is the one article_analytics.ner_model
 * names (by default the installed one); the others are always the
 * installed files.
 */
static const char *const entity_languages[] = {"en", "es", "nl", "pt", "de"};

#define AA_NUM_ENTITY_LANGUAGES lengthof(entity_languages)
#define AA_ENGLISH_ENTITY_LANGUAGE 0

/*
 * Directory of the shared copies of the models, in the data directory, and
 * how long a copy no backend maps and no backend loaded is kept: an hour,
 * so that a model loaded now and then is not copied at each load.
 */
#define AA_NER_MODEL_COPY_DIR "pg_article_analytics"
#define AA_NER_MODEL_COPY_UNUSED_SECONDS 3600

/* Longest run of tokens aa_tag decodes as one sequence. */
#define AA_TAG_MAX_SEQUENCE 1000

/* article_analytics.ner_model, and its default (computed in _PG_init). */
static char *ner_model_setting = NULL;
static char default_model_path[MAXPGPATH];

/*
 * The backend's copy of one language's model, if any, and the context
 * that owns it.  Each language's model is read at its first use in the
 * backend, so a backend that only tags English never reads the others.
 */
typedef struct LoadedModel
{
	MemoryContext context;		/* NULL when nothing is loaded */
	AaNerModel	model;
	char	   *path;
} LoadedModel;

static LoadedModel loaded_models[AA_NUM_ENTITY_LANGUAGES];

/*
 * The path of the installed model of a language (ISO code) in the
 * server's share/extension directory.
 */
static void
installed_model_path(const char *code, char *path, size_t size)
{
	char		share_path[MAXPGPATH];

	get_share_path(my_exec_path, share_path);
	snprintf(path, size, "%s/extension/article_analytics_ner_%s.model",
			 share_path, code);
}

/*
 * Define article_analytics.ner_model.  Superuser-only, because the
 * setting makes the server open a file of the user's choosing.  It names
 * the English model only; the other languages' models are the installed
 * files.
 */
void
aa_entities_init_gucs(void)
{
	installed_model_path("en", default_model_path, sizeof(default_model_path));
	DefineCustomStringVariable("article_analytics.ner_model",
							   "Path of the English entity tagger's model file.",
							   "Defaults to the model installed with the extension.  "
							   "The models of the other languages are always the installed ones.",
							   &ner_model_setting,
							   default_model_path,
							   PGC_SUSET,
							   0,
							   NULL, NULL, NULL);
}

/*
 * Reset callback of a language's model context: unmap the model when the
 * context goes.
 */
static void
release_model(void *arg)
{
	LoadedModel *slot = (LoadedModel *) arg;

	if (slot->model.image_mapped)
		ReleaseExternalFD();
	aa_ner_model_close(&slot->model);
	slot->path = NULL;
	slot->context = NULL;
}

/*
 * The SQLSTATE for a model loading failure: a missing file is
 * undefined_file, a path naming a FIFO, directory or device
 * wrong_object_type, a model of another format or feature version (an
 * older model left by an upgrade) feature_not_supported, a damaged file
 * data_corrupted.
 */
static int
model_status_sqlstate(AaNerModelStatus status)
{
	switch (status)
	{
		case AA_NER_MODEL_ERR_OPEN:
			return ERRCODE_UNDEFINED_FILE;
		case AA_NER_MODEL_ERR_NOT_FILE:
			return ERRCODE_WRONG_OBJECT_TYPE;
		case AA_NER_MODEL_ERR_NO_MEMORY:
			return ERRCODE_OUT_OF_MEMORY;
		case AA_NER_MODEL_ERR_VERSION:
			return ERRCODE_FEATURE_NOT_SUPPORTED;
		default:
			return ERRCODE_DATA_CORRUPTED;
	}
}

/*
 * Load the model file at path into *model as a shared mapping of its copy
 * in copy_dir, $PGDATA/pg_article_analytics (created with the data
 * directory's modes).  On AA_NER_MODEL_ERR_COPY (directory not writable,
 * disk full...) *copy_errno says why.  The caller closes *model with
 * aa_ner_model_close, from a memory-context reset callback.
 */
static AaNerModelStatus
open_model(const char *path, AaNerModel *model, char *copy_dir, int *copy_errno,
		   char *errmsg, size_t errmsg_len)
{
	AaNerModelCopyDir copies;

	snprintf(copy_dir, MAXPGPATH, "%s/%s", DataDir, AA_NER_MODEL_COPY_DIR);
	copies.path = copy_dir;
	copies.dir_mode = (unsigned int) pg_dir_create_mode;
	copies.file_mode = (unsigned int) pg_file_create_mode;
	copies.unused_seconds = AA_NER_MODEL_COPY_UNUSED_SECONDS;
	return aa_ner_model_open_shared(path, &copies, model, copy_errno,
									errmsg, errmsg_len);
}

/*
 * Whether the language of an ISO 639-1 code has an entity model:
 * aa_languages() reports it.
 */
bool
aa_entity_language_has_model(const char *iso_code)
{
	if (iso_code == NULL)
		return false;
	for (int i = 0; i < (int) AA_NUM_ENTITY_LANGUAGES; i++)
		if (strcmp(entity_languages[i], iso_code) == 0)
			return true;
	return false;
}

/*
 * The index in entity_languages of a language given by name or ISO code
 * as aa_stem takes them ("spanish", "es", "Spanish").  A language that is
 * unknown, or known but without an entity model, is SQLSTATE 22023 with
 * the languages that have one in the hint.
 */
static int
entity_language_index(text *language)
{
	char	   *name = text_to_cstring(language);
	int			index = aa_language_lookup(name, strlen(name));
	const AaLanguage *known = index >= 0 ? aa_language_at(index) : NULL;
	StringInfoData hint;

	if (known != NULL && known->iso_code != NULL)
		for (int i = 0; i < (int) AA_NUM_ENTITY_LANGUAGES; i++)
			if (strcmp(entity_languages[i], known->iso_code) == 0)
			{
				pfree(name);
				return i;
			}
	initStringInfo(&hint);
	for (int i = 0; i < (int) AA_NUM_ENTITY_LANGUAGES; i++)
	{
		int			l = aa_language_lookup(entity_languages[i], strlen(entity_languages[i]));

		appendStringInfo(&hint, "%s%s (%s)", i > 0 ? ", " : "",
						 l >= 0 ? aa_language_at(l)->algorithm : entity_languages[i],
						 entity_languages[i]);
	}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 known != NULL ?
			 errmsg("there is no entity model for language \"%s\"", name) :
			 errmsg("unknown language \"%s\"", name),
			 errhint("Languages with an entity model: %s.", hint.data)));
	return -1;					/* not reached */
}

/*
 * The model of a language (index into entity_languages), reading it on
 * first use, after article_analytics.ner_model changed (English), or when
 * the file is no longer the one that was read.  Raises an error naming
 * the path when the file cannot be used.
 */
static const AaNerModel *
get_model(int language)
{
	LoadedModel *slot = &loaded_models[language];
	char		path_buffer[MAXPGPATH];
	const char *path;
	char		failure_message[AA_NER_MODEL_ERRMSG_LEN];
	char		copy_dir[MAXPGPATH];
	int			copy_errno = 0;
	AaNerModelStatus status;
	MemoryContextCallback *callback;

	if (language == AA_ENGLISH_ENTITY_LANGUAGE)
	{
		if (default_model_path[0] == '\0')
			installed_model_path("en", default_model_path, sizeof(default_model_path));
		path = ner_model_setting;
		if (path == NULL || path[0] == '\0')
			path = default_model_path;
	}
	else
	{
		installed_model_path(entity_languages[language], path_buffer, sizeof(path_buffer));
		path = path_buffer;
	}
	if (slot->context != NULL && strcmp(slot->path, path) == 0 &&
		!aa_ner_model_file_changed(&slot->model, path))
		return &slot->model;
	if (slot->context != NULL)
		MemoryContextDelete(slot->context);

	/*
	 * The context and its callback exist before the file is read, so that
	 * once the copy exists, deleting the context always frees it.
	 */
	slot->context = AllocSetContextCreate(TopMemoryContext,
										  "article_analytics entity model",
										  ALLOCSET_SMALL_SIZES);
	slot->path = MemoryContextStrdup(slot->context, path);
	callback = MemoryContextAlloc(slot->context, sizeof(MemoryContextCallback));
	callback->func = release_model;
	callback->arg = slot;
	MemoryContextRegisterResetCallback(slot->context, callback);

	status = open_model(path, &slot->model, copy_dir, &copy_errno,
						failure_message, sizeof(failure_message));
	if (status == AA_NER_MODEL_ERR_COPY)
	{
		MemoryContextDelete(slot->context);
		errno = copy_errno;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not load the entity tagger's %s", failure_message),
				 errhint("Backends share a copy of each model in \"%s\", which must be a directory the server's operating-system user can write, on a file system with room for the model; removing the directory is safe.",
						 copy_dir)));
	}
	if (status != AA_NER_MODEL_OK)
	{
		MemoryContextDelete(slot->context);
		if (language == AA_ENGLISH_ENTITY_LANGUAGE)
			ereport(ERROR,
					(errcode(model_status_sqlstate(status)),
					 errmsg("could not load the entity tagger's %s", failure_message),
					 errhint("Check the file, or set article_analytics.ner_model to a valid model (make model rebuilds it).")));
		ereport(ERROR,
				(errcode(model_status_sqlstate(status)),
				 errmsg("could not load the entity tagger's %s", failure_message),
				 errhint("Check the file, or install the extension again (make model LANG=%s rebuilds it).",
						 entity_languages[language])));
	}
	/* the copy stays open (its lock marks it in use): count it as fd.c's */
	if (slot->model.image_mapped)
		ReserveExternalFD();
	return &slot->model;
}

/*
 * The model for the language argument argno of a call, English when the
 * call has no such argument (the SQL signatures of version 0.1, whose
 * functions had no language argument, call the same C functions until
 * ALTER EXTENSION ... UPDATE).
 */
static const AaNerModel *
get_model_for_call(FunctionCallInfo fcinfo, int argno)
{
	if (PG_NARGS() > argno)
		return get_model(entity_language_index(PG_GETARG_TEXT_PP(argno)));
	return get_model(AA_ENGLISH_ENTITY_LANGUAGE);
}

/*
 * Allocator callback handing the core palloc'd memory from the given
 * context; palloc raises the out-of-memory error itself.
 */
static void *
palloc_for_core(void *context, size_t size)
{
	return MemoryContextAllocExtended((MemoryContext) context, size,
									  MCXT_ALLOC_HUGE);
}

/* Allocator callback returning memory obtained by palloc_for_core. */
static void
pfree_for_core(void *context, void *pointer)
{
	pfree(pointer);
}

/*
 * Called by the core before each sentence, so that a long document can
 * be cancelled.
 */
static void
check_interrupts_for_core(void *arg)
{
	CHECK_FOR_INTERRUPTS();
}

/*
 * Tag a document and raise the right error if the core gives up: a
 * pending cancel (the core asked the interrupt check and stopped) is
 * raised by CHECK_FOR_INTERRUPTS, anything else is a lack of memory.
 */
static void
tag_or_raise(const AaNerModel *model, const AaNerToken *tokens, size_t count,
			 const size_t *bounds, size_t num_sentences, int *labels,
			 const AaNerAllocator *allocator)
{
	if (!aa_ner_tag_document(model, tokens, count, bounds, num_sentences, labels,
							 allocator, check_interrupts_for_core, NULL))
	{
		CHECK_FOR_INTERRUPTS();
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory while tagging entities")));
	}
}

/*
 * Tag an array of tokens as one sentence (long arrays in pieces of
 * AA_TAG_MAX_SEQUENCE tokens) and return the label indexes.
 */
static int *
tag_token_array(const AaNerModel *model, AaNerToken *tokens, size_t count)
{
	size_t		num_sentences = (count + AA_TAG_MAX_SEQUENCE - 1) / AA_TAG_MAX_SEQUENCE;
	size_t	   *bounds = palloc(sizeof(size_t) * (num_sentences + 1));
	int		   *labels = palloc_extended(sizeof(int) * (count + 1), MCXT_ALLOC_HUGE);
	AaNerAllocator allocator = {palloc_for_core, pfree_for_core, CurrentMemoryContext};

	for (size_t s = 0; s < num_sentences; s++)
		bounds[s] = s * AA_TAG_MAX_SEQUENCE;
	bounds[num_sentences] = count;
	tag_or_raise(model, tokens, count, bounds, num_sentences, labels, &allocator);
	return labels;
}

/*
 * aa_tag(tokens text[], language text DEFAULT 'english') returns text[]:
 * the IOB2 tag of each token of an already tokenized sentence, so that
 * the tagger can be scored on any CoNLL-format corpus and used with one's
 * own tokenization.
 */
Datum
aa_tag(PG_FUNCTION_ARGS)
{
	ArrayType  *input = PG_GETARG_ARRAYTYPE_P(0);
	const AaNerModel *model = get_model_for_call(fcinfo, 1);
	Datum	   *elements;
	bool	   *nulls;
	int			count;
	AaNerToken *tokens;
	int		   *labels;
	Datum	   *tags;
	ArrayType  *result;

	if (ARR_NDIM(input) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("aa_tag expects a one-dimensional array of tokens")));
	deconstruct_array(input, TEXTOID, -1, false, TYPALIGN_INT,
					  &elements, &nulls, &count);
	if (count == 0)
		PG_RETURN_ARRAYTYPE_P(construct_empty_array(TEXTOID));

	tokens = palloc(sizeof(AaNerToken) * count);
	for (int i = 0; i < count; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("aa_tag does not accept NULL tokens"),
					 errdetail("Element %d of the array is NULL.", i + 1)));
		tokens[i].text = aa_text_to_utf8(DatumGetTextPP(elements[i]), &tokens[i].len);
		if (i % AA_INTERRUPT_INTERVAL == 0)
			CHECK_FOR_INTERRUPTS();
	}
	labels = tag_token_array(model, tokens, (size_t) count);

	tags = palloc(sizeof(Datum) * count);
	for (int i = 0; i < count; i++)
		tags[i] = CStringGetTextDatum(model->label_names[labels[i]]);
	result = construct_array(tags, count, TEXTOID, -1, false, TYPALIGN_INT);
	PG_RETURN_ARRAYTYPE_P(result);
}

/*
 * Count the line breaks in text[from .. to), up to two (a blank line).
 */
static uint8_t
count_newlines(const char *text, size_t from, size_t to)
{
	uint8_t		count = 0;

	for (size_t i = from; i < to && count < 2; i++)
		if (text[i] == '\n')
			count++;
	return count;
}

/*
 * Character positions of the mentions, found by walking the text once.
 * The tokenizer counts a character per aa_utf8_decode step from the start
 * of the text; so does this, so the two agree on any input (an invalid
 * byte is one character for both).  Mentions come in text order and do
 * not overlap, so one cursor serves them all.
 */
typedef struct CharCursor
{
	const unsigned char *text;
	size_t		len;
	size_t		byte;			/* a character boundary */
	size_t		chr;			/* characters before byte */
} CharCursor;

/* Move the cursor forward to byte offset target (a token boundary). */
static void
cursor_advance(CharCursor *cursor, size_t target)
{
	while (cursor->byte < target)
	{
		int			nbytes;

		if (cursor->text[cursor->byte] < 0x80)
			nbytes = 1;
		else
			(void) aa_utf8_decode(cursor->text + cursor->byte,
								  cursor->len - cursor->byte, &nbytes);
		cursor->byte += nbytes;
		cursor->chr++;
		if ((cursor->chr & 0xFFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
}

/*
 * aa_entity_mentions(document text, language text DEFAULT 'english')
 * returns (ordinal, entity, type,
 * start_pos, length, canonical): every entity mention of the document,
 * with 1-based character positions so that substr(document, start_pos,
 * length) = entity.  canonical is the mention's full form within the
 * document (a person's earlier full name for a later surname, the body's
 * spelling of a headline's ALL-CAPS name) and type the type the document
 * gives that name most often; the SQL function aa_entities adds the alias
 * table on top.
 *
 * Memory: per token, 17 bytes here (the token's place and length, and the
 * line breaks before it), 4 for its label and the tagger's 16 (tagger.h),
 * plus the lower-cased capitalised words, the distinct words, the
 * sentences and the mentions: 49 bytes per token on news text, 98 when
 * every word is distinct (test/sql_big_documents.sh).
 */
Datum
aa_entity_mentions(PG_FUNCTION_ARGS)
{
	text	   *document = PG_GETARG_TEXT_PP(0);
	TupleDesc	tupdesc;
	Tuplestorestate *store = aa_srf_materialize(fcinfo, &tupdesc);
	const AaNerModel *model = get_model_for_call(fcinfo, 1);
	MemoryContext work_context;
	MemoryContext old_context;
	size_t		len;
	const char *utf8;
	AaTokenizer tokenizer;
	AaToken		token;
	AaNerToken *tokens;
	uint8_t    *newlines;
	size_t		count = 0;
	size_t		capacity = 256;
	size_t		previous_end = 0;
	size_t	   *bounds;
	size_t		num_sentences;
	int		   *labels;
	AaNerSpan  *spans;
	size_t		num_spans;
	size_t	   *canonical;
	AaNerLabelSet label_set;
	const char *names[AA_NER_MAX_LABELS] = {0};
	AaNerAllocator allocator;
	CharCursor	cursor;

	/* Everything below is freed in one go when the call ends. */
	work_context = AllocSetContextCreate(CurrentMemoryContext,
										 "aa_entities work",
										 ALLOCSET_DEFAULT_SIZES);
	old_context = MemoryContextSwitchTo(work_context);
	allocator.alloc = palloc_for_core;
	allocator.release = pfree_for_core;
	allocator.context = work_context;

	utf8 = aa_text_to_utf8(document, &len);
	tokens = palloc(sizeof(AaNerToken) * capacity);
	newlines = palloc(sizeof(uint8_t) * capacity);
	aa_tokenizer_init(&tokenizer, utf8, len);
	while (aa_tokenizer_next(&tokenizer, &token))
	{
		if (count == capacity)
		{
			capacity *= 2;
			tokens = repalloc_huge(tokens, sizeof(AaNerToken) * capacity);
			newlines = repalloc_huge(newlines, sizeof(uint8_t) * capacity);
		}
		if (count % AA_INTERRUPT_INTERVAL == 0)
			CHECK_FOR_INTERRUPTS();
		if (token.char_start >= PG_INT32_MAX)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("document is too long for aa_entities"),
					 errdetail("Positions are of type integer.")));
		tokens[count].text = utf8 + token.byte_start;
		tokens[count].len = token.byte_len;
		newlines[count] = count_newlines(utf8, previous_end, token.byte_start);
		previous_end = token.byte_start + token.byte_len;
		count++;
	}

	CHECK_FOR_INTERRUPTS();
	bounds = palloc_extended(sizeof(size_t) * (count + 1), MCXT_ALLOC_HUGE);
	num_sentences = aa_ner_split_sentences(tokens, count, newlines, bounds);
	pfree(newlines);
	labels = palloc_extended(sizeof(int) * (count + 1), MCXT_ALLOC_HUGE);
	tag_or_raise(model, tokens, count, bounds, num_sentences, labels, &allocator);
	pfree(bounds);

	CHECK_FOR_INTERRUPTS();
	for (int l = 0; l < model->num_labels; l++)
		names[l] = model->label_names[l];
	aa_ner_labelset_init(&label_set, names, model->num_labels);
	num_spans = aa_ner_spans(labels, count, &label_set, NULL);
	spans = palloc_extended(sizeof(AaNerSpan) * (num_spans + 1), MCXT_ALLOC_HUGE);
	(void) aa_ner_spans(labels, count, &label_set, spans);
	pfree(labels);
	canonical = palloc_extended(sizeof(size_t) * (num_spans + 1), MCXT_ALLOC_HUGE);
	if (!aa_ner_resolve_entities(spans, num_spans, tokens, canonical, &allocator))
	{
		CHECK_FOR_INTERRUPTS();
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory while resolving entity names")));
	}

	cursor.text = (const unsigned char *) utf8;
	cursor.len = len;
	cursor.byte = 0;
	cursor.chr = 0;
	for (size_t i = 0; i < num_spans; i++)
	{
		const AaNerToken *first = &tokens[spans[i].first_token];
		const AaNerToken *last = &tokens[spans[i].end_token - 1];
		const AaNerSpan *full = &spans[canonical[i]];
		const AaNerToken *full_first = &tokens[full->first_token];
		const AaNerToken *full_last = &tokens[full->end_token - 1];
		size_t		char_start;
		Datum		values[6];
		bool		isnull[6] = {false, false, false, false, false, false};

		if (i % AA_INTERRUPT_INTERVAL == 0)
			CHECK_FOR_INTERRUPTS();
		cursor_advance(&cursor, (size_t) (first->text - utf8));
		char_start = cursor.chr;
		cursor_advance(&cursor, (size_t) (last->text + last->len - utf8));
		values[0] = Int32GetDatum((int32) (i + 1));
		values[1] = PointerGetDatum(aa_utf8_to_text(first->text,
													last->text + last->len - first->text));
		values[2] = CStringGetTextDatum(aa_ner_type_names[spans[i].type]);
		if (aa_positions_count_bytes())
		{
			/* SQL_ASCII: substr counts bytes */
			values[3] = Int32GetDatum((int32) (first->text - utf8) + 1);
			values[4] = Int32GetDatum((int32) (last->text + last->len - first->text));
		}
		else
		{
			values[3] = Int32GetDatum((int32) char_start + 1);
			values[4] = Int32GetDatum((int32) (cursor.chr - char_start));
		}
		values[5] = PointerGetDatum(aa_utf8_to_text(full_first->text,
													full_last->text + full_last->len - full_first->text));
		tuplestore_putvalues(store, tupdesc, values, isnull);
	}

	MemoryContextSwitchTo(old_context);
	MemoryContextDelete(work_context);
	return (Datum) 0;
}

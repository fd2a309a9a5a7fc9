/*-------------------------------------------------------------------------
 *
 * tagger.h
 *	  The English named-entity tagger: features, label set, Viterbi
 *	  decoding and document-level tagging.
 *
 * The tagger is a linear sequence model (a structured averaged perceptron
 * trained by src/tools/aa_train.c) over IOB2 labels for CoNLL-2003's four
 * types, PER, LOC, ORG and MISC.  Each token's features are hashed into
 * 32-bit values; the model maps hash & bucket_mask to one row of label
 * weights, so the model file has a fixed size whatever the vocabulary.
 *
 * A document is tagged sentence by sentence.  Two kinds of features look
 * beyond the sentence: how the document writes a word elsewhere ("RUSSIA"
 * in a headline, "Russia" mid-sentence in the body), and what type the
 * tagger already gave the same word in sentences it decoded before
 * ("Gerasimov" after "Valery Gerasimov").  Sentences written all in
 * capitals (headlines) are decoded after the others so they profit from
 * that history.
 *
 * Memory comes from a caller-supplied allocator, so the PostgreSQL glue
 * can use palloc and the command-line tools malloc.  The document's tables
 * cost 16 bytes per token (AaNerTokenInfo), the lower-cased forms of the
 * tokens whose lower case differs from their text, 48 bytes per distinct
 * lower-cased word plus a table of 4-byte indexes at most half full, and
 * a few bytes per sentence (word shapes are computed again sentence by
 * sentence rather than kept); nothing else is allocated per token.
 *
 * The loops over a document's tokens ask aa_dup_interrupted() (shingle.h)
 * every AA_DUP_CHECK_INTERVAL tokens and stop, freeing what they
 * allocated and returning false, when it says a cancel is pending; the
 * caller then tells a cancel from a lack of memory the same way.
 *
 * This file is part of the core: it includes no PostgreSQL header.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AA_TAGGER_H
#define AA_TAGGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ner_model.h"

/* Bump whenever feature extraction changes: old models are then refused. */
#define AA_NER_FEATURE_VERSION 4

/*
 * Where aa_ner_doc_features puts a token's word-identity features (the
 * word, its lower case, and the two word bigrams with it), always these
 * positions: the trainer drops them at random so that the model also
 * learns from shape, context and gazetteer features.
 */
#define AA_NER_NUM_IDENTITY_FEATURES 4
static const int aa_ner_identity_features[AA_NER_NUM_IDENTITY_FEATURES] = {16, 15, 2, 1};

/* Upper bound of the features one token can have. */
#define AA_NER_MAX_FEATURES 80

/* Entity types, in the order used by type indexes. */
#define AA_NER_NUM_TYPES 4
extern const char *const aa_ner_type_names[AA_NER_NUM_TYPES];	/* PER LOC ORG
																 * MISC */

/* One token handed to the tagger: its text (UTF-8, not NUL-terminated). */
typedef struct AaNerToken
{
	const char *text;
	size_t		len;
} AaNerToken;

/* Where the tagger's working memory comes from. */
typedef struct AaNerAllocator
{
	void	   *(*alloc) (void *context, size_t size);	/* NULL when out of
														 * memory */
	void		(*release) (void *context, void *pointer);
	void	   *context;
} AaNerAllocator;

/* A label set parsed from names such as "O", "B-PER", "I-LOC". */
typedef struct AaNerLabelSet
{
	int			num_labels;
	char		prefix[AA_NER_MAX_LABELS];	/* 'O', 'B' or 'I' */
	int			type[AA_NER_MAX_LABELS];	/* type index, -1 for O */
	/* allowed[prev][cur]; prev == num_labels is the sentence start */
	bool		allowed[AA_NER_MAX_LABELS + 1][AA_NER_MAX_LABELS];
} AaNerLabelSet;

/* An entity found in a labelled token sequence: tokens [first, end). */
typedef struct AaNerSpan
{
	size_t		first_token;
	size_t		end_token;
	int			type;			/* index into aa_ner_type_names */
} AaNerSpan;

/* Per-token facts computed once per document (internal to tagger.c). */
typedef struct AaNerTokenInfo AaNerTokenInfo;
typedef struct AaNerWordStats AaNerWordStats;
typedef struct AaNerShape AaNerShape;

/* The document being tagged: tokens, sentence bounds and context tables. */
typedef struct AaNerDoc
{
	AaNerAllocator allocator;
	uint32_t	hash_seed;
	const AaNerToken *tokens;
	size_t		num_tokens;
	const size_t *sentence_bounds;	/* num_sentences + 1 token indexes */
	size_t		num_sentences;
	AaNerTokenInfo *info;		/* num_tokens entries */
	char	   *arena;			/* lower-cased forms that differ from the
								 * token's text */
	size_t		arena_size;
	size_t		arena_used;
	const AaNerGazetteer *gazetteer;	/* NULL for none */
	const AaNerClusters *clusters;	/* NULL for none */
	AaNerWordStats **words;		/* one entry per distinct lower form, in
								 * chunks (see word_stats() in tagger.c) */
	size_t		num_words;
	size_t		words_capacity; /* entries in the chunks allocated */
	size_t		word_chunks_capacity;	/* room in words */
	uint32_t   *word_ids;		/* open addressing: index in words + 1, 0
								 * for an empty slot */
	size_t		word_ids_mask;
	bool	   *sentence_all_caps;
	char		case_regime;	/* 'n' ordinary, 'l' small letters, 'u'
								 * capitals */
	size_t	   *sentence_order; /* the order in which to decode sentences */
	AaNerShape *shapes;			/* scratch of aa_ner_doc_features: the word
								 * shapes of one sentence */
	size_t		shapes_capacity;	/* the longest sentence */
} AaNerDoc;

/*
 * Check that names form a BIO label set over known types ("O" plus B-/I-
 * of PER, LOC, ORG, MISC in any order).
 */
extern bool aa_ner_labels_valid(const char names[][AA_NER_LABEL_NAME_LEN + 1],
								int num_labels);

/* Parse a label set (names must be valid); fills allowed transitions. */
extern void aa_ner_labelset_init(AaNerLabelSet *labels,
								 const char *const *names, int num_labels);

/*
 * Prepare a document for tagging.  sentence_bounds has num_sentences + 1
 * entries, ascending, the first 0 and the last num_tokens.  Returns false
 * when memory runs out, when the interrupt check asks to stop, or for a
 * document beyond the tagger's limits (2^31 - 2 tokens, 4 GB per token);
 * nothing is left allocated then.
 */
extern bool aa_ner_doc_init(AaNerDoc *doc, const AaNerToken *tokens,
							size_t num_tokens, const size_t *sentence_bounds,
							size_t num_sentences, uint32_t hash_seed,
							const AaNerGazetteer *gazetteer,
							const AaNerClusters *clusters,
							const AaNerAllocator *allocator);

/*
 * The gazetteer key of tokens [first, first + count) of a prepared
 * document: their lower-cased forms joined by single spaces, written to
 * buf.  Returns the length, or 0 when it does not fit in buflen bytes.
 */
extern size_t aa_ner_doc_phrase_key(const AaNerDoc *doc, size_t first,
									size_t count, char *buf, size_t buflen);

/* Hash of a gazetteer key, as stored in the model's gazetteer. */
extern uint64_t aa_ner_gazetteer_hash(const char *key, size_t len);

/* Release everything aa_ner_doc_init allocated. */
extern void aa_ner_doc_free(AaNerDoc *doc);

/*
 * Features of every token of sentence number sentence: token k of the
 * sentence gets counts[k] hashes at features[k * AA_NER_MAX_FEATURES].
 * They depend on the labels committed so far.
 */
extern void aa_ner_doc_features(const AaNerDoc *doc, size_t sentence,
								uint32_t *features, int *counts);

/*
 * Record the labels decided for a sentence, so that later sentences see
 * them as document history.
 */
extern void aa_ner_doc_commit(AaNerDoc *doc, size_t sentence,
							  const int *labels, const AaNerLabelSet *label_set);

/*
 * Document-level evidence, after every sentence is decoded: an entity
 * whose lower-cased words are tagged as an entity elsewhere in the
 * document takes the type a clear majority of those mentions got (three
 * times the votes of its own type); labels holds the whole document's
 * labels and only types change.  Returns false when memory runs out or the interrupt
 * check of shingle.h asks to stop.
 */
extern bool aa_ner_doc_vote_types(AaNerDoc *doc, int *labels,
								  const AaNerLabelSet *label_set);

/*
 * Viterbi decoding: emission is n x L scores, transition (L + 1) x L (the
 * last row is the start).  Writes the best allowed label sequence to
 * labels_out.  work needs n * L floats and backpointers n * L ints.
 */
extern void aa_ner_viterbi(const float *emission, size_t n,
						   const float *transition,
						   const AaNerLabelSet *label_set,
						   float *work, int *backpointers, int *labels_out);

/*
 * Tag a whole document with a loaded model: labels_out gets one label
 * index (into model->label_names) per token.  per_sentence, if not NULL,
 * is called before each sentence (the glue checks for interrupts there; it
 * may not return, everything being allocated through the allocator).
 * Returns false when memory runs out or the interrupt check of shingle.h
 * asks to stop (see aa_ner_doc_init).
 */
extern bool aa_ner_tag_document(const AaNerModel *model,
								const AaNerToken *tokens, size_t num_tokens,
								const size_t *sentence_bounds,
								size_t num_sentences, int *labels_out,
								const AaNerAllocator *allocator,
								void (*per_sentence) (void *arg),
								void *per_sentence_arg);

/*
 * Collect the entities of a labelled token sequence into spans (room for
 * num_tokens spans, or NULL to count them only); returns how many.  An I-
 * label without a matching entity before it starts a new entity.
 */
extern size_t aa_ner_spans(const int *labels, size_t num_tokens,
						   const AaNerLabelSet *label_set, AaNerSpan *spans);

/*
 * Resolve the entity mentions of a document (spans in text order): for
 * each span, canonical_span gets the index of the span naming it in full.
 * The full name of a person's later short form is the earlier longer name
 * ending in the same words ("Valery Gerasimov" for a later "Gerasimov");
 * a mention without case information ("TALIBAN" in a headline, or
 * lower-case text) takes the mixed-case spelling found anywhere in the
 * document.  Returns false when memory runs out or the interrupt check of
 * shingle.h asks to stop.
 */
extern bool aa_ner_resolve_entities(const AaNerSpan *spans, size_t num_spans,
									const AaNerToken *tokens,
									size_t *canonical_span,
									const AaNerAllocator *allocator);

/*
 * Split a token sequence into sentences; tokens come with the text
 * between each token and the next (gap_has_newline, gap_has_blank_line).
 * Writes bounds (room for num_tokens + 1) and returns the sentence count.
 */
extern size_t aa_ner_split_sentences(const AaNerToken *tokens, size_t num_tokens,
									 const uint8_t *newlines_before,
									 size_t *bounds);

#endif							/* AA_TAGGER_H */

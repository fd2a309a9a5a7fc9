/*-------------------------------------------------------------------------
 *
 * tagger.c
 *	  Feature extraction, label sets, Viterbi decoding and document-level
 *	  tagging for the English entity tagger.  See tagger.h.
 *
 * This file is part of the core: it includes no PostgreSQL header.
 *
 *-------------------------------------------------------------------------
 */
#include "tagger.h"

#include <float.h>
#include <string.h>

#include <unicode/uchar.h>
#include <xxhash.h>

#include "casefold.h"
#include "shingle.h"
#include "tokenizer.h"

const char *const aa_ner_type_names[AA_NER_NUM_TYPES] = {"PER", "LOC", "ORG", "MISC"};

/* History slot for a capitalised word the tagger left outside entities. */
#define HISTORY_OUTSIDE AA_NER_NUM_TYPES

/* Longest shape strings kept; longer shapes are cut (and marked). */
#define SHORT_SHAPE_LEN 6
#define LONG_SHAPE_LEN 12

/* Casing class of a token, from its letters. */
typedef enum CaseClass
{
	CASE_NONE,					/* no letters */
	CASE_LOWER,					/* all letters lower case */
	CASE_TITLE,					/* first letter upper, others not all upper */
	CASE_UPPER,					/* two or more letters, all upper */
	CASE_MIXED					/* first letter lower, some upper: "iPhone" */
} CaseClass;

/*
 * What the tagger keeps per token: 16 bytes, the bulk of its memory on a
 * long document, hence the 32-bit fields (aa_ner_doc_init refuses
 * documents that do not fit them).  Word shapes are not kept: they are
 * computed again for each sentence as it is decoded (AaNerShape).
 */
struct AaNerTokenInfo
{
	uint32_t	lower_offset;	/* lower-cased form in the arena, or
								 * LOWER_IS_TEXT */
	uint32_t	lower_len;
	int32_t		word_index;		/* see word_stats(), -1 if no letters */
	uint8_t		case_class;		/* a CaseClass */
	bool		sentence_initial;	/* first word of its sentence, or after
									 * an opening quote there */
	uint8_t		gazetteer_begin;	/* types of gazetteer phrases starting
									 * here */
	uint8_t		gazetteer_inside;	/* types of phrases continuing here */
};

/* A token's word shapes, computed when its sentence is decoded. */
struct AaNerShape
{
	char		short_shape[SHORT_SHAPE_LEN + 2];	/* "Xx", "X.X.", "d-d" */
	char		long_shape[LONG_SHAPE_LEN + 2]; /* "Xxxxx", "dddd-dd-dd" */
	uint8_t		short_len;
	uint8_t		long_len;
};

/*
 * Word entries come in chunks of WORD_CHUNK entries that never move, so
 * that adding words never copies the ones before (no moment with two
 * copies of the table).
 */
#define WORD_CHUNK_BITS 12
#define WORD_CHUNK ((size_t) 1 << WORD_CHUNK_BITS)

/* lower_offset of a token whose lower-cased form is its own text. */
#define LOWER_IS_TEXT UINT32_MAX

/* Longest token and most tokens the 32-bit fields above can describe. */
#define MAX_TOKEN_BYTES ((size_t) UINT32_MAX - 1)
#define MAX_DOC_TOKENS ((size_t) INT32_MAX - 1)

/* What the document says about one lower-cased word form. */
struct AaNerWordStats
{
	const char *lower;
	uint32_t	lower_len;
	uint32_t	title_inside;	/* capitalised, not sentence-initial, not in
								 * an all-caps sentence */
	uint32_t	lower_count;	/* written in lower case */
	uint32_t	cluster;		/* the model's cluster ids, 0 for none */
	uint32_t	history[AA_NER_NUM_TYPES + 1];	/* labels committed so far */
};

/*
 * Count one step of a long loop; every AA_DUP_CHECK_INTERVAL steps, ask
 * the interrupt check of shingle.h whether to stop.
 */
static inline bool
cancel_requested(size_t *steps)
{
	return (++*steps % AA_DUP_CHECK_INTERVAL) == 0 && aa_dup_interrupted();
}

/* The statistics entry of word index w. */
static inline AaNerWordStats *
word_stats(const AaNerDoc *doc, size_t w)
{
	return &doc->words[w >> WORD_CHUNK_BITS][w & (WORD_CHUNK - 1)];
}

/* The lower-cased form of token i of a prepared document. */
static inline const char *
token_lower(const AaNerDoc *doc, size_t i)
{
	uint32_t	offset = doc->info[i].lower_offset;

	return offset == LOWER_IS_TEXT ? doc->tokens[i].text : doc->arena + offset;
}

/* Feature templates: the first hash input, so templates never collide. */
typedef enum FeatureTemplate
{
	FT_BIAS = 1,
	FT_WORD,
	FT_LOWER,
	FT_LOWER_PREV,
	FT_LOWER_NEXT,
	FT_LOWER_PREV2,
	FT_LOWER_NEXT2,
	FT_SHAPE,
	FT_SHAPE_PREV,
	FT_SHAPE_NEXT,
	FT_SHAPE_PREV2,
	FT_SHAPE_NEXT2,
	FT_SHAPE_PREV_CUR,
	FT_SHAPE_CUR_NEXT,
	FT_SHAPE_TRIGRAM,
	FT_LOWER_PREV_CUR,
	FT_LOWER_CUR_NEXT,
	FT_PREFIX,					/* + length */
	FT_SUFFIX = FT_PREFIX + 8,	/* + length */
	FT_LONG_SHAPE = FT_SUFFIX + 8,
	FT_LOWER_PREV_SHAPE,
	FT_SHAPE_LOWER_NEXT,
	FT_INITIAL_SHAPE,
	FT_ALLCAPS_SENTENCE_SHAPE,
	FT_ALLCAPS_SENTENCE_LOWER,
	FT_DOC_CASE,
	FT_HISTORY,
	FT_HISTORY_SHAPE,
	FT_HISTORY_PREV,
	FT_HISTORY_NEXT,
	FT_WORD_PREV,
	FT_WORD_NEXT,
	FT_SHORT_SENTENCE_SHAPE,
	FT_FIRST_SENTENCE_SHAPE,
	FT_INITIAL_LOWER,
	FT_LOWER_LENGTH,
	FT_GAZETTEER,
	FT_GAZETTEER_CODE,
	FT_GAZETTEER_PREV,
	FT_GAZETTEER_NEXT,
	FT_REGIME_CASE,
	FT_REGIME_GAZETTEER,
	FT_CLUSTER,					/* + level (0 coarse .. 2 fine) */
	FT_CLUSTER_PREV = FT_CLUSTER + 3,	/* + level */
	FT_CLUSTER_NEXT = FT_CLUSTER_PREV + 3,	/* + level */
	FT_CLUSTER_SHAPE = FT_CLUSTER_NEXT + 3,
	FT_CLUSTER_PREV_CUR
} FeatureTemplate;

/* Seed of gazetteer phrase hashes (independent of the feature seed). */
#define GAZETTEER_HASH_SEED 0x67617a65u

/* Longest gazetteer key, in bytes. */
#define GAZETTEER_KEY_MAX 256

/*
 * Is names a BIO label set: every name "O" or "B-"/"I-" plus a known type,
 * no duplicates, and for every type both B- and I-?  The loader calls this
 * so a model with an unexpected label set is refused, not misread.
 */
bool
aa_ner_labels_valid(const char names[][AA_NER_LABEL_NAME_LEN + 1], int num_labels)
{
	bool		seen_b[AA_NER_NUM_TYPES] = {false};
	bool		seen_i[AA_NER_NUM_TYPES] = {false};
	bool		seen_o = false;

	if (num_labels != 2 * AA_NER_NUM_TYPES + 1)
		return false;
	for (int l = 0; l < num_labels; l++)
	{
		const char *name = names[l];
		int			type = -1;

		if (strcmp(name, "O") == 0)
		{
			if (seen_o)
				return false;
			seen_o = true;
			continue;
		}
		if ((name[0] != 'B' && name[0] != 'I') || name[1] != '-')
			return false;
		for (int t = 0; t < AA_NER_NUM_TYPES; t++)
			if (strcmp(name + 2, aa_ner_type_names[t]) == 0)
				type = t;
		if (type < 0)
			return false;
		if (name[0] == 'B')
		{
			if (seen_b[type])
				return false;
			seen_b[type] = true;
		}
		else
		{
			if (seen_i[type])
				return false;
			seen_i[type] = true;
		}
	}
	return seen_o;
}

/*
 * Parse label names into prefixes and types, and derive which transitions
 * IOB2 allows: I-X only after B-X or I-X, never at the sentence start.
 */
void
aa_ner_labelset_init(AaNerLabelSet *labels, const char *const *names, int num_labels)
{
	memset(labels, 0, sizeof(*labels));
	labels->num_labels = num_labels;
	for (int l = 0; l < num_labels; l++)
	{
		labels->prefix[l] = names[l][0];
		labels->type[l] = -1;
		if (names[l][0] != 'O')
			for (int t = 0; t < AA_NER_NUM_TYPES; t++)
				if (strcmp(names[l] + 2, aa_ner_type_names[t]) == 0)
					labels->type[l] = t;
	}
	for (int prev = 0; prev <= num_labels; prev++)
		for (int cur = 0; cur < num_labels; cur++)
		{
			bool		ok = true;

			if (labels->prefix[cur] == 'I')
				ok = prev < num_labels && labels->type[prev] == labels->type[cur];
			labels->allowed[prev][cur] = ok;
		}
}

/* Hash one feature with a single string value. */
static inline uint32_t
hash1(uint32_t seed, int feature_template, const char *value, size_t len)
{
	return (uint32_t) XXH3_64bits_withSeed(value, len,
										   ((uint64_t) seed << 32) | (uint64_t) feature_template);
}

/* Hash one feature with two string values. */
static inline uint32_t
hash2(uint32_t seed, int feature_template, const char *a, size_t alen,
	  const char *b, size_t blen)
{
	uint64_t	h = XXH3_64bits_withSeed(a, alen,
										 ((uint64_t) seed << 32) | (uint64_t) feature_template);

	return (uint32_t) XXH3_64bits_withSeed(b, blen, h);
}

/* Hash one feature with three string values. */
static inline uint32_t
hash3(uint32_t seed, int feature_template, const char *a, size_t alen,
	  const char *b, size_t blen, const char *c, size_t clen)
{
	uint64_t	h = XXH3_64bits_withSeed(a, alen,
										 ((uint64_t) seed << 32) | (uint64_t) feature_template);

	h = XXH3_64bits_withSeed(b, blen, h);
	return (uint32_t) XXH3_64bits_withSeed(c, clen, h);
}

/*
 * Classify one code point for word shapes: 'X' upper-case letter, 'x'
 * other letter, 'd' digit, or the ASCII character itself for ASCII
 * punctuation, '*' for any other symbol.
 */
static char
shape_char(unsigned int cp)
{
	if (cp < 128)
	{
		if (cp >= 'A' && cp <= 'Z')
			return 'X';
		if (cp >= 'a' && cp <= 'z')
			return 'x';
		if (cp >= '0' && cp <= '9')
			return 'd';
		return (char) cp;
	}
	if (u_isupper((UChar32) cp) || u_istitle((UChar32) cp))
		return 'X';
	if (u_isalpha((UChar32) cp))
		return 'x';
	if (u_isdigit((UChar32) cp))
		return 'd';
	return '*';
}

/*
 * Compute the shapes of a token and return its casing class.  The long
 * shape maps each character; the short shape also collapses runs
 * ("Xxxxx" -> "Xx").
 */
static CaseClass
compute_shape(const char *text, size_t len, AaNerShape *shape)
{
	size_t		pos = 0;
	int			long_len = 0;
	int			short_len = 0;
	int			letters = 0;
	int			uppers = 0;
	bool		first_letter_upper = false;
	char		last = 0;

	while (pos < len)
	{
		int			nbytes;
		unsigned int cp = aa_utf8_decode((const unsigned char *) text + pos,
										 len - pos, &nbytes);
		char		c = shape_char(cp);

		pos += nbytes;
		if (c == 'X' || c == 'x')
		{
			if (letters == 0)
				first_letter_upper = (c == 'X');
			letters++;
			if (c == 'X')
				uppers++;
		}
		if (long_len < LONG_SHAPE_LEN)
			shape->long_shape[long_len++] = c;
		else if (long_len == LONG_SHAPE_LEN)
			shape->long_shape[long_len++] = '~';
		if (c != last)
		{
			if (short_len < SHORT_SHAPE_LEN)
				shape->short_shape[short_len++] = c;
			else if (short_len == SHORT_SHAPE_LEN)
				shape->short_shape[short_len++] = '~';
		}
		last = c;
	}
	shape->long_shape[long_len] = '\0';
	shape->short_shape[short_len] = '\0';
	shape->long_len = (uint8_t) long_len;
	shape->short_len = (uint8_t) short_len;

	if (letters == 0)
		return CASE_NONE;
	else if (uppers == 0)
		return CASE_LOWER;
	else if (uppers == letters && letters >= 2)
		return CASE_UPPER;
	else if (first_letter_upper)
		return CASE_TITLE;
	return CASE_MIXED;
}

/*
 * Allocate size bytes from the document's allocator, not zeroed: every
 * table is filled by the loops that build it (which check for interrupts),
 * never cleared in one go.
 */
static void *
doc_alloc(AaNerDoc *doc, size_t size)
{
	return doc->allocator.alloc(doc->allocator.context, size == 0 ? 1 : size);
}

/*
 * Store the lower-cased form of a token: when it differs from the token's
 * text, in the arena; otherwise the token's text serves (LOWER_IS_TEXT),
 * which is the case of most words and all punctuation.  ASCII is done
 * here; anything else goes through the shared casefold (ICU).  When the
 * arena is full or ICU fails, the token's own text stands in for its
 * lower form.
 */
static void
store_lower_form(AaNerDoc *doc, const AaNerToken *token, AaNerTokenInfo *info,
				 AaBuf *scratch)
{
	bool		ascii = true;
	bool		has_upper = false;
	char	   *dest;

	for (size_t i = 0; i < token->len; i++)
	{
		unsigned char c = (unsigned char) token->text[i];

		if (c >= 128)
		{
			ascii = false;
			break;
		}
		if (c >= 'A' && c <= 'Z')
			has_upper = true;
	}
	info->lower_offset = LOWER_IS_TEXT;
	info->lower_len = (uint32_t) token->len;
	if (ascii)
	{
		if (!has_upper || doc->arena_size - doc->arena_used < token->len)
			return;
		dest = doc->arena + doc->arena_used;
		for (size_t i = 0; i < token->len; i++)
		{
			char		c = token->text[i];

			dest[i] = (c >= 'A' && c <= 'Z') ? (char) (c + ('a' - 'A')) : c;
		}
		info->lower_offset = (uint32_t) doc->arena_used;
		doc->arena_used += token->len;
		return;
	}
	if (!aa_lower_utf8(token->text, token->len, "", scratch))
		return;
	if (scratch->len == token->len && memcmp(scratch->data, token->text, token->len) == 0)
		return;
	if (doc->arena_size - doc->arena_used < scratch->len)
		return;
	dest = doc->arena + doc->arena_used;
	memcpy(dest, scratch->data, scratch->len);
	info->lower_offset = (uint32_t) doc->arena_used;
	info->lower_len = (uint32_t) scratch->len;
	doc->arena_used += scratch->len;
}

/*
 * Give the word table's index slots (4 bytes each) twice the room and
 * re-insert every word.  Returns false when memory runs out.
 */
static bool
grow_word_ids(AaNerDoc *doc)
{
	size_t		slots = (doc->word_ids_mask + 1) * 2;
	uint32_t   *ids = doc_alloc(doc, sizeof(uint32_t) * slots);

	if (ids == NULL)
		return false;
	memset(ids, 0, sizeof(uint32_t) * slots);
	for (size_t w = 0; w < doc->num_words; w++)
	{
		const AaNerWordStats *stats = word_stats(doc, w);
		size_t		slot = (size_t) XXH3_64bits(stats->lower, stats->lower_len) & (slots - 1);

		while (ids[slot] != 0)
			slot = (slot + 1) & (slots - 1);
		ids[slot] = (uint32_t) (w + 1);
	}
	doc->allocator.release(doc->allocator.context, doc->word_ids);
	doc->word_ids = ids;
	doc->word_ids_mask = slots - 1;
	return true;
}

/*
 * Add a chunk of word entries (and, when full, give the list of chunks
 * twice the room).  Returns false when memory runs out.
 */
static bool
add_word_chunk(AaNerDoc *doc)
{
	size_t		chunks = doc->words_capacity / WORD_CHUNK;
	AaNerWordStats *chunk;

	if (chunks == doc->word_chunks_capacity)
	{
		size_t		capacity = doc->word_chunks_capacity * 2;
		AaNerWordStats **list = doc_alloc(doc, sizeof(AaNerWordStats *) * capacity);

		if (list == NULL)
			return false;
		memcpy(list, doc->words, sizeof(AaNerWordStats *) * chunks);
		doc->allocator.release(doc->allocator.context, doc->words);
		doc->words = list;
		doc->word_chunks_capacity = capacity;
	}
	chunk = doc_alloc(doc, sizeof(AaNerWordStats) * WORD_CHUNK);
	if (chunk == NULL)
		return false;
	doc->words[chunks] = chunk;
	doc->words_capacity += WORD_CHUNK;
	return true;
}

/*
 * The index of the word-statistics entry of a lower-cased form, created
 * (with zero counts) the first time it is seen; -1 when memory runs out.
 * The entries grow with the number of distinct words, not tokens, and
 * the index table is kept at most half full, so probes end quickly.
 */
static int32_t
word_index_of(AaNerDoc *doc, const char *lower, uint32_t lower_len)
{
	uint64_t	hash = XXH3_64bits(lower, lower_len);
	size_t		slot = (size_t) hash & doc->word_ids_mask;
	AaNerWordStats *stats;

	for (;;)
	{
		uint32_t	id = doc->word_ids[slot];

		if (id == 0)
			break;
		stats = word_stats(doc, id - 1);
		if (stats->lower_len == lower_len && memcmp(stats->lower, lower, lower_len) == 0)
			return (int32_t) (id - 1);
		slot = (slot + 1) & doc->word_ids_mask;
	}

	/* a new word */
	if (doc->num_words == doc->words_capacity && !add_word_chunk(doc))
		return -1;
	if ((doc->num_words + 1) * 2 > doc->word_ids_mask + 1)
	{
		if (!grow_word_ids(doc))
			return -1;
		slot = (size_t) hash & doc->word_ids_mask;
		while (doc->word_ids[slot] != 0)
			slot = (slot + 1) & doc->word_ids_mask;
	}
	stats = word_stats(doc, doc->num_words);
	memset(stats, 0, sizeof(*stats));
	stats->lower = lower;
	stats->lower_len = lower_len;
	stats->cluster = aa_ner_cluster_lookup(doc->clusters, hash);
	doc->word_ids[slot] = (uint32_t) (doc->num_words + 1);
	return (int32_t) doc->num_words++;
}

/*
 * Is a token an opening quote or bracket, after which a sentence's first
 * word still counts as sentence-initial?
 */
static bool
is_opening_punct(const AaNerToken *token)
{
	static const char *const openers[] = {"\"", "'", "(", "[", "``", "`",
	"\xe2\x80\x9c", "\xe2\x80\x98", "-", "--"};

	for (size_t i = 0; i < sizeof(openers) / sizeof(openers[0]); i++)
		if (token->len == strlen(openers[i]) &&
			memcmp(token->text, openers[i], token->len) == 0)
			return true;
	return false;
}

/*
 * Join the lower-cased forms of tokens [first, first + count) with single
 * spaces (see tagger.h).
 */
size_t
aa_ner_doc_phrase_key(const AaNerDoc *doc, size_t first, size_t count,
					  char *buf, size_t buflen)
{
	size_t		len = 0;

	for (size_t i = first; i < first + count; i++)
	{
		const AaNerTokenInfo *info = &doc->info[i];
		size_t		need = (size_t) info->lower_len + (i > first ? 1 : 0);

		if (need > buflen - len)
			return 0;
		if (i > first)
			buf[len++] = ' ';
		memcpy(buf + len, token_lower(doc, i), info->lower_len);
		len += info->lower_len;
	}
	return len;
}

/*
 * Hash of a gazetteer key (see tagger.h).
 */
uint64_t
aa_ner_gazetteer_hash(const char *key, size_t len)
{
	return XXH3_64bits_withSeed(key, len, GAZETTEER_HASH_SEED);
}

/*
 * Mark the tokens of tokens [begin, end) that start or continue a phrase
 * of the gazetteer.  From each letter-bearing token the key grows one
 * token at a time, and stops as soon as no gazetteer phrase starts with it.
 */
static void
mark_gazetteer_phrases(AaNerDoc *doc, size_t begin, size_t end)
{
	char		key[GAZETTEER_KEY_MAX];

	for (size_t i = begin; i < end; i++)
	{
		size_t		longest = (size_t) doc->gazetteer->max_tokens;
		size_t		len = 0;

		if (doc->info[i].case_class == CASE_NONE)
			continue;
		if (longest > end - i)
			longest = end - i;
		for (size_t count = 1; count <= longest; count++)
		{
			const AaNerTokenInfo *last = &doc->info[i + count - 1];
			unsigned int found;
			unsigned int types;

			if ((size_t) last->lower_len + 1 > sizeof(key) - len)
				break;
			if (count > 1)
				key[len++] = ' ';
			memcpy(key + len, token_lower(doc, i + count - 1), last->lower_len);
			len += last->lower_len;
			found = aa_ner_gazetteer_lookup(doc->gazetteer,
											aa_ner_gazetteer_hash(key, len));
			types = found & AA_NER_GAZETTEER_TYPES;
			if (types != 0)
			{
				doc->info[i].gazetteer_begin |= (uint8_t) types;
				for (size_t k = i + 1; k < i + count; k++)
					doc->info[k].gazetteer_inside |= (uint8_t) types;
			}
			if (!(found & AA_NER_GAZETTEER_CONTINUES))
				break;
		}
	}
}

/*
 * Prepare a document: lower forms, shapes, which sentences are all in
 * capitals, how the document writes each word, and the decoding order.
 * Every loop over the tokens counts its steps and stops when the
 * interrupt check asks (see tagger.h).
 */
bool
aa_ner_doc_init(AaNerDoc *doc, const AaNerToken *tokens, size_t num_tokens,
				const size_t *sentence_bounds, size_t num_sentences,
				uint32_t hash_seed, const AaNerGazetteer *gazetteer,
				const AaNerClusters *clusters, const AaNerAllocator *allocator)
{
	size_t		total_bytes = 0;
	size_t		next_order = 0;
	size_t		words = 0;
	size_t		capitalised = 0;
	size_t		all_upper = 0;
	size_t		steps = 0;
	size_t		longest = 1;
	AaBuf		scratch = {NULL, 0, 0};
	AaNerShape	shape;

	memset(doc, 0, sizeof(*doc));
	doc->allocator = *allocator;
	doc->hash_seed = hash_seed;
	doc->gazetteer = gazetteer;
	doc->clusters = clusters;
	doc->tokens = tokens;
	doc->num_tokens = num_tokens;
	doc->sentence_bounds = sentence_bounds;
	doc->num_sentences = num_sentences;

	if (num_tokens > MAX_DOC_TOKENS)
		return false;
	for (size_t i = 0; i < num_tokens; i++)
	{
		if (tokens[i].len > MAX_TOKEN_BYTES || cancel_requested(&steps))
			return false;
		total_bytes += tokens[i].len;
	}
	for (size_t s = 0; s < num_sentences; s++)
	{
		if (cancel_requested(&steps))
			return false;
		if (sentence_bounds[s + 1] - sentence_bounds[s] > longest)
			longest = sentence_bounds[s + 1] - sentence_bounds[s];
	}

	/*
	 * Lower forms that differ from the text take at most about as many
	 * bytes as the text (twice, for the rare letters ICU lengthens); the
	 * arena is never touched beyond what is used.  Offsets are 32-bit.
	 */
	doc->arena_size = total_bytes * 2 + 16;
	if (doc->arena_size > MAX_TOKEN_BYTES)
		doc->arena_size = MAX_TOKEN_BYTES;
	doc->arena = doc_alloc(doc, doc->arena_size);
	doc->info = doc_alloc(doc, sizeof(AaNerTokenInfo) * (num_tokens + 1));
	doc->word_chunks_capacity = 16;
	doc->words = doc_alloc(doc, sizeof(AaNerWordStats *) * doc->word_chunks_capacity);
	doc->word_ids_mask = 127;
	doc->word_ids = doc_alloc(doc, sizeof(uint32_t) * (doc->word_ids_mask + 1));
	doc->sentence_all_caps = doc_alloc(doc, sizeof(bool) * (num_sentences + 1));
	doc->sentence_order = doc_alloc(doc, sizeof(size_t) * (num_sentences + 1));
	doc->shapes = doc_alloc(doc, sizeof(AaNerShape) * longest);
	doc->shapes_capacity = longest;
	if (doc->arena == NULL || doc->info == NULL || doc->words == NULL ||
		doc->word_ids == NULL || doc->sentence_all_caps == NULL ||
		doc->sentence_order == NULL || doc->shapes == NULL)
		goto fail;
	memset(doc->word_ids, 0, sizeof(uint32_t) * (doc->word_ids_mask + 1));

	for (size_t s = 0; s < num_sentences; s++)
	{
		size_t		begin = sentence_bounds[s];
		size_t		end = sentence_bounds[s + 1];
		int			cased = 0;
		int			upper = 0;
		bool		before_first_word = true;

		for (size_t i = begin; i < end; i++)
		{
			AaNerTokenInfo *info = &doc->info[i];

			if (cancel_requested(&steps))
				goto fail;
			store_lower_form(doc, &tokens[i], info, &scratch);
			info->case_class = (uint8_t) compute_shape(tokens[i].text, tokens[i].len, &shape);
			info->word_index = -1;
			info->sentence_initial = false;
			info->gazetteer_begin = 0;
			info->gazetteer_inside = 0;
			if (info->case_class != CASE_NONE)
			{
				words++;
				if (info->case_class != CASE_LOWER)
					capitalised++;
				if (info->case_class == CASE_UPPER)
					all_upper++;
				info->sentence_initial = before_first_word;
				before_first_word = false;
				info->word_index = word_index_of(doc, token_lower(doc, i), info->lower_len);
				if (info->word_index < 0)
					goto fail;
				if (info->case_class != CASE_LOWER || tokens[i].len > 1)
				{
					cased++;
					if (info->case_class == CASE_UPPER)
						upper++;
				}
			}
			else if (!is_opening_punct(&tokens[i]))
				before_first_word = false;
		}
		doc->sentence_all_caps[s] = (cased >= 2 && upper * 10 >= cased * 8);
	}
	aa_buf_free(&scratch);

	/*
	 * The document's case regime: 'l' when hardly any word is capitalised
	 * (text in small letters), 'u' when most words are in capitals, 'n'
	 * for ordinary text.  Capitalisation means something else in each.
	 */
	doc->case_regime = 'n';
	if (words > 0 && capitalised * 50 <= words)
		doc->case_regime = 'l';
	else if (words > 0 && all_upper * 10 >= words * 7)
		doc->case_regime = 'u';

	/* How the document writes each word where casing is informative. */
	for (size_t s = 0; s < num_sentences; s++)
		for (size_t i = sentence_bounds[s]; i < sentence_bounds[s + 1]; i++)
		{
			AaNerTokenInfo *info = &doc->info[i];
			AaNerWordStats *w;

			if (cancel_requested(&steps))
				goto fail;
			if (info->word_index < 0)
				continue;
			w = word_stats(doc, info->word_index);
			if (info->case_class == CASE_LOWER)
				w->lower_count++;
			else if (info->case_class == CASE_TITLE && !info->sentence_initial &&
					 !doc->sentence_all_caps[s])
				w->title_inside++;
		}

	if (gazetteer != NULL && gazetteer->entries != NULL)
		for (size_t s = 0; s < num_sentences; s++)
		{
			size_t		n = sentence_bounds[s + 1] - sentence_bounds[s];

			/* counted by sentence: a check at least every interval */
			if ((steps % AA_DUP_CHECK_INTERVAL) + n >= AA_DUP_CHECK_INTERVAL &&
				aa_dup_interrupted())
				goto fail;
			steps += n;
			mark_gazetteer_phrases(doc, sentence_bounds[s], sentence_bounds[s + 1]);
		}

	/* Decode ordinary sentences first, all-caps ones (headlines) last. */
	for (size_t s = 0; s < num_sentences; s++)
	{
		if (cancel_requested(&steps))
			goto fail;
		if (!doc->sentence_all_caps[s])
			doc->sentence_order[next_order++] = s;
	}
	for (size_t s = 0; s < num_sentences; s++)
	{
		if (cancel_requested(&steps))
			goto fail;
		if (doc->sentence_all_caps[s])
			doc->sentence_order[next_order++] = s;
	}
	return true;

fail:
	aa_buf_free(&scratch);
	aa_ner_doc_free(doc);
	return false;
}

/*
 * Free the document's tables; the tokens belong to the caller.
 */
void
aa_ner_doc_free(AaNerDoc *doc)
{
	void	   *parts[] = {doc->arena, doc->info, doc->words, doc->word_ids,
	doc->sentence_all_caps, doc->sentence_order, doc->shapes};

	if (doc->words != NULL)
		for (size_t c = 0; c < doc->words_capacity / WORD_CHUNK; c++)
			doc->allocator.release(doc->allocator.context, doc->words[c]);
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		if (parts[i] != NULL)
			doc->allocator.release(doc->allocator.context, parts[i]);
	doc->arena = NULL;
	doc->info = NULL;
	doc->words = NULL;
	doc->num_words = 0;
	doc->words_capacity = 0;
	doc->word_ids = NULL;
	doc->sentence_all_caps = NULL;
	doc->sentence_order = NULL;
	doc->shapes = NULL;
}

/*
 * One letter for the document's history of a word: the type it was most
 * often tagged with, 'O' if only left outside, '-' if never seen.
 */
static char
history_code(const AaNerDoc *doc, int64_t word_index)
{
	static const char codes[] = "PLOMo";
	const AaNerWordStats *w;
	uint32_t	best = 0;
	int			best_type = -1;

	if (word_index < 0)
		return '-';
	w = word_stats(doc, word_index);
	for (int t = 0; t <= AA_NER_NUM_TYPES; t++)
		if (w->history[t] > best)
		{
			best = w->history[t];
			best_type = t;
		}
	return best_type < 0 ? '-' : codes[best_type];
}

/*
 * One letter for how the document writes a word outside sentence starts
 * and headlines: 'T' only capitalised, 'L' only lower case, 'B' both,
 * 'N' neither.
 */
static char
doc_case_code(const AaNerDoc *doc, int64_t word_index)
{
	const AaNerWordStats *w;

	if (word_index < 0)
		return 'N';
	w = word_stats(doc, word_index);
	if (w->title_inside > 0 && w->lower_count > 0)
		return 'B';
	if (w->title_inside > 0)
		return 'T';
	if (w->lower_count > 0)
		return 'L';
	return 'N';
}

/*
 * The cluster ids of token i as three 4-byte codes, coarse to fine (level
 * letter and id); tokens without letters get their short shape's first
 * character instead, words outside the clustered vocabulary "?".
 */
static void
cluster_codes(const AaNerDoc *doc, int64_t i, const AaNerShape *shape,
			  char codes[3][4])
{
	uint32_t	cluster = 0;

	if (i >= 0 && (size_t) i < doc->num_tokens && doc->info[i].word_index >= 0)
		cluster = word_stats(doc, doc->info[i].word_index)->cluster;
	for (int level = 0; level < 3; level++)
	{
		codes[level][0] = (char) ('a' + level);
		if (cluster != 0)
		{
			uint32_t	id = level == 0 ? cluster & 0x3F
				: level == 1 ? (cluster >> AA_NER_CLUSTER_COARSE_BITS) & 0xFF
				: (cluster >> (AA_NER_CLUSTER_COARSE_BITS + AA_NER_CLUSTER_MIDDLE_BITS)) & 0x3FF;

			codes[level][1] = (char) ('0' + (id >> 6));
			codes[level][2] = (char) ('0' + (id & 0x3F));
		}
		else
		{
			codes[level][1] = i < 0 || (size_t) i >= doc->num_tokens ? '<'
				: doc->info[i].word_index >= 0 ? '?' : shape->short_shape[0];
			codes[level][2] = '-';
		}
		codes[level][3] = '\0';
	}
}

/*
 * Prefix or suffix of n characters (not bytes) of s; returns its byte
 * length, or 0 when s has fewer than n + 1 characters (a "suffix" as long
 * as the word adds nothing to the word itself).
 */
static size_t
affix_bytes(const char *s, size_t len, int n, bool suffix)
{
	size_t		count = 0;

	if (!suffix)
	{
		size_t		pos = 0;

		while (pos < len && count < (size_t) n)
		{
			pos++;
			while (pos < len && ((unsigned char) s[pos] & 0xC0) == 0x80)
				pos++;
			count++;
		}
		return (count == (size_t) n && pos < len) ? pos : 0;
	}
	else
	{
		size_t		pos = len;

		while (pos > 0 && count < (size_t) n)
		{
			pos--;
			while (pos > 0 && ((unsigned char) s[pos] & 0xC0) == 0x80)
				pos--;
			count++;
		}
		return (count == (size_t) n && pos > 0) ? len - pos : 0;
	}
}

/*
 * Compute the features of every token of one sentence (see tagger.h).
 * Out-of-sentence neighbours are the pseudo-words "<S>" and "</S>".
 */
void
aa_ner_doc_features(const AaNerDoc *doc, size_t sentence,
					uint32_t *features, int *counts)
{
	static const char start_word[] = "<S>";
	static const char end_word[] = "</S>";
	size_t		begin = doc->sentence_bounds[sentence];
	size_t		end = doc->sentence_bounds[sentence + 1];
	size_t		n = end - begin;
	bool		all_caps = doc->sentence_all_caps[sentence];
	bool		short_sentence = n <= 4;
	bool		first_sentence = sentence == 0;
	uint32_t	seed = doc->hash_seed;
	AaNerShape *shapes = doc->shapes;	/* scratch for this sentence */

	/* n <= shapes_capacity: aa_ner_doc_init sized it to the longest */
	for (size_t k = 0; k < n; k++)
		(void) compute_shape(doc->tokens[begin + k].text, doc->tokens[begin + k].len,
							 &shapes[k]);
	for (size_t k = 0; k < n; k++)
	{
		size_t		i = begin + k;
		const AaNerTokenInfo *cur = &doc->info[i];
		const AaNerToken *tok = &doc->tokens[i];
		uint32_t   *f = features + k * AA_NER_MAX_FEATURES;
		int			c = 0;
		const char *lw[5];
		size_t		lwlen[5];
		const char *sh[5];
		size_t		shlen[5];
		char		flag[8];
		char		code[4];
		size_t		len_bucket;

		/* Neighbours at offsets -2 .. +2, index 2 is the token itself. */
		for (int d = -2; d <= 2; d++)
		{
			int64_t		j = (int64_t) k + d;

			if (j < 0)
			{
				lw[d + 2] = start_word;
				lwlen[d + 2] = 3;
				sh[d + 2] = start_word;
				shlen[d + 2] = 3;
			}
			else if (j >= (int64_t) n)
			{
				lw[d + 2] = end_word;
				lwlen[d + 2] = 4;
				sh[d + 2] = end_word;
				shlen[d + 2] = 4;
			}
			else
			{
				const AaNerTokenInfo *o = &doc->info[begin + j];

				lw[d + 2] = token_lower(doc, begin + j);
				lwlen[d + 2] = o->lower_len;
				sh[d + 2] = shapes[j].short_shape;
				shlen[d + 2] = shapes[j].short_len;
			}
		}

		f[c++] = hash1(seed, FT_BIAS, "", 0);
		f[c++] = hash1(seed, FT_WORD, tok->text, tok->len);
		f[c++] = hash1(seed, FT_LOWER, lw[2], lwlen[2]);
		f[c++] = hash1(seed, FT_LOWER_PREV, lw[1], lwlen[1]);
		f[c++] = hash1(seed, FT_LOWER_NEXT, lw[3], lwlen[3]);
		f[c++] = hash1(seed, FT_LOWER_PREV2, lw[0], lwlen[0]);
		f[c++] = hash1(seed, FT_LOWER_NEXT2, lw[4], lwlen[4]);
		f[c++] = hash1(seed, FT_SHAPE, sh[2], shlen[2]);
		f[c++] = hash1(seed, FT_SHAPE_PREV, sh[1], shlen[1]);
		f[c++] = hash1(seed, FT_SHAPE_NEXT, sh[3], shlen[3]);
		f[c++] = hash1(seed, FT_SHAPE_PREV2, sh[0], shlen[0]);
		f[c++] = hash1(seed, FT_SHAPE_NEXT2, sh[4], shlen[4]);
		f[c++] = hash2(seed, FT_SHAPE_PREV_CUR, sh[1], shlen[1], sh[2], shlen[2]);
		f[c++] = hash2(seed, FT_SHAPE_CUR_NEXT, sh[2], shlen[2], sh[3], shlen[3]);
		f[c++] = hash3(seed, FT_SHAPE_TRIGRAM, sh[1], shlen[1], sh[2], shlen[2],
					   sh[3], shlen[3]);
		f[c++] = hash2(seed, FT_LOWER_PREV_CUR, lw[1], lwlen[1], lw[2], lwlen[2]);
		f[c++] = hash2(seed, FT_LOWER_CUR_NEXT, lw[2], lwlen[2], lw[3], lwlen[3]);
		for (int a = 1; a <= 4; a++)
		{
			size_t		pl = affix_bytes(lw[2], lwlen[2], a, false);
			size_t		sl = affix_bytes(lw[2], lwlen[2], a, true);

			if (pl > 0)
				f[c++] = hash1(seed, FT_PREFIX + a, lw[2], pl);
			if (sl > 0)
				f[c++] = hash1(seed, FT_SUFFIX + a, lw[2] + lwlen[2] - sl, sl);
		}
		f[c++] = hash1(seed, FT_LONG_SHAPE, shapes[k].long_shape, shapes[k].long_len);
		f[c++] = hash2(seed, FT_LOWER_PREV_SHAPE, lw[1], lwlen[1], sh[2], shlen[2]);
		f[c++] = hash2(seed, FT_SHAPE_LOWER_NEXT, sh[2], shlen[2], lw[3], lwlen[3]);
		f[c++] = hash2(seed, FT_WORD_PREV,
					   k > 0 ? doc->tokens[i - 1].text : start_word,
					   k > 0 ? doc->tokens[i - 1].len : 3, "", 0);
		f[c++] = hash2(seed, FT_WORD_NEXT,
					   k + 1 < n ? doc->tokens[i + 1].text : end_word,
					   k + 1 < n ? doc->tokens[i + 1].len : 4, "", 0);

		flag[0] = cur->sentence_initial ? '1' : '0';
		flag[1] = all_caps ? '1' : '0';
		flag[2] = short_sentence ? '1' : '0';
		flag[3] = first_sentence ? '1' : '0';
		if (cur->sentence_initial)
		{
			f[c++] = hash2(seed, FT_INITIAL_SHAPE, flag, 1, sh[2], shlen[2]);
			f[c++] = hash1(seed, FT_INITIAL_LOWER, lw[2], lwlen[2]);
		}
		if (all_caps)
		{
			f[c++] = hash1(seed, FT_ALLCAPS_SENTENCE_SHAPE, sh[2], shlen[2]);
			f[c++] = hash1(seed, FT_ALLCAPS_SENTENCE_LOWER, lw[2], lwlen[2]);
		}
		if (short_sentence)
			f[c++] = hash2(seed, FT_SHORT_SENTENCE_SHAPE, sh[2], shlen[2],
						   flag + 3, 1);
		if (first_sentence)
			f[c++] = hash1(seed, FT_FIRST_SENTENCE_SHAPE, sh[2], shlen[2]);

		len_bucket = cur->lower_len > 9 ? 9 : cur->lower_len;
		code[0] = (char) ('0' + len_bucket);
		f[c++] = hash2(seed, FT_LOWER_LENGTH, code, 1, sh[2], shlen[2]);

		if (cur->gazetteer_begin != 0 || cur->gazetteer_inside != 0)
		{
			/* Gazetteer phrases covering the token, by type and position. */
			for (int t = 0; t < AA_NER_NUM_TYPES; t++)
			{
				code[0] = (char) ('0' + t);
				code[2] = (char) ('0' + cur->case_class);
				if (cur->gazetteer_begin & (1 << t))
				{
					code[1] = 'B';
					f[c++] = hash1(seed, FT_GAZETTEER, code, 3);
				}
				if (cur->gazetteer_inside & (1 << t))
				{
					code[1] = 'I';
					f[c++] = hash1(seed, FT_GAZETTEER, code, 3);
				}
			}
			code[0] = (char) ('a' + cur->gazetteer_begin);
			code[1] = (char) ('a' + cur->gazetteer_inside);
			f[c++] = hash2(seed, FT_GAZETTEER_CODE, code, 2, sh[2], shlen[2]);
		}
		if (cur->case_class != CASE_NONE)
		{
			/* The token's case, and its gazetteer marks, in the regime. */
			code[0] = doc->case_regime;
			code[1] = (char) ('0' + cur->case_class);
			f[c++] = hash1(seed, FT_REGIME_CASE, code, 2);
			if (cur->gazetteer_begin != 0 || cur->gazetteer_inside != 0)
			{
				code[1] = (char) ('a' + cur->gazetteer_begin);
				code[2] = (char) ('a' + cur->gazetteer_inside);
				f[c++] = hash1(seed, FT_REGIME_GAZETTEER, code, 3);
			}
		}
		if (k > 0)
		{
			const AaNerTokenInfo *prev = &doc->info[i - 1];

			code[0] = (char) ('a' + (prev->gazetteer_begin | prev->gazetteer_inside));
			f[c++] = hash2(seed, FT_GAZETTEER_PREV, code, 1, sh[2], shlen[2]);
		}
		if (k + 1 < n)
		{
			const AaNerTokenInfo *next = &doc->info[i + 1];

			code[0] = (char) ('a' + (next->gazetteer_begin | next->gazetteer_inside));
			f[c++] = hash2(seed, FT_GAZETTEER_NEXT, code, 1, sh[2], shlen[2]);
		}

		if (cur->word_index >= 0 && cur->case_class != CASE_LOWER)
		{
			/* Document-level context of capitalised words. */
			code[0] = doc_case_code(doc, cur->word_index);
			code[1] = (char) ('0' + cur->case_class);
			code[2] = (cur->sentence_initial || all_caps) ? 'u' : 'i';
			f[c++] = hash1(seed, FT_DOC_CASE, code, 3);
			code[0] = history_code(doc, cur->word_index);
			f[c++] = hash1(seed, FT_HISTORY, code, 1);
			f[c++] = hash2(seed, FT_HISTORY_SHAPE, code, 1, sh[2], shlen[2]);
		}
		if (k > 0 && doc->info[i - 1].word_index >= 0 &&
			doc->info[i - 1].case_class != CASE_LOWER)
		{
			code[0] = history_code(doc, doc->info[i - 1].word_index);
			f[c++] = hash2(seed, FT_HISTORY_PREV, code, 1, sh[2], shlen[2]);
		}
		if (k + 1 < n && doc->info[i + 1].word_index >= 0 &&
			doc->info[i + 1].case_class != CASE_LOWER)
		{
			code[0] = history_code(doc, doc->info[i + 1].word_index);
			f[c++] = hash2(seed, FT_HISTORY_NEXT, code, 1, sh[2], shlen[2]);
		}
		{
			/* Word clusters of the token and its neighbours. */
			char		cur_codes[3][4];
			char		prev_codes[3][4];
			char		next_codes[3][4];
			int64_t		ii = (int64_t) i;
			bool		has_prev = k > 0;
			bool		has_next = k + 1 < n;

			cluster_codes(doc, ii, &shapes[k], cur_codes);
			cluster_codes(doc, has_prev ? ii - 1 : -1, has_prev ? &shapes[k - 1] : &shapes[k],
						  prev_codes);
			cluster_codes(doc, has_next ? ii + 1 : -1, has_next ? &shapes[k + 1] : &shapes[k],
						  next_codes);
			for (int level = 0; level < 3; level++)
				f[c++] = hash1(seed, FT_CLUSTER + level, cur_codes[level], 3);
			f[c++] = hash1(seed, FT_CLUSTER_PREV + 1, prev_codes[1], 3);
			f[c++] = hash1(seed, FT_CLUSTER_PREV + 2, prev_codes[2], 3);
			f[c++] = hash1(seed, FT_CLUSTER_NEXT + 1, next_codes[1], 3);
			f[c++] = hash1(seed, FT_CLUSTER_NEXT + 2, next_codes[2], 3);
			f[c++] = hash2(seed, FT_CLUSTER_SHAPE, cur_codes[1], 3, sh[2], shlen[2]);
			f[c++] = hash2(seed, FT_CLUSTER_PREV_CUR, prev_codes[1], 3, cur_codes[1], 3);
		}
		counts[k] = c;
	}
}

/*
 * Count, for each capitalised word of the sentence, the type it was just
 * given (or "outside"), for the history features of later sentences.
 */
void
aa_ner_doc_commit(AaNerDoc *doc, size_t sentence, const int *labels,
				  const AaNerLabelSet *label_set)
{
	size_t		begin = doc->sentence_bounds[sentence];
	size_t		end = doc->sentence_bounds[sentence + 1];

	for (size_t i = begin; i < end; i++)
	{
		const AaNerTokenInfo *info = &doc->info[i];
		int			label = labels[i - begin];
		int			type;

		if (info->word_index < 0 || info->case_class == CASE_LOWER)
			continue;
		if (label < 0 || label >= label_set->num_labels)
			continue;
		type = label_set->type[label];
		/* A capitalised sentence start left outside says little. */
		if (type < 0 && info->sentence_initial)
			continue;
		word_stats(doc, info->word_index)->history[type < 0 ? HISTORY_OUTSIDE : type]++;
	}
}

/*
 * Standard first-order Viterbi over the allowed transitions.
 */
void
aa_ner_viterbi(const float *emission, size_t n, const float *transition,
			   const AaNerLabelSet *label_set, float *work, int *backpointers,
			   int *labels_out)
{
	int			L = label_set->num_labels;
	int			best_last = 0;
	float		best_score = -FLT_MAX;

	if (n == 0)
		return;
	for (int cur = 0; cur < L; cur++)
	{
		work[cur] = label_set->allowed[L][cur]
			? transition[L * L + cur] + emission[cur] : -FLT_MAX;
		backpointers[cur] = -1;
	}
	for (size_t t = 1; t < n; t++)
	{
		const float *prev_scores = work + (t - 1) * L;

		for (int cur = 0; cur < L; cur++)
		{
			float		best = -FLT_MAX;
			int			arg = 0;

			for (int prev = 0; prev < L; prev++)
			{
				float		s;

				if (!label_set->allowed[prev][cur] || prev_scores[prev] == -FLT_MAX)
					continue;
				s = prev_scores[prev] + transition[prev * L + cur];
				if (s > best)
				{
					best = s;
					arg = prev;
				}
			}
			work[t * L + cur] = best == -FLT_MAX ? -FLT_MAX : best + emission[t * L + cur];
			backpointers[t * L + cur] = arg;
		}
	}
	for (int cur = 0; cur < L; cur++)
		if (work[(n - 1) * L + cur] > best_score)
		{
			best_score = work[(n - 1) * L + cur];
			best_last = cur;
		}
	labels_out[n - 1] = best_last;
	for (size_t t = n - 1; t > 0; t--)
		labels_out[t - 1] = backpointers[t * L + labels_out[t]];
}

/*
 * How many times the votes of a mention's own type another type needs to
 * overrule it (tuned on the dev sets: 3 keeps CoNLL's places that are
 * also sports clubs apart, and still unifies a name's type).
 */
#define VOTE_RATIO 3

/* One distinct entity text of a document and the types it was given. */
typedef struct TypeVote
{
	uint64_t	key;			/* hash of the lower-cased tokens; 0 = empty */
	uint32_t	votes[AA_NER_NUM_TYPES];
} TypeVote;

/*
 * Document-level evidence: every entity whose words (lower-cased) occur as
 * an entity several times in the document takes the type a clear majority
 * of those mentions were given (VOTE_RATIO times the votes of its own
 * type; the first mention counts a little more, so ties keep its type),
 * so that a name keeps one type whatever sentence it is in ("Daesh" an
 * organisation throughout).  Only the types change, never the spans.
 * Returns false when memory runs out or the interrupt check asks to stop.
 */
bool
aa_ner_doc_vote_types(AaNerDoc *doc, int *labels, const AaNerLabelSet *label_set)
{
	size_t		num_spans = aa_ner_spans(labels, doc->num_tokens, label_set, NULL);
	AaNerSpan  *spans;
	TypeVote   *table;
	uint64_t   *keys;
	size_t		mask = 1;
	size_t		steps = 0;
	int			b_label[AA_NER_NUM_TYPES];
	int			i_label[AA_NER_NUM_TYPES];
	bool		ok = true;

	if (num_spans < 2)
		return true;
	for (int t = 0; t < AA_NER_NUM_TYPES; t++)
		b_label[t] = i_label[t] = -1;
	for (int l = 0; l < label_set->num_labels; l++)
		if (label_set->type[l] >= 0)
		{
			if (label_set->prefix[l] == 'B')
				b_label[label_set->type[l]] = l;
			else
				i_label[label_set->type[l]] = l;
		}
	while (mask + 1 < 2 * num_spans)
		mask = mask * 2 + 1;
	spans = doc_alloc(doc, sizeof(AaNerSpan) * num_spans);
	keys = doc_alloc(doc, sizeof(uint64_t) * num_spans);
	table = doc_alloc(doc, sizeof(TypeVote) * (mask + 1));
	if (spans == NULL || keys == NULL || table == NULL)
		ok = false;
	if (ok)
	{
		memset(table, 0, sizeof(TypeVote) * (mask + 1));
		(void) aa_ner_spans(labels, doc->num_tokens, label_set, spans);
	}
	for (size_t p = 0; ok && p < 2; p++)
		for (size_t sp = 0; sp < num_spans; sp++)
		{
			const AaNerSpan *span = &spans[sp];
			TypeVote   *v;
			size_t		slot;
			int			best;

			if (cancel_requested(&steps))
			{
				ok = false;
				break;
			}
			if (p == 0)
			{
				uint64_t	h = 0x9e3779b97f4a7c15ULL;

				for (size_t t = span->first_token; t < span->end_token; t++)
					h = XXH3_64bits_withSeed(token_lower(doc, t), doc->info[t].lower_len, h);
				keys[sp] = h == 0 ? 1 : h;
			}
			slot = (size_t) keys[sp] & mask;
			while (table[slot].key != 0 && table[slot].key != keys[sp])
				slot = (slot + 1) & mask;
			v = &table[slot];
			if (p == 0)
			{
				/* the first mention's type wins ties: it counts a little more */
				if (v->key == 0)
					v->votes[span->type] = 1;
				v->key = keys[sp];
				v->votes[span->type] += 2;
				continue;
			}
			best = span->type;
			for (int t = 0; t < AA_NER_NUM_TYPES; t++)
				if (v->votes[t] > v->votes[best])
					best = t;
			/* only a clear majority overrules */
			if (best != span->type && v->votes[best] >= VOTE_RATIO * v->votes[span->type] &&
				b_label[best] >= 0 && i_label[best] >= 0)
			{
				labels[span->first_token] = b_label[best];
				for (size_t t = span->first_token + 1; t < span->end_token; t++)
					labels[t] = i_label[best];
			}
		}
	if (spans)
		doc->allocator.release(doc->allocator.context, spans);
	if (keys)
		doc->allocator.release(doc->allocator.context, keys);
	if (table)
		doc->allocator.release(doc->allocator.context, table);
	return ok;
}

/*
 * Ask the processor to fetch the weight-table slots (key and row) of a
 * token's features before they are summed: the table is far larger than
 * the caches, and each feature's first probe (where nearly all lookups
 * end) would otherwise be two cache misses in a row, waited for one after
 * the other.  A whole sentence's slots (a few hundred kB at most for
 * ordinary sentences) are asked for at once, which makes tagging about a
 * third faster; prefetches are hints, never faults.
 */
static inline void
prefetch_rows(const AaNerModel *model, const uint32_t *f, int count)
{
#if defined(__GNUC__) || defined(__clang__)
	for (int j = 0; j < count; j++)
	{
		uint32_t	slot = ((f[j] & model->bucket_mask) + 1) & model->slot_mask;

		__builtin_prefetch(model->keys + slot, 0, 1);
		__builtin_prefetch(model->rows + (size_t) slot * model->num_labels, 0, 1);
	}
#else
	(void) model;
	(void) f;
	(void) count;
#endif
}

/* Whether token i is exactly the one-byte text c. */
static bool
token_is(const AaNerDoc *doc, size_t i, char c)
{
	return i < doc->num_tokens && doc->tokens[i].len == 1 && doc->tokens[i].text[0] == c;
}

/*
 * Photo and story credits: a name of two or more words in capitals right
 * after "(" and right before "/" ("(HOSHANG HASHIMI / AFP)", "(JOHN DOE /
 * REUTERS)") is the photographer or writer, a person (unless the
 * gazetteer knows the name as a place and nothing else), in a document
 * written in ordinary case (not all in capitals or small letters; the
 * credit's own line may be all capitals).  The training news has no
 * credits, and its capitalised datelines ("KABUL 1996-08-22") teach the
 * model that such words are places, hence this rule after decoding.  Only
 * the types change, never the spans.
 */
static bool
credit_names_are_people(const AaNerDoc *doc, int *labels, const AaNerLabelSet *label_set)
{
	int			b_per = -1;
	int			i_per = -1;
	size_t		steps = 0;

	for (int l = 0; l < label_set->num_labels; l++)
	{
		if (label_set->type[l] == 0 && label_set->prefix[l] == 'B')
			b_per = l;
		if (label_set->type[l] == 0 && label_set->prefix[l] == 'I')
			i_per = l;
	}
	if (b_per < 0 || i_per < 0 || doc->case_regime != 'n')
		return true;
	for (size_t i = 1; i + 1 < doc->num_tokens; i++)
	{
		size_t		end = i + 1;
		bool		capitals = true;
		char		key[GAZETTEER_KEY_MAX];
		size_t		key_len;

		if (cancel_requested(&steps))
			return false;
		if (label_set->prefix[labels[i]] != 'B' || !token_is(doc, i - 1, '('))
			continue;
		while (end < doc->num_tokens && label_set->prefix[labels[end]] == 'I' &&
			   label_set->type[labels[end]] == label_set->type[labels[i]])
			end++;
		if (end - i < 2 || !token_is(doc, end, '/'))
			continue;
		for (size_t k = i; k < end; k++)
			capitals = capitals && doc->info[k].case_class == CASE_UPPER;
		if (!capitals)
			continue;
		/* not a name the gazetteer knows as a place only: "(NEW YORK / AP)" */
		key_len = aa_ner_doc_phrase_key(doc, i, end - i, key, sizeof(key));
		if (key_len > 0 && doc->gazetteer != NULL &&
			(aa_ner_gazetteer_lookup(doc->gazetteer, aa_ner_gazetteer_hash(key, key_len)) &
			 AA_NER_GAZETTEER_TYPES) == (1 << 1))
			continue;
		labels[i] = b_per;
		for (size_t k = i + 1; k < end; k++)
			labels[k] = i_per;
	}
	return true;
}

/*
 * Tag a document with a model: for each sentence in decoding order, sum
 * the weight rows of its features, run Viterbi and commit the result.
 * Besides per_sentence, the interrupt check of shingle.h is asked every
 * AA_DUP_CHECK_INTERVAL tokens; when it says stop, the memory is freed
 * and the result is false.
 */
bool
aa_ner_tag_document(const AaNerModel *model, const AaNerToken *tokens,
					size_t num_tokens, const size_t *sentence_bounds,
					size_t num_sentences, int *labels_out,
					const AaNerAllocator *allocator,
					void (*per_sentence) (void *arg), void *per_sentence_arg)
{
	AaNerDoc	doc;
	AaNerLabelSet label_set;
	const char *names[AA_NER_MAX_LABELS] = {0};
	int			L = model->num_labels;
	size_t		longest = 1;
	uint32_t   *features;
	int		   *counts;
	float	   *emission;
	float	   *work;
	int		   *backpointers;
	float		transition[(AA_NER_MAX_LABELS + 1) * AA_NER_MAX_LABELS];
	bool		ok;
	size_t		steps = 0;

	for (int l = 0; l < L; l++)
		names[l] = model->label_names[l];
	aa_ner_labelset_init(&label_set, names, L);
	for (int i = 0; i < (L + 1) * L; i++)
		transition[i] = model->transitions[i] * model->weight_scale;
	for (size_t s = 0; s < num_sentences; s++)
	{
		if (cancel_requested(&steps))
			return false;
		if (sentence_bounds[s + 1] - sentence_bounds[s] > longest)
			longest = sentence_bounds[s + 1] - sentence_bounds[s];
	}

	if (!aa_ner_doc_init(&doc, tokens, num_tokens, sentence_bounds, num_sentences,
						 model->hash_seed, &model->gazetteer, &model->clusters,
						 allocator))
		return false;
	features = doc_alloc(&doc, sizeof(uint32_t) * longest * AA_NER_MAX_FEATURES);
	counts = doc_alloc(&doc, sizeof(int) * longest);
	emission = doc_alloc(&doc, sizeof(float) * longest * L);
	work = doc_alloc(&doc, sizeof(float) * longest * L);
	backpointers = doc_alloc(&doc, sizeof(int) * longest * L);
	ok = features && counts && emission && work && backpointers;

	for (size_t o = 0; ok && o < num_sentences; o++)
	{
		size_t		s = doc.sentence_order[o];
		size_t		begin = sentence_bounds[s];
		size_t		n = sentence_bounds[s + 1] - begin;

		if (per_sentence != NULL)
			per_sentence(per_sentence_arg);
		/* counted by sentence: a check at least every interval */
		if ((steps % AA_DUP_CHECK_INTERVAL) + n + 1 >= AA_DUP_CHECK_INTERVAL &&
			aa_dup_interrupted())
		{
			ok = false;
			break;
		}
		steps += n + 1;
		if (n == 0)
			continue;
		aa_ner_doc_features(&doc, s, features, counts);
		/* Every weight row of the sentence: see prefetch_rows() */
		for (size_t k = 0; k < n; k++)
			prefetch_rows(model, features + k * AA_NER_MAX_FEATURES, counts[k]);
		for (size_t k = 0; k < n; k++)
		{
			int32_t		sums[AA_NER_MAX_LABELS] = {0};
			const uint32_t *f = features + k * AA_NER_MAX_FEATURES;
			for (int j = 0; j < counts[k]; j++)
			{
				const int16_t *row = aa_ner_model_row(model, f[j]);

				if (row == NULL)
					continue;
				for (int l = 0; l < L; l++)
					sums[l] += row[l];
			}
			for (int l = 0; l < L; l++)
				emission[k * L + l] = sums[l] * model->weight_scale;
		}
		aa_ner_viterbi(emission, n, transition, &label_set, work, backpointers,
					   labels_out + begin);
		aa_ner_doc_commit(&doc, s, labels_out + begin, &label_set);
	}
	if (ok)
		ok = aa_ner_doc_vote_types(&doc, labels_out, &label_set);
	if (ok)
		ok = credit_names_are_people(&doc, labels_out, &label_set);

	if (features)
		allocator->release(allocator->context, features);
	if (counts)
		allocator->release(allocator->context, counts);
	if (emission)
		allocator->release(allocator->context, emission);
	if (work)
		allocator->release(allocator->context, work);
	if (backpointers)
		allocator->release(allocator->context, backpointers);
	aa_ner_doc_free(&doc);
	return ok;
}

/*
 * Turn labels into entity spans (see tagger.h).
 */
size_t
aa_ner_spans(const int *labels, size_t num_tokens, const AaNerLabelSet *label_set,
			 AaNerSpan *spans)
{
	size_t		count = 0;
	bool		open = false;
	int			open_type = -1;

	for (size_t i = 0; i < num_tokens; i++)
	{
		int			label = labels[i];
		char		prefix;
		int			type;

		if (label < 0 || label >= label_set->num_labels)
		{
			open = false;
			continue;
		}
		prefix = label_set->prefix[label];
		type = label_set->type[label];
		if (prefix == 'O' || type < 0)
		{
			open = false;
			continue;
		}
		if (prefix == 'I' && open && open_type == type)
		{
			if (spans != NULL)
				spans[count - 1].end_token = i + 1;
			continue;
		}
		if (spans != NULL)
		{
			spans[count].first_token = i;
			spans[count].end_token = i + 1;
			spans[count].type = type;
		}
		count++;
		open = true;
		open_type = type;
	}
	return count;
}

/* No span: an empty field of the entity table. */
#define NO_SPAN ((size_t) -1)

/* Longest person name whose last words are indexed as short forms. */
#define MAX_NAME_TOKENS 8

/* What a document says about one case-folded span text. */
typedef struct EntityEntry
{
	uint64_t	key;			/* hash of the case-folded text; 0 = empty */
	size_t		first_cased;	/* earliest span written in mixed case */
	size_t		full_name;		/* earliest longer person name ending so */
} EntityEntry;

/*
 * Hash tokens [first, end) lower-cased (ASCII letters only; other bytes as
 * they are) and separated by single spaces, chaining each piece's hash
 * into the next.  Never 0, which marks empty slots.
 */
static uint64_t
folded_text_hash(const AaNerToken *tokens, size_t first, size_t end)
{
	char		chunk[256];
	uint64_t	hash = 0;

	for (size_t i = first; i < end; i++)
	{
		size_t		done = 0;

		if (i > first)
			hash = XXH3_64bits_withSeed(" ", 1, hash);
		while (done < tokens[i].len)
		{
			size_t		n = tokens[i].len - done;

			if (n > sizeof(chunk))
				n = sizeof(chunk);
			for (size_t k = 0; k < n; k++)
			{
				char		c = tokens[i].text[done + k];

				chunk[k] = (c >= 'A' && c <= 'Z') ? (char) (c - 'A' + 'a') : c;
			}
			hash = XXH3_64bits_withSeed(chunk, n, hash);
			done += n;
		}
	}
	return hash == 0 ? 1 : hash;
}

/*
 * Is a span written without case information: no small letter (a
 * headline's "TALIBAN") or no capital (lower-case text)?
 */
static bool
span_case_uninformative(const AaNerSpan *span, const AaNerToken *tokens)
{
	bool		upper = false;
	bool		lower = false;

	for (size_t i = span->first_token; i < span->end_token; i++)
		for (size_t k = 0; k < tokens[i].len; k++)
		{
			char		c = tokens[i].text[k];

			upper |= (c >= 'A' && c <= 'Z');
			lower |= (c >= 'a' && c <= 'z');
		}
	return !(upper && lower);
}

/*
 * The entry of a key in the open-addressing table (mask + 1 slots, never
 * full), created empty if absent.
 */
static EntityEntry *
entity_entry(EntityEntry *table, size_t mask, uint64_t key)
{
	size_t		slot = (size_t) (key >> 32) & mask;

	for (;;)
	{
		EntityEntry *e = &table[slot];

		if (e->key == key)
			return e;
		if (e->key == 0)
		{
			e->key = key;
			e->first_cased = NO_SPAN;
			e->full_name = NO_SPAN;
			return e;
		}
		slot = (slot + 1) & mask;
	}
}

/*
 * Resolve each entity mention of a document to the span naming it in full
 * (see tagger.h).  Linear in the number of spans (one hash table), so very
 * long documents stay fast.  Types are left as the tagger gave them: a
 * dateline's "NEW YORK" is a place even where the body's "New York" is a
 * team.
 */
bool
aa_ner_resolve_entities(const AaNerSpan *spans, size_t num_spans,
						const AaNerToken *tokens, size_t *canonical_span,
						const AaNerAllocator *allocator)
{
	size_t		slots = 16;
	size_t		mask;
	size_t		suffixes = 0;
	EntityEntry *table;
	EntityEntry **entry_of;
	size_t		steps = 0;
	bool		ok = true;

	for (size_t i = 0; i < num_spans; i++)
	{
		size_t		len = spans[i].end_token - spans[i].first_token;

		if (cancel_requested(&steps))
			return false;

		if (spans[i].type == 0 && len >= 2 && len <= MAX_NAME_TOKENS)
			suffixes += len - 1;
	}
	while (slots < 2 * (num_spans + suffixes) + 2)
		slots *= 2;
	mask = slots - 1;
	table = allocator->alloc(allocator->context, sizeof(EntityEntry) * slots);
	entry_of = allocator->alloc(allocator->context, sizeof(EntityEntry *) * (num_spans + 1));
	if (table == NULL || entry_of == NULL)
	{
		if (table != NULL)
			allocator->release(allocator->context, table);
		if (entry_of != NULL)
			allocator->release(allocator->context, entry_of);
		return false;
	}
	memset(table, 0, sizeof(EntityEntry) * slots);

	/* Every name: its earliest mixed-case spelling. */
	for (size_t i = 0; ok && i < num_spans; i++)
	{
		EntityEntry *e;

		if (cancel_requested(&steps))
		{
			ok = false;
			break;
		}
		e = entity_entry(table, mask,
						 folded_text_hash(tokens, spans[i].first_token,
										  spans[i].end_token));
		entry_of[i] = e;
		if (e->first_cased == NO_SPAN && !span_case_uninformative(&spans[i], tokens))
			e->first_cased = i;
	}
	/* The last words of people's names: "Gerasimov" of "Valery Gerasimov". */
	for (size_t j = 0; ok && j < num_spans; j++)
	{
		size_t		len = spans[j].end_token - spans[j].first_token;

		if (cancel_requested(&steps))
		{
			ok = false;
			break;
		}
		if (spans[j].type != 0 || len < 2 || len > MAX_NAME_TOKENS ||
			span_case_uninformative(&spans[j], tokens))
			continue;
		for (size_t k = 1; k < len; k++)
		{
			EntityEntry *e = entity_entry(table, mask,
										  folded_text_hash(tokens, spans[j].end_token - k,
														   spans[j].end_token));

			if (e->full_name == NO_SPAN)
				e->full_name = j;
		}
	}

	/*
	 * Mixed-case mentions first: a person's surname goes to an earlier full
	 * name.  Then mentions without case information take whatever their
	 * mixed-case spelling resolved to, earlier or later in the document.
	 */
	for (size_t pass = 0; ok && pass < 2; pass++)
		for (size_t i = 0; i < num_spans; i++)
		{
			EntityEntry *e = entry_of[i];
			bool		uninformative;

			if (cancel_requested(&steps))
			{
				ok = false;
				break;
			}
			uninformative = span_case_uninformative(&spans[i], tokens);
			if (uninformative != (pass == 1))
				continue;
			canonical_span[i] = i;
			if (!uninformative)
			{
				if (spans[i].type == 0 && e->full_name != NO_SPAN && e->full_name < i)
					canonical_span[i] = e->full_name;
			}
			else if (e->first_cased != NO_SPAN)
				canonical_span[i] = canonical_span[e->first_cased];
		}

	allocator->release(allocator->context, table);
	allocator->release(allocator->context, entry_of);
	return ok;
}

/*
 * Does a token end a sentence: ".", "!", "?" or a run of them ("...",
 * "?!")?
 */
static bool
is_sentence_final(const AaNerToken *token)
{
	if (token->len == 0)
		return false;
	for (size_t i = 0; i < token->len; i++)
		if (token->text[i] != '.' && token->text[i] != '!' && token->text[i] != '?')
			return false;
	return true;
}

/*
 * Is a token a closing quote or bracket that belongs to the sentence
 * before it ('he said."')?
 */
static bool
is_closing_punct(const AaNerToken *token)
{
	static const char *const closers[] = {"\"", "'", ")", "]", "''",
	"\xe2\x80\x9d", "\xe2\x80\x99"};

	for (size_t i = 0; i < sizeof(closers) / sizeof(closers[0]); i++)
		if (token->len == strlen(closers[i]) &&
			memcmp(token->text, closers[i], token->len) == 0)
			return true;
	return false;
}

/*
 * Does a token start with an ASCII small letter?  A period before such a
 * word is an abbreviation's ("approx. five"), not a sentence end.
 */
static bool
starts_lower_case(const AaNerToken *token)
{
	return token->len > 0 && token->text[0] >= 'a' && token->text[0] <= 'z';
}

/* Sentences longer than this are cut, so that decoding stays bounded. */
#define MAX_SENTENCE_TOKENS 200

/* A line with at most this many tokens is a headline or a label. */
#define SHORT_LINE_TOKENS 8

/*
 * Split tokens into sentences: at a blank line, after sentence-final
 * punctuation (and any closing quotes) unless a small letter follows, at
 * the end of a short line (headlines, datelines, "READ MORE"), and every
 * MAX_SENTENCE_TOKENS.
 */
size_t
aa_ner_split_sentences(const AaNerToken *tokens, size_t num_tokens,
					   const uint8_t *newlines_before, size_t *bounds)
{
	size_t		count = 0;
	size_t		start = 0;
	size_t		line_tokens = 0;
	bool		after_final = false;

	bounds[0] = 0;
	for (size_t i = 0; i < num_tokens; i++)
	{
		bool		split = false;

		if (i > start)
		{
			if (newlines_before[i] >= 2)
				split = true;
			else if (newlines_before[i] == 1 &&
					 (after_final || line_tokens <= SHORT_LINE_TOKENS))
				split = true;
			else if (after_final && !is_closing_punct(&tokens[i]) &&
					 !starts_lower_case(&tokens[i]))
				split = true;
			else if (i - start >= MAX_SENTENCE_TOKENS)
				split = true;
		}
		if (newlines_before[i] >= 1)
			line_tokens = 0;
		if (split)
		{
			bounds[++count] = i;
			start = i;
		}
		line_tokens++;
		if (is_sentence_final(&tokens[i]))
			after_final = true;
		else if (!is_closing_punct(&tokens[i]))
			after_final = false;
	}
	if (num_tokens > start)
		bounds[++count] = num_tokens;
	return count;
}

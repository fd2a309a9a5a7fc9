/*-------------------------------------------------------------------------
 *
 * aa_train.c
 *	  Command-line trainer and evaluator of the entity tagger.
 *
 *	  aa_train train TRAIN.txt MODEL [--gazetteer FILE.tsv] [--epochs N]
 *	                 [--bits B] [--case-augment PERCENT]
 *	                 [--alone-augment PERCENT] [--dev DEV.txt]
 *	  aa_train eval MODEL TEST.txt [--sentences]
 *	  aa_train tag MODEL < LINES.txt
 *	  aa_train tokenize < LINES.txt
 *
 * Training is a structured averaged perceptron over CoNLL-format files
 * (token in the first column, IOB2 tag in the last, -DOCSTART- between
 * documents, blank lines between sentences).  It is deterministic: the
 * document order of each epoch comes from a fixed-seed generator and
 * nothing depends on time or addresses, so the same data and options give
 * the same model bytes.  --dev only prints per-epoch scores on another
 * file (for tuning); it never trains on it.
 *
 * eval tags a CoNLL file with a model file through the same code path as
 * the extension and prints conlleval-style entity-level precision, recall
 * and F1 per type and overall, and the tagging speed.  It tags document by
 * document, as aa_entities does, or with --sentences each sentence alone,
 * as aa_tag does.
 *
 * This program links the core only; it includes no PostgreSQL header.
 *
 *-------------------------------------------------------------------------
 */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <xxhash.h>

#include "core/casefold.h"
#include "core/ner_model.h"
#include "core/tagger.h"
#include "core/tokenizer.h"

#define DEFAULT_EPOCHS 16
#define DEFAULT_BUCKET_BITS 22
#define HASH_SEED 0x61616e72u	/* "aanr" */
#define SHUFFLE_SEED 20030601u
#define DROPOUT_SEED 20231206u
#define DEFAULT_DROPOUT 0		/* percent of training tokens shown without
								 * their word-identity features */
#define DEFAULT_CASE_AUGMENT 15 /* percent of documents shown in lower case,
								 * and as many in upper case */
#define DEFAULT_ALONE_AUGMENT 0 /* percent of documents whose sentences are
								 * shown one by one, without context */

static const char *const label_names[] = {
	"O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-MISC", "I-MISC"
};
#define NUM_LABELS 9

/* A CoNLL corpus in memory. */
typedef struct Corpus
{
	char	   *text;			/* all token strings, NUL-separated */
	AaNerToken *tokens;
	AaNerToken *tokens_lower;	/* the same tokens in lower case */
	AaNerToken *tokens_upper;	/* and in upper case (ASCII letters) */
	int		   *gold;			/* label index per token */
	size_t		num_tokens;
	size_t	   *sentence_starts;	/* token index of each sentence */
	size_t		num_sentences;
	size_t	   *doc_first_sentence; /* num_docs + 1 entries */
	size_t		num_docs;
} Corpus;

/* Perceptron weights with the accumulators needed for averaging. */
typedef struct Perceptron
{
	uint32_t	bucket_bits;
	uint32_t	mask;
	float	   *weights;		/* current weights */
	double	   *accum;			/* sum of step * update */
	float		transition[(NUM_LABELS + 1) * NUM_LABELS];
	double		transition_accum[(NUM_LABELS + 1) * NUM_LABELS];
	double		step;			/* updates are counted per sentence */
} Perceptron;

/*
 * malloc that exits on failure: the tools have nothing to recover.
 */
static void *
xmalloc(size_t size)
{
	void	   *p = malloc(size == 0 ? 1 : size);

	if (p == NULL)
	{
		fprintf(stderr, "aa_train: out of memory\n");
		exit(2);
	}
	return p;
}

/* Allocator callback for the core: plain malloc (NULL when out of memory). */
static void *
tool_alloc(void *context, size_t size)
{
	(void) context;
	return malloc(size == 0 ? 1 : size);
}

/* Allocator callback for the core: plain free. */
static void
tool_release(void *context, void *pointer)
{
	(void) context;
	free(pointer);
}

static const AaNerAllocator tool_allocator = {tool_alloc, tool_release, NULL};

static char *read_file(const char *path, size_t *len_out);

/* A gazetteer built in memory from a TSV file. */
typedef struct GazetteerTable
{
	uint64_t   *entries;
	uint32_t	slot_bits;
	int			max_tokens;
	size_t		num_phrases;
	size_t		num_entries;	/* phrases and prefixes */
	AaNerGazetteer view;		/* what the core reads */
} GazetteerTable;

/*
 * Add bits to the gazetteer entry of a phrase hash, creating the entry
 * (see ner_model.h for the layout).
 */
static void
insert_gazetteer_key(GazetteerTable *table, uint64_t hash, unsigned int bits)
{
	size_t		mask = ((size_t) 1 << table->slot_bits) - 1;
	uint64_t	key = aa_ner_gazetteer_key(hash);
	size_t		slot = (size_t) ((hash >> 32) & mask);

	for (;;)
	{
		if (table->entries[slot] == 0)
		{
			table->entries[slot] = key | bits;
			table->num_entries++;
			return;
		}
		if ((table->entries[slot] & ~(uint64_t) AA_NER_GAZETTEER_VALUE_BITS) == key)
		{
			table->entries[slot] |= bits;
			return;
		}
		slot = (slot + 1) & mask;
	}
}

/*
 * Read a gazetteer file: one phrase per line as "TYPE<TAB>phrase", TYPE
 * one of PER, LOC, ORG, MISC; '#' starts a comment line.  Each phrase is
 * tokenized and lower-cased exactly as the tagger does it at run time, and
 * its hash goes into an open-addressing table at most half full.
 */
static void
load_gazetteer(const char *path, GazetteerTable *table)
{
	size_t		len;
	char	   *text = NULL;
	size_t		lines = 1;
	size_t		slots;
	char	   *line;
	char	   *save = NULL;

	memset(table, 0, sizeof(*table));
	table->slot_bits = 4;
	if (path != NULL)
	{
		text = read_file(path, &len);
		for (size_t i = 0; i < len; i++)
			if (text[i] == '\n')
				lines++;
	}
	/* Room for every phrase and a prefix or two, at most half full. */
	while (((size_t) 1 << table->slot_bits) < 3 * lines)
		table->slot_bits++;
	slots = (size_t) 1 << table->slot_bits;
	table->entries = calloc(slots, sizeof(uint64_t));
	if (table->entries == NULL)
		exit(2);
	for (line = text ? strtok_r(text, "\n", &save) : NULL; line != NULL;
		 line = strtok_r(NULL, "\n", &save))
	{
		char	   *tab = strchr(line, '\t');
		int			type = -1;
		AaTokenizer tz;
		AaToken		tok;
		AaNerToken	tokens[AA_NER_MAX_GAZETTEER_TOKENS + 1];
		size_t		count = 0;
		size_t		bounds[2];
		AaNerDoc	doc;
		char		key[256];
		size_t		key_len;

		if (line[0] == '#' || tab == NULL)
			continue;
		*tab = '\0';
		for (int t = 0; t < AA_NER_NUM_TYPES; t++)
			if (strcmp(line, aa_ner_type_names[t]) == 0)
				type = t;
		if (type < 0)
			continue;
		aa_tokenizer_init(&tz, tab + 1, strlen(tab + 1));
		while (aa_tokenizer_next(&tz, &tok) && count <= AA_NER_MAX_GAZETTEER_TOKENS)
		{
			tokens[count].text = tab + 1 + tok.byte_start;
			tokens[count].len = tok.byte_len;
			count++;
		}
		if (count == 0 || count > AA_NER_MAX_GAZETTEER_TOKENS)
			continue;
		bounds[0] = 0;
		bounds[1] = count;
		if (!aa_ner_doc_init(&doc, tokens, count, bounds, 1, 0, NULL, NULL, &tool_allocator))
			exit(2);
		/* The phrase itself, then each shorter start of it as a prefix. */
		for (size_t prefix = count; prefix >= 1; prefix--)
		{
			key_len = aa_ner_doc_phrase_key(&doc, 0, prefix, key, sizeof(key));
			if (key_len == 0)
				break;
			insert_gazetteer_key(table, aa_ner_gazetteer_hash(key, key_len),
								 prefix == count ? (1u << type) : AA_NER_GAZETTEER_CONTINUES);
		}
		aa_ner_doc_free(&doc);
		table->num_phrases++;
		if ((int) count > table->max_tokens)
			table->max_tokens = (int) count;
	}
	free(text);

	/*
	 * Move the entries into the smallest table that keeps them at most 60%
	 * full (a large gazetteer would otherwise take most of the model file).
	 */
	{
		uint32_t	bits = 4;
		uint64_t   *old = table->entries;
		size_t		old_slots = slots;

		while ((size_t) 6 * ((size_t) 1 << bits) < 10 * (table->num_entries + 1))
			bits++;
		slots = (size_t) 1 << bits;
		table->entries = calloc(slots, sizeof(uint64_t));
		if (table->entries == NULL)
			exit(2);
		table->slot_bits = bits;
		for (size_t i = 0; i < old_slots; i++)
			if (old[i] != 0)
			{
				size_t		slot = (size_t) ((old[i] >> 32) & (slots - 1));

				while (table->entries[slot] != 0)
					slot = (slot + 1) & (slots - 1);
				table->entries[slot] = old[i];
			}
		free(old);
	}
	table->view.entries = table->entries;
	table->view.slot_mask = slots - 1;
	table->view.max_tokens = table->max_tokens;
	if (path != NULL)
		fprintf(stderr, "aa_train: gazetteer: %zu phrases (%zu entries with prefixes), up to %d tokens\n",
				table->num_phrases, table->num_entries, table->max_tokens);
}

/*
 * Map an IOB2 tag to its label index; unknown tags (and IOB1-style tags
 * are not expected) become O with a warning count.
 */
static int
label_index(const char *tag, int *unknown)
{
	for (int l = 0; l < NUM_LABELS; l++)
		if (strcmp(tag, label_names[l]) == 0)
			return l;
	(*unknown)++;
	return 0;
}

/*
 * Read a whole file into a NUL-terminated buffer.
 */
static char *
read_file(const char *path, size_t *len_out)
{
	FILE	   *f = fopen(path, "rb");
	char	   *buf;
	long		len;

	if (f == NULL)
	{
		fprintf(stderr, "aa_train: cannot open \"%s\"\n", path);
		exit(2);
	}
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = xmalloc((size_t) len + 1);
	if (fread(buf, 1, (size_t) len, f) != (size_t) len)
	{
		fprintf(stderr, "aa_train: cannot read \"%s\"\n", path);
		exit(2);
	}
	buf[len] = '\0';
	fclose(f);
	*len_out = (size_t) len;
	return buf;
}

/*
 * Read one or more files (paths separated by commas) into one buffer,
 * each file starting a new document.
 */
static char *
read_files(const char *paths, size_t *len_out)
{
	char	   *list = strdup(paths);
	char	   *save = NULL;
	char	   *all = NULL;
	size_t		total = 0;

	if (list == NULL)
		exit(2);
	for (char *path = strtok_r(list, ",", &save); path != NULL;
		 path = strtok_r(NULL, ",", &save))
	{
		size_t		len;
		char	   *text = read_file(path, &len);
		static const char sep[] = "\n-DOCSTART-\n\n";

		all = realloc(all, total + len + sizeof(sep) + 1);
		if (all == NULL)
			exit(2);
		memcpy(all + total, sep, sizeof(sep) - 1);
		total += sizeof(sep) - 1;
		memcpy(all + total, text, len);
		total += len;
		all[total] = '\0';
		free(text);
	}
	free(list);
	*len_out = total;
	return all;
}

/*
 * Split the sentences of a corpus that came from files without sentence
 * breaks (the worldwide newswire marks paragraphs only) with the splitter
 * aa_entities uses, so that training and evaluation see sentences as the
 * extension does.  unsplit[s] says which sentences to split.
 */
static void
resplit_sentences(Corpus *corpus, const bool *unsplit)
{
	size_t	   *starts = xmalloc(sizeof(size_t) * (corpus->num_tokens + 2));
	size_t	   *docs = xmalloc(sizeof(size_t) * (corpus->num_docs + 2));
	size_t	   *bounds = xmalloc(sizeof(size_t) * (corpus->num_tokens + 2));
	uint8_t    *newlines = calloc(corpus->num_tokens + 1, 1);
	size_t		count = 0;
	size_t		d = 0;

	if (newlines == NULL)
		exit(2);
	for (size_t s = 0; s < corpus->num_sentences; s++)
	{
		size_t		b = corpus->sentence_starts[s];
		size_t		n = corpus->sentence_starts[s + 1] - b;

		while (d <= corpus->num_docs && corpus->doc_first_sentence[d] == s)
			docs[d++] = count;
		if (!unsplit[s])
		{
			starts[count++] = b;
			continue;
		}
		{
			size_t		k = aa_ner_split_sentences(corpus->tokens + b, n, newlines + b, bounds);

			for (size_t i = 0; i < k; i++)
				starts[count++] = b + bounds[i];
		}
	}
	while (d <= corpus->num_docs)
		docs[d++] = count;
	starts[count] = corpus->num_tokens;
	free(corpus->sentence_starts);
	free(corpus->doc_first_sentence);
	free(bounds);
	free(newlines);
	corpus->sentence_starts = starts;
	corpus->doc_first_sentence = docs;
	corpus->num_sentences = count;
}

/*
 * Make the gold labels valid IOB2 the way conlleval reads them: an I-X
 * that does not continue an X entity (the worldwide files have about
 * 1,300 such, "African/B-MISC Development/I-ORG Bank/I-ORG", where the
 * mapping of nested classes left a nationality inside an organisation)
 * starts an entity, so becomes B-X.  The entities scored are the same;
 * the perceptron, whose decoder allows only valid IOB2, then gets gold
 * sequences it can reach.
 */
static void
repair_iob2(Corpus *corpus)
{
	size_t		repaired = 0;

	for (size_t s = 0; s < corpus->num_sentences; s++)
		for (size_t i = corpus->sentence_starts[s]; i < corpus->sentence_starts[s + 1]; i++)
		{
			const char *tag = label_names[corpus->gold[i]];
			const char *prev = i > corpus->sentence_starts[s] ? label_names[corpus->gold[i - 1]] : "O";

			if (tag[0] == 'I' && (prev[0] == 'O' || strcmp(prev + 2, tag + 2) != 0))
			{
				corpus->gold[i]--;	/* B-X precedes I-X in label_names */
				repaired++;
			}
		}
	if (repaired > 0)
		fprintf(stderr, "aa_train: %zu I- tags that start an entity read as B-\n", repaired);
}

/*
 * Parse CoNLL files (paths separated by commas): one token per line, the
 * first column the token and the last its tag, columns separated by
 * spaces or tabs.  Blocks of tab-separated lines are paragraphs (the
 * worldwide newswire's format) and are split into sentences.
 */
static void
load_corpus(const char *path, Corpus *corpus)
{
	size_t		len;
	char	   *text = read_files(path, &len);
	size_t		max_lines = 1;
	size_t		line_start = 0;
	bool		in_sentence = false;
	bool		any_unsplit = false;
	bool	   *unsplit;
	int			unknown = 0;

	for (size_t i = 0; i < len; i++)
		if (text[i] == '\n')
			max_lines++;
	memset(corpus, 0, sizeof(*corpus));
	corpus->text = text;
	corpus->tokens = xmalloc(sizeof(AaNerToken) * max_lines);
	corpus->gold = xmalloc(sizeof(int) * max_lines);
	corpus->sentence_starts = xmalloc(sizeof(size_t) * (max_lines + 1));
	corpus->doc_first_sentence = xmalloc(sizeof(size_t) * (max_lines + 2));
	unsplit = xmalloc(sizeof(bool) * (max_lines + 1));
	corpus->doc_first_sentence[0] = 0;

	while (line_start <= len)
	{
		size_t		line_end = line_start;
		char	   *line;
		char	   *first_space;
		char	   *last_space;

		while (line_end < len && text[line_end] != '\n')
			line_end++;
		text[line_end] = '\0';
		line = text + line_start;
		if (line_end > line_start && line[line_end - line_start - 1] == '\r')
			line[line_end - line_start - 1] = '\0';
		line_start = line_end + 1;

		if (line[0] == '\0')
		{
			in_sentence = false;
			continue;
		}
		if (strncmp(line, "-DOCSTART-", 10) == 0)
		{
			in_sentence = false;
			if (corpus->num_sentences > corpus->doc_first_sentence[corpus->num_docs])
				corpus->doc_first_sentence[++corpus->num_docs] = corpus->num_sentences;
			continue;
		}
		first_space = line + strcspn(line, " \t");
		if (*first_space == '\0')
			continue;
		last_space = first_space;
		for (char *c = first_space; *c; c++)
			if (*c == ' ' || *c == '\t')
				last_space = c;
		if (!in_sentence)
		{
			unsplit[corpus->num_sentences] = (*first_space == '\t');
			any_unsplit |= unsplit[corpus->num_sentences];
			corpus->sentence_starts[corpus->num_sentences++] = corpus->num_tokens;
			in_sentence = true;
		}
		*first_space = '\0';
		corpus->tokens[corpus->num_tokens].text = line;
		corpus->tokens[corpus->num_tokens].len = strlen(line);
		corpus->gold[corpus->num_tokens] = label_index(last_space + 1, &unknown);
		corpus->num_tokens++;
	}
	if (corpus->num_sentences > corpus->doc_first_sentence[corpus->num_docs])
		corpus->doc_first_sentence[++corpus->num_docs] = corpus->num_sentences;
	corpus->sentence_starts[corpus->num_sentences] = corpus->num_tokens;
	if (any_unsplit)
		resplit_sentences(corpus, unsplit);
	free(unsplit);
	repair_iob2(corpus);
	if (unknown > 0)
		fprintf(stderr, "aa_train: %d unknown tags in \"%s\" read as O\n", unknown, path);
}

/* ------------------------------------------------------------------------
 * Word clusters, induced from unlabelled text.
 *
 * Each word of the vocabulary (lower-cased as the tagger lower-cases it)
 * is described by the words seen just before and just after it: counts
 * over the CLUSTER_CONTEXT most frequent tokens on each side, damped as
 * log(1 + count) and scaled to unit length.  Spherical k-means groups the
 * CLUSTER_VOCABULARY most frequent words with letters (seen at least
 * CLUSTER_MIN_COUNT times) three times, into 64, 256 and 1024 clusters,
 * each started from the vectors of the most frequent words, so that the
 * result depends on nothing but the text.  Exchange/k-means clustering of
 * context vectors rather than Brown clustering: it runs in about a minute
 * on one core for the ~5 million words of ../shared, where Brown's
 * agglomeration over a vocabulary this size takes hours.
 * ------------------------------------------------------------------------
 */
#define CLUSTER_CONTEXT 1000
#define CLUSTER_VOCABULARY 80000
#define CLUSTER_MIN_COUNT 3
#define CLUSTER_ITERATIONS 8

/* One distinct lower-cased token of the unlabelled text. */
typedef struct VocabEntry
{
	char	   *word;
	uint32_t	len;
	uint32_t	count;
	uint64_t	hash;			/* XXH3_64bits of the word, as the tagger */
	bool		has_letter;
} VocabEntry;

/* The vocabulary and the token stream (ids) of the unlabelled text. */
typedef struct Unlabelled
{
	VocabEntry *entries;
	size_t		num_entries;
	size_t		capacity;
	uint32_t   *slots;			/* open addressing: id + 1, 0 empty */
	size_t		slot_mask;
	uint32_t   *stream;			/* token ids; UINT32_MAX between texts */
	size_t		stream_len;
	size_t		stream_capacity;
	AaBuf		scratch;
} Unlabelled;

static AaNerClusters cluster_view;
static const AaNerClusters *clusters = NULL;

/* Append one id to the token stream. */
static void
stream_push(Unlabelled *u, uint32_t id)
{
	if (u->stream_len == u->stream_capacity)
	{
		u->stream_capacity = u->stream_capacity ? u->stream_capacity * 2 : 1 << 20;
		u->stream = realloc(u->stream, sizeof(uint32_t) * u->stream_capacity);
		if (u->stream == NULL)
			exit(2);
	}
	u->stream[u->stream_len++] = id;
}

/* The id of a lower-cased word, added to the vocabulary when new. */
static uint32_t
vocab_id(Unlabelled *u, const char *word, size_t len)
{
	uint64_t	hash = XXH3_64bits(word, len);
	size_t		slot;

	if ((u->num_entries + 1) * 2 > u->slot_mask + 1)
	{
		size_t		nslots = u->slot_mask ? (u->slot_mask + 1) * 2 : 1 << 16;

		free(u->slots);
		u->slots = calloc(nslots, sizeof(uint32_t));
		if (u->slots == NULL)
			exit(2);
		u->slot_mask = nslots - 1;
		for (size_t e = 0; e < u->num_entries; e++)
		{
			slot = u->entries[e].hash & u->slot_mask;
			while (u->slots[slot] != 0)
				slot = (slot + 1) & u->slot_mask;
			u->slots[slot] = (uint32_t) e + 1;
		}
	}
	slot = hash & u->slot_mask;
	while (u->slots[slot] != 0)
	{
		VocabEntry *e = &u->entries[u->slots[slot] - 1];

		if (e->hash == hash && e->len == len && memcmp(e->word, word, len) == 0)
		{
			e->count++;
			return u->slots[slot] - 1;
		}
		slot = (slot + 1) & u->slot_mask;
	}
	if (u->num_entries == u->capacity)
	{
		u->capacity = u->capacity ? u->capacity * 2 : 1 << 15;
		u->entries = realloc(u->entries, sizeof(VocabEntry) * u->capacity);
		if (u->entries == NULL)
			exit(2);
	}
	{
		VocabEntry *e = &u->entries[u->num_entries];

		e->word = xmalloc(len + 1);
		memcpy(e->word, word, len);
		e->word[len] = '\0';
		e->len = (uint32_t) len;
		e->count = 1;
		e->hash = hash;
		e->has_letter = false;
		for (size_t i = 0; i < len; i++)
			if ((word[i] >= 'a' && word[i] <= 'z') || (unsigned char) word[i] >= 0xC0)
				e->has_letter = true;
	}
	u->slots[slot] = (uint32_t) u->num_entries + 1;
	return (uint32_t) u->num_entries++;
}

/*
 * Add one token, lower-cased as the tagger does it (ASCII directly, other
 * text through the shared ICU case folding).
 */
static void
add_token(Unlabelled *u, const char *text, size_t len)
{
	char		small[256];
	bool		ascii = true;

	for (size_t i = 0; i < len; i++)
		if ((unsigned char) text[i] >= 128)
			ascii = false;
	if (ascii && len <= sizeof(small))
	{
		for (size_t i = 0; i < len; i++)
			small[i] = (text[i] >= 'A' && text[i] <= 'Z') ? (char) (text[i] + 32) : text[i];
		stream_push(u, vocab_id(u, small, len));
	}
	else if (!ascii && aa_lower_utf8(text, len, "", &u->scratch))
		stream_push(u, vocab_id(u, u->scratch.data, u->scratch.len));
	else
		stream_push(u, vocab_id(u, text, len));
}

/*
 * Tokenize a plain text with the extension's tokenizer into the stream.
 * SGML files (Reuters-21578) keep only what is inside <BODY>..</BODY>,
 * with the markup and entities blanked out.
 */
static void
add_text(Unlabelled *u, char *text, size_t len, bool sgml)
{
	AaTokenizer tz;
	AaToken		tok;

	if (sgml)
	{
		bool		in_body = false;
		size_t		i = 0;

		while (i < len)
		{
			if (strncmp(text + i, "<BODY>", 6) == 0)
			{
				in_body = true;
				memset(text + i, ' ', 6);
				i += 6;
				continue;
			}
			if (strncmp(text + i, "</BODY>", 7) == 0)
				in_body = false;
			if (!in_body || text[i] == '<')
			{
				if (text[i] == '<')
					while (i < len && text[i] != '>')
						text[i++] = ' ';
				if (i < len)
					text[i++] = ' ';
				continue;
			}
			if (text[i] == '&')
				while (i < len && text[i] != ';' && text[i] != ' ')
					text[i++] = ' ';
			i++;
		}
	}
	aa_tokenizer_init(&tz, text, len);
	while (aa_tokenizer_next(&tz, &tok))
		add_token(u, text + tok.byte_start, tok.byte_len);
	stream_push(u, UINT32_MAX);
}

/* Compare two names for qsort (directory listings in a fixed order). */
static int
compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/*
 * Read one unlabelled source: a directory (every file under it, in name
 * order), a CoNLL file ("conll:PATH": its first column), an .sgm file or
 * a plain text file.
 */
static void
add_source(Unlabelled *u, const char *path)
{
	DIR		   *dir;
	size_t		len;
	char	   *text;

	if (strncmp(path, "conll:", 6) == 0)
	{
		Corpus		c;

		load_corpus(path + 6, &c);
		for (size_t i = 0; i < c.num_tokens; i++)
			add_token(u, c.tokens[i].text, c.tokens[i].len);
		stream_push(u, UINT32_MAX);
		return;
	}
	dir = opendir(path);
	if (dir != NULL)
	{
		struct dirent *de;
		char	  **names = NULL;
		size_t		count = 0;

		while ((de = readdir(dir)) != NULL)
		{
			if (de->d_name[0] == '.')
				continue;
			names = realloc(names, sizeof(char *) * (count + 1));
			names[count] = xmalloc(strlen(path) + strlen(de->d_name) + 2);
			sprintf(names[count++], "%s/%s", path, de->d_name);
		}
		closedir(dir);
		qsort(names, count, sizeof(char *), compare_names);
		for (size_t i = 0; i < count; i++)
		{
			add_source(u, names[i]);
			free(names[i]);
		}
		free(names);
		return;
	}
	len = strlen(path);
	if (len > 4 && strcmp(path + len - 4, ".sgm") != 0 && strcmp(path + len - 4, ".txt") != 0)
		return;					/* READMEs, DTDs, licences */
	text = read_file(path, &len);
	add_text(u, text, len, strcmp(path + strlen(path) - 4, ".sgm") == 0);
	free(text);
}

/* Order of vocabulary ids by descending count (ties: by word). */
static const VocabEntry *sort_entries;
static int
compare_by_count(const void *a, const void *b)
{
	const VocabEntry *x = &sort_entries[*(const uint32_t *) a];
	const VocabEntry *y = &sort_entries[*(const uint32_t *) b];

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return strcmp(x->word, y->word);
}

/*
 * Spherical k-means of the rows of a sparse matrix (CSR: row_start, dims,
 * values; rows have unit length) into k clusters, started from the first k
 * rows (the most frequent words).  Writes each row's cluster to assign.
 */
static void
kmeans(size_t rows, const size_t *row_start, const uint32_t *dims,
	   const float *values, size_t num_dims, int k, int *assign)
{
	float	   *centroids = calloc(num_dims * k, sizeof(float));	/* dim-major */
	float	   *scores = xmalloc(sizeof(float) * k);

	if (centroids == NULL)
		exit(2);
	for (int c = 0; c < k; c++)
		for (size_t j = row_start[c]; j < row_start[c + 1]; j++)
			centroids[(size_t) dims[j] * k + c] = values[j];
	for (int iteration = 0; iteration < CLUSTER_ITERATIONS; iteration++)
	{
		size_t		moved = 0;
		double	   *norms = calloc(k, sizeof(double));

		for (size_t r = 0; r < rows; r++)
		{
			int			best = 0;

			memset(scores, 0, sizeof(float) * k);
			for (size_t j = row_start[r]; j < row_start[r + 1]; j++)
			{
				const float *col = centroids + (size_t) dims[j] * k;
				float		v = values[j];

				for (int c = 0; c < k; c++)
					scores[c] += v * col[c];
			}
			for (int c = 1; c < k; c++)
				if (scores[c] > scores[best])
					best = c;
			if (iteration == 0 || assign[r] != best)
				moved++;
			assign[r] = best;
		}
		/* New centroids: the normalised sums of their rows. */
		memset(centroids, 0, sizeof(float) * num_dims * k);
		for (size_t r = 0; r < rows; r++)
			for (size_t j = row_start[r]; j < row_start[r + 1]; j++)
				centroids[(size_t) dims[j] * k + assign[r]] += values[j];
		for (size_t d = 0; d < num_dims; d++)
			for (int c = 0; c < k; c++)
				norms[c] += (double) centroids[d * k + c] * centroids[d * k + c];
		for (size_t d = 0; d < num_dims; d++)
			for (int c = 0; c < k; c++)
				if (norms[c] > 0)
					centroids[d * k + c] = (float) (centroids[d * k + c] / sqrt(norms[c]));
		free(norms);
		fprintf(stderr, "aa_train: clusters k=%d iteration %d: %zu words moved\n",
				k, iteration + 1, moved);
	}
	free(centroids);
	free(scores);
}

/* Comparison of packed (row, dim) pairs for qsort. */
static int
compare_u64(const void *a, const void *b)
{
	uint64_t	x = *(const uint64_t *) a;
	uint64_t	y = *(const uint64_t *) b;

	return x < y ? -1 : x > y;
}

/*
 * Induce the word clusters from the sources (comma-separated, see
 * add_source) and build the model's cluster table in *table_out.
 */
static void
induce_clusters(const char *sources, uint64_t **table_out, uint32_t *slot_bits_out)
{
	Unlabelled	u;
	char	   *list = strdup(sources);
	char	   *save = NULL;
	uint32_t   *order;
	int32_t    *context_of;		/* vocabulary id -> context dimension or -1 */
	int32_t    *row_of;			/* vocabulary id -> clustered row or -1 */
	size_t		rows = 0;
	uint64_t   *pairs;
	size_t		num_pairs = 0;
	size_t	   *row_start;
	uint32_t   *dims;
	float	   *values;
	size_t		nnz = 0;
	int		   *assign[3];
	static const int ks[3] = {64, 256, 1024};
	uint32_t	slot_bits = 4;
	uint64_t   *table;

	memset(&u, 0, sizeof(u));
	for (char *path = strtok_r(list, ",", &save); path != NULL; path = strtok_r(NULL, ",", &save))
		add_source(&u, path);
	free(list);
	aa_buf_free(&u.scratch);

	order = xmalloc(sizeof(uint32_t) * u.num_entries);
	for (size_t i = 0; i < u.num_entries; i++)
		order[i] = (uint32_t) i;
	sort_entries = u.entries;
	qsort(order, u.num_entries, sizeof(uint32_t), compare_by_count);
	context_of = xmalloc(sizeof(int32_t) * u.num_entries);
	row_of = xmalloc(sizeof(int32_t) * u.num_entries);
	for (size_t i = 0; i < u.num_entries; i++)
	{
		context_of[i] = -1;
		row_of[i] = -1;
	}
	for (size_t i = 0; i < u.num_entries && i < CLUSTER_CONTEXT; i++)
		context_of[order[i]] = (int32_t) i;
	for (size_t i = 0; i < u.num_entries && rows < CLUSTER_VOCABULARY; i++)
	{
		const VocabEntry *e = &u.entries[order[i]];

		if (e->count < CLUSTER_MIN_COUNT)
			break;
		if (e->has_letter)
			row_of[order[i]] = (int32_t) rows++;
	}
	fprintf(stderr, "aa_train: unlabelled text: %zu tokens, %zu distinct; clustering %zu words\n",
			u.stream_len, u.num_entries, rows);

	/* (row, context dimension) pairs: left neighbours 0..C-1, right C..2C-1 */
	pairs = xmalloc(sizeof(uint64_t) * (2 * u.stream_len + 1));
	for (size_t t = 0; t < u.stream_len; t++)
	{
		uint32_t	id = u.stream[t];
		int32_t		row;

		if (id == UINT32_MAX || (row = row_of[id]) < 0)
			continue;
		if (t > 0 && u.stream[t - 1] != UINT32_MAX && context_of[u.stream[t - 1]] >= 0)
			pairs[num_pairs++] = ((uint64_t) row << 32) | (uint32_t) context_of[u.stream[t - 1]];
		if (t + 1 < u.stream_len && u.stream[t + 1] != UINT32_MAX &&
			context_of[u.stream[t + 1]] >= 0)
			pairs[num_pairs++] = ((uint64_t) row << 32) |
				(uint32_t) (CLUSTER_CONTEXT + context_of[u.stream[t + 1]]);
	}
	qsort(pairs, num_pairs, sizeof(uint64_t), compare_u64);
	row_start = calloc(rows + 1, sizeof(size_t));
	dims = xmalloc(sizeof(uint32_t) * (num_pairs + 1));
	values = xmalloc(sizeof(float) * (num_pairs + 1));
	for (size_t i = 0; i < num_pairs;)
	{
		size_t		j = i;

		while (j < num_pairs && pairs[j] == pairs[i])
			j++;
		dims[nnz] = (uint32_t) pairs[i];
		values[nnz] = (float) log(1.0 + (double) (j - i));
		row_start[(pairs[i] >> 32) + 1]++;
		nnz++;
		i = j;
	}
	free(pairs);
	for (size_t r = 0; r < rows; r++)
		row_start[r + 1] += row_start[r];
	for (size_t r = 0; r < rows; r++)
	{
		double		norm = 0;

		for (size_t j = row_start[r]; j < row_start[r + 1]; j++)
			norm += (double) values[j] * values[j];
		for (size_t j = row_start[r]; j < row_start[r + 1]; j++)
			values[j] = (float) (values[j] / sqrt(norm));
	}
	for (int level = 0; level < 3; level++)
	{
		assign[level] = xmalloc(sizeof(int) * (rows + 1));
		kmeans(rows, row_start, dims, values, 2 * CLUSTER_CONTEXT, ks[level], assign[level]);
	}

	/* The table: at most half full. */
	while (((size_t) 1 << slot_bits) < 2 * (rows + 1))
		slot_bits++;
	table = calloc((size_t) 1 << slot_bits, sizeof(uint64_t));
	if (table == NULL)
		exit(2);
	for (size_t i = 0; i < u.num_entries; i++)
	{
		int32_t		r = row_of[i];
		uint64_t	value;
		size_t		mask = ((size_t) 1 << slot_bits) - 1;
		size_t		slot;

		if (r < 0)
			continue;
		value = (uint64_t) assign[0][r] |
			((uint64_t) assign[1][r] << AA_NER_CLUSTER_COARSE_BITS) |
			((uint64_t) assign[2][r] << (AA_NER_CLUSTER_COARSE_BITS + AA_NER_CLUSTER_MIDDLE_BITS));
		slot = (size_t) (u.entries[i].hash >> 32) & mask;
		while (table[slot] != 0)
			slot = (slot + 1) & mask;
		table[slot] = aa_ner_cluster_key(u.entries[i].hash) | value;
	}
	*table_out = table;
	*slot_bits_out = slot_bits;
	cluster_view.entries = table;
	cluster_view.slot_mask = ((uint64_t) 1 << slot_bits) - 1;
	clusters = &cluster_view;
	for (int level = 0; level < 3; level++)
		free(assign[level]);
	free(row_start);
	free(dims);
	free(values);
	free(order);
	free(context_of);
	free(row_of);
	for (size_t i = 0; i < u.num_entries; i++)
		free(u.entries[i].word);
	free(u.entries);
	free(u.slots);
	free(u.stream);
}

/*
 * Make the lower-case and upper-case copies of a corpus's tokens, which
 * training shows the model now and then so that it also copes with text
 * written all in capitals or all in small letters.
 */
static void
make_case_variants(Corpus *corpus)
{
	corpus->tokens_lower = xmalloc(sizeof(AaNerToken) * (corpus->num_tokens + 1));
	corpus->tokens_upper = xmalloc(sizeof(AaNerToken) * (corpus->num_tokens + 1));
	for (size_t i = 0; i < corpus->num_tokens; i++)
	{
		const AaNerToken *t = &corpus->tokens[i];
		char	   *lower = xmalloc(t->len + 1);
		char	   *upper = xmalloc(t->len + 1);

		for (size_t k = 0; k < t->len; k++)
		{
			char		c = t->text[k];

			lower[k] = (c >= 'A' && c <= 'Z') ? (char) (c - 'A' + 'a') : c;
			upper[k] = (c >= 'a' && c <= 'z') ? (char) (c - 'a' + 'A') : c;
		}
		corpus->tokens_lower[i].text = lower;
		corpus->tokens_lower[i].len = t->len;
		corpus->tokens_upper[i].text = upper;
		corpus->tokens_upper[i].len = t->len;
	}
}

/*
 * The sentence bounds of document d relative to its first token, as the
 * core expects them; returns the number of sentences.
 */
static size_t
doc_bounds(const Corpus *corpus, size_t d, size_t *bounds, size_t *first_token)
{
	size_t		s0 = corpus->doc_first_sentence[d];
	size_t		s1 = corpus->doc_first_sentence[d + 1];

	*first_token = corpus->sentence_starts[s0];
	for (size_t s = s0; s <= s1; s++)
		bounds[s - s0] = corpus->sentence_starts[s] - *first_token;
	return s1 - s0;
}

/*
 * Deterministic pseudo-random generator (xorshift64*) for shuffling.
 */
static uint64_t
next_random(uint64_t *state)
{
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return *state * 2685821657736338717ULL;
}

/*
 * Emission scores of a sentence under float weights.
 */
static void
score_sentence(const float *weights, uint32_t mask, const uint32_t *features,
			   const int *counts, size_t n, float *emission)
{
	for (size_t k = 0; k < n; k++)
	{
		float		sums[NUM_LABELS] = {0};
		const uint32_t *f = features + k * AA_NER_MAX_FEATURES;

		for (int j = 0; j < counts[k]; j++)
		{
			const float *row = weights + (size_t) (f[j] & mask) * NUM_LABELS;

			for (int l = 0; l < NUM_LABELS; l++)
				sums[l] += row[l];
		}
		memcpy(emission + k * NUM_LABELS, sums, sizeof(sums));
	}
}

/*
 * Add delta to one weight, keeping the averaging accumulator in step.
 */
static inline void
update_weight(float *w, double *acc, double step, float delta)
{
	*w += delta;
	*acc += step * delta;
}

/*
 * Averaged weights: w - accum / step (the usual lazy-averaging identity).
 */
static void
averaged(const Perceptron *p, float *weights_out, float *transition_out)
{
	size_t		total = ((size_t) 1 << p->bucket_bits) * NUM_LABELS;

	for (size_t i = 0; i < total; i++)
		weights_out[i] = (float) (p->weights[i] - p->accum[i] / p->step);
	for (int i = 0; i < (NUM_LABELS + 1) * NUM_LABELS; i++)
		transition_out[i] = (float) (p->transition[i] - p->transition_accum[i] / p->step);
}

/* Entity-level counts for conlleval-style scores. */
typedef struct Scores
{
	long		correct[AA_NER_NUM_TYPES];
	long		guessed[AA_NER_NUM_TYPES];
	long		gold[AA_NER_NUM_TYPES];
} Scores;

/*
 * Compare predicted and gold labels of one sentence at the entity level
 * (conlleval: an entity is correct when type, start and end all match).
 */
static void
score_entities(const int *gold, const int *pred, size_t n,
			   const AaNerLabelSet *label_set, Scores *scores)
{
	AaNerSpan  *gs = xmalloc(sizeof(AaNerSpan) * (n + 1));
	AaNerSpan  *ps = xmalloc(sizeof(AaNerSpan) * (n + 1));
	size_t		ng = aa_ner_spans(gold, n, label_set, gs);
	size_t		np = aa_ner_spans(pred, n, label_set, ps);
	size_t		j = 0;

	for (size_t i = 0; i < ng; i++)
		scores->gold[gs[i].type]++;
	for (size_t i = 0; i < np; i++)
		scores->guessed[ps[i].type]++;
	for (size_t i = 0; i < np; i++)
	{
		while (j < ng && gs[j].first_token < ps[i].first_token)
			j++;
		if (j < ng && gs[j].first_token == ps[i].first_token &&
			gs[j].end_token == ps[i].end_token && gs[j].type == ps[i].type)
			scores->correct[ps[i].type]++;
	}
	free(gs);
	free(ps);
}

/*
 * Print precision, recall and F1 per type and overall; returns overall F1.
 */
static double
print_scores(const Scores *scores, bool quiet)
{
	long		c = 0,
				g = 0,
				p = 0;
	double		precision,
				recall,
				f1;

	for (int t = 0; t < AA_NER_NUM_TYPES; t++)
	{
		double		tp = scores->guessed[t] ? 100.0 * scores->correct[t] / scores->guessed[t] : 0;
		double		tr = scores->gold[t] ? 100.0 * scores->correct[t] / scores->gold[t] : 0;
		double		tf = tp + tr > 0 ? 2 * tp * tr / (tp + tr) : 0;

		c += scores->correct[t];
		g += scores->gold[t];
		p += scores->guessed[t];
		if (!quiet)
			printf("%-8s precision: %6.2f%%; recall: %6.2f%%; FB1: %6.2f  %ld\n",
				   aa_ner_type_names[t], tp, tr, tf, scores->guessed[t]);
	}
	precision = p ? 100.0 * c / p : 0;
	recall = g ? 100.0 * c / g : 0;
	f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0;
	if (!quiet)
		printf("%-8s precision: %6.2f%%; recall: %6.2f%%; FB1: %6.2f  (%ld found, %ld gold)\n",
			   "overall", precision, recall, f1, p, g);
	return f1;
}

/*
 * Tag a corpus document by document with float weights (during training,
 * for the per-epoch dev score) and score it.
 */
static double
evaluate_float(const Corpus *corpus, const float *weights, uint32_t mask,
			   const float *transition, const AaNerLabelSet *label_set,
			   const AaNerGazetteer *gazetteer, bool quiet)
{
	Scores		scores;
	int		   *pred = xmalloc(sizeof(int) * (corpus->num_tokens + 1));
	size_t	   *bounds = xmalloc(sizeof(size_t) * (corpus->num_sentences + 2));
	size_t		longest = 1;
	uint32_t   *features;
	int		   *counts;
	float	   *emission,
			   *work;
	int		   *back;
	double		f1;

	memset(&scores, 0, sizeof(scores));
	for (size_t s = 0; s < corpus->num_sentences; s++)
		if (corpus->sentence_starts[s + 1] - corpus->sentence_starts[s] > longest)
			longest = corpus->sentence_starts[s + 1] - corpus->sentence_starts[s];
	features = xmalloc(sizeof(uint32_t) * longest * AA_NER_MAX_FEATURES);
	counts = xmalloc(sizeof(int) * longest);
	emission = xmalloc(sizeof(float) * longest * NUM_LABELS);
	work = xmalloc(sizeof(float) * longest * NUM_LABELS);
	back = xmalloc(sizeof(int) * longest * NUM_LABELS);

	for (size_t d = 0; d < corpus->num_docs; d++)
	{
		size_t		first;
		size_t		nsent = doc_bounds(corpus, d, bounds, &first);
		AaNerDoc	doc;

		if (!aa_ner_doc_init(&doc, corpus->tokens + first, bounds[nsent], bounds,
							 nsent, HASH_SEED, gazetteer, clusters, &tool_allocator))
			exit(2);
		for (size_t o = 0; o < nsent; o++)
		{
			size_t		s = doc.sentence_order[o];
			size_t		n = bounds[s + 1] - bounds[s];

			aa_ner_doc_features(&doc, s, features, counts);
			score_sentence(weights, mask, features, counts, n, emission);
			aa_ner_viterbi(emission, n, transition, label_set, work, back,
						   pred + first + bounds[s]);
			aa_ner_doc_commit(&doc, s, pred + first + bounds[s], label_set);
		}
		if (!aa_ner_doc_vote_types(&doc, pred + first, label_set))
			exit(2);
		aa_ner_doc_free(&doc);
	}
	for (size_t s = 0; s < corpus->num_sentences; s++)
	{
		size_t		b = corpus->sentence_starts[s];

		score_entities(corpus->gold + b, pred + b,
					   corpus->sentence_starts[s + 1] - b, label_set, &scores);
	}
	f1 = print_scores(&scores, quiet);
	free(pred);
	free(bounds);
	free(features);
	free(counts);
	free(emission);
	free(work);
	free(back);
	return f1;
}

/* Scratch arrays for one sentence, sized for the longest. */
typedef struct SentenceBuffers
{
	uint32_t   *features;
	int		   *counts;
	float	   *emission;
	float	   *work;
	int		   *back;
	int		   *pred;
} SentenceBuffers;

/*
 * One perceptron pass over a document: decode each sentence (in the
 * tagger's order) with the current weights, and where the result differs
 * from the gold labels, move the weights toward gold.  The decoded labels,
 * not the gold ones, become the document history, as at tagging time.
 * Returns the number of wrong tokens.
 */
static long
train_document(Perceptron *p, SentenceBuffers *b, const AaNerToken *tokens,
			   const int *doc_gold, const size_t *bounds, size_t nsent,
			   const AaNerGazetteer *gazetteer, const AaNerLabelSet *label_set,
			   int dropout, uint64_t *dropout_rng)
{
	AaNerDoc	doc;
	long		mistakes = 0;

	if (!aa_ner_doc_init(&doc, tokens, bounds[nsent], bounds, nsent, HASH_SEED,
						 gazetteer, clusters, &tool_allocator))
		exit(2);
	for (size_t o = 0; o < nsent; o++)
	{
		size_t		s = doc.sentence_order[o];
		size_t		n = bounds[s + 1] - bounds[s];
		const int  *gold = doc_gold + bounds[s];
		const int  *pred = b->pred;

		aa_ner_doc_features(&doc, s, b->features, b->counts);
		for (size_t k = 0; dropout > 0 && k < n; k++)
		{
			uint32_t   *f = b->features + k * AA_NER_MAX_FEATURES;

			/*
			 * Word-identity dropout: the features at the known positions
			 * (highest first) are swapped with the last ones and cut.  Only
			 * for words that do not start with a small letter, the would-be
			 * names: an unknown lower-case word must not look like a
			 * particle inside a name ("da" in "Lula da Silva").
			 */
			const AaNerToken *tok = &tokens[bounds[s] + k];
			unsigned char first = tok->len > 0 ? (unsigned char) tok->text[0] : 0;

			if ((int) (next_random(dropout_rng) % 100) >= dropout ||
				(first >= 'a' && first <= 'z'))
				continue;
			for (int x = 0; x < AA_NER_NUM_IDENTITY_FEATURES; x++)
			{
				int			pos = aa_ner_identity_features[x];

				if (pos < b->counts[k])
					f[pos] = f[--b->counts[k]];
			}
		}
		score_sentence(p->weights, p->mask, b->features, b->counts, n, b->emission);
		aa_ner_viterbi(b->emission, n, p->transition, label_set, b->work, b->back, b->pred);
		for (size_t k = 0; k < n; k++)
		{
			int			gprev = k == 0 ? NUM_LABELS : gold[k - 1];
			int			pprev = k == 0 ? NUM_LABELS : pred[k - 1];

			if (gold[k] != pred[k])
			{
				const uint32_t *f = b->features + k * AA_NER_MAX_FEATURES;

				mistakes++;
				for (int j = 0; j < b->counts[k]; j++)
				{
					size_t		row = (size_t) (f[j] & p->mask) * NUM_LABELS;

					update_weight(&p->weights[row + gold[k]], &p->accum[row + gold[k]], p->step, 1.0f);
					update_weight(&p->weights[row + pred[k]], &p->accum[row + pred[k]], p->step, -1.0f);
				}
			}
			if (gold[k] != pred[k] || gprev != pprev)
			{
				update_weight(&p->transition[gprev * NUM_LABELS + gold[k]],
							  &p->transition_accum[gprev * NUM_LABELS + gold[k]], p->step, 1.0f);
				update_weight(&p->transition[pprev * NUM_LABELS + pred[k]],
							  &p->transition_accum[pprev * NUM_LABELS + pred[k]], p->step, -1.0f);
			}
		}
		aa_ner_doc_commit(&doc, s, pred, label_set);
		p->step += 1;
	}
	aa_ner_doc_free(&doc);
	return mistakes;
}

/*
 * Train the perceptron for the given number of epochs and write the
 * quantised averaged model.
 */
static int
train(const char *train_path, const char *model_path, int epochs,
	  uint32_t bucket_bits, const char *dev_path, const char *gazetteer_path,
	  int case_augment, int alone_augment, int dropout,
	  const char *cluster_sources)
{
	uint64_t   *cluster_table;
	uint32_t	cluster_slot_bits = 4;

	GazetteerTable gazetteer;
	Corpus		corpus;
	Corpus		dev[2];
	int			num_dev = 0;
	Perceptron	p;
	AaNerLabelSet label_set;
	size_t		num_weights = ((size_t) 1 << bucket_bits) * NUM_LABELS;
	size_t	   *order;
	size_t	   *bounds;
	size_t		longest = 1;
	SentenceBuffers buffers;
	uint64_t	rng = SHUFFLE_SEED;
	uint64_t	dropout_rng = DROPOUT_SEED;
	float	   *avg_weights;
	float		avg_transition[(NUM_LABELS + 1) * NUM_LABELS];
	int16_t		q_transition[(NUM_LABELS + 1) * NUM_LABELS];
	size_t		num_rows = 0;
	uint32_t	slot_bits = 4;
	uint32_t   *keys;
	int16_t    *rows;
	AaNerModelContents contents;
	double		max_abs = 0;
	float		scale;
	char		errmsg[AA_NER_MODEL_ERRMSG_LEN];

	load_corpus(train_path, &corpus);
	make_case_variants(&corpus);
	load_gazetteer(gazetteer_path, &gazetteer);
	if (cluster_sources != NULL)
		induce_clusters(cluster_sources, &cluster_table, &cluster_slot_bits);
	else
	{
		cluster_table = calloc((size_t) 1 << cluster_slot_bits, sizeof(uint64_t));
		if (cluster_table == NULL)
			exit(2);
	}
	if (dev_path)
	{
		/* up to two dev sets, separated by a semicolon */
		char	   *copy = strdup(dev_path);
		char	   *semi = strchr(copy, ';');

		if (semi)
			*semi = '\0';
		load_corpus(copy, &dev[num_dev++]);
		if (semi)
			load_corpus(semi + 1, &dev[num_dev++]);
	}
	fprintf(stderr, "aa_train: %zu tokens, %zu sentences, %zu documents\n",
			corpus.num_tokens, corpus.num_sentences, corpus.num_docs);
	aa_ner_labelset_init(&label_set, label_names, NUM_LABELS);

	memset(&p, 0, sizeof(p));
	p.bucket_bits = bucket_bits;
	p.mask = ((uint32_t) 1 << bucket_bits) - 1;
	p.weights = calloc(num_weights, sizeof(float));
	p.accum = calloc(num_weights, sizeof(double));
	avg_weights = xmalloc(sizeof(float) * num_weights);
	if (p.weights == NULL || p.accum == NULL)
	{
		fprintf(stderr, "aa_train: out of memory\n");
		return 2;
	}
	p.step = 1;

	for (size_t s = 0; s < corpus.num_sentences; s++)
		if (corpus.sentence_starts[s + 1] - corpus.sentence_starts[s] > longest)
			longest = corpus.sentence_starts[s + 1] - corpus.sentence_starts[s];
	buffers.features = xmalloc(sizeof(uint32_t) * longest * AA_NER_MAX_FEATURES);
	buffers.counts = xmalloc(sizeof(int) * longest);
	buffers.emission = xmalloc(sizeof(float) * longest * NUM_LABELS);
	buffers.work = xmalloc(sizeof(float) * longest * NUM_LABELS);
	buffers.back = xmalloc(sizeof(int) * longest * NUM_LABELS);
	buffers.pred = xmalloc(sizeof(int) * longest);
	order = xmalloc(sizeof(size_t) * corpus.num_docs);
	bounds = xmalloc(sizeof(size_t) * (corpus.num_sentences + 2));
	for (size_t d = 0; d < corpus.num_docs; d++)
		order[d] = d;

	for (int epoch = 1; epoch <= epochs; epoch++)
	{
		long		mistakes = 0;

		/* Fisher-Yates with the fixed-seed generator. */
		for (size_t d = corpus.num_docs; d > 1; d--)
		{
			size_t		j = (size_t) (next_random(&rng) % d);
			size_t		tmp = order[d - 1];

			order[d - 1] = order[j];
			order[j] = tmp;
		}
		for (size_t di = 0; di < corpus.num_docs; di++)
		{
			size_t		d = order[di];
			size_t		first;
			size_t		nsent = doc_bounds(&corpus, d, bounds, &first);
			int			variant = (int) (next_random(&rng) % 100);
			bool		alone = (int) (next_random(&rng) % 100) < alone_augment;
			const AaNerToken *tokens = corpus.tokens;

			if (variant < case_augment)
				tokens = corpus.tokens_lower;
			else if (variant < 2 * case_augment)
				tokens = corpus.tokens_upper;
			if (alone)
			{
				/* Each sentence on its own, as aa_tag sees sentences. */
				for (size_t s = 0; s < nsent; s++)
				{
					size_t		one[2] = {0, bounds[s + 1] - bounds[s]};

					mistakes += train_document(&p, &buffers, tokens + first + bounds[s],
											   corpus.gold + first + bounds[s], one, 1,
											   &gazetteer.view, &label_set, dropout, &dropout_rng);
				}
			}
			else
				mistakes += train_document(&p, &buffers, tokens + first,
										   corpus.gold + first, bounds, nsent,
										   &gazetteer.view, &label_set, dropout, &dropout_rng);
		}
		fprintf(stderr, "aa_train: epoch %d: %ld token errors", epoch, mistakes);
		if (num_dev > 0)
			averaged(&p, avg_weights, avg_transition);
		for (int v = 0; v < num_dev; v++)
			fprintf(stderr, ", dev F1 %.2f",
					evaluate_float(&dev[v], avg_weights, p.mask, avg_transition, &label_set,
								   &gazetteer.view, true));
		fprintf(stderr, "\n");
	}

	/* Quantise the averaged weights to int16 with one scale. */
	averaged(&p, avg_weights, avg_transition);
	for (size_t i = 0; i < num_weights; i++)
		if (fabs(avg_weights[i]) > max_abs)
			max_abs = fabs(avg_weights[i]);
	for (int i = 0; i < (NUM_LABELS + 1) * NUM_LABELS; i++)
		if (fabs(avg_transition[i]) > max_abs)
			max_abs = fabs(avg_transition[i]);
	scale = (float) (max_abs > 0 ? max_abs / 32767.0 : 1.0);
	for (int i = 0; i < (NUM_LABELS + 1) * NUM_LABELS; i++)
		q_transition[i] = (int16_t) lrint(avg_transition[i] / scale);

	/* Keep only the rows with a non-zero weight, in a table at most 3/4 full. */
	for (size_t r = 0; r < num_weights / NUM_LABELS; r++)
		for (int l = 0; l < NUM_LABELS; l++)
			if (lrint(avg_weights[r * NUM_LABELS + l] / scale) != 0)
			{
				num_rows++;
				break;
			}
	while (((size_t) 3 << slot_bits) < 4 * num_rows)
		slot_bits++;
	keys = calloc((size_t) 1 << slot_bits, sizeof(uint32_t));
	rows = calloc(((size_t) 1 << slot_bits) * NUM_LABELS, sizeof(int16_t));
	if (keys == NULL || rows == NULL)
		return 2;
	for (size_t r = 0; r < num_weights / NUM_LABELS; r++)
	{
		int16_t		row[NUM_LABELS];
		bool		nonzero = false;
		uint32_t	key = (uint32_t) r + 1;
		size_t		slot;

		for (int l = 0; l < NUM_LABELS; l++)
		{
			row[l] = (int16_t) lrint(avg_weights[r * NUM_LABELS + l] / scale);
			nonzero |= row[l] != 0;
		}
		if (!nonzero)
			continue;
		slot = key & (((size_t) 1 << slot_bits) - 1);
		while (keys[slot] != 0)
			slot = (slot + 1) & (((size_t) 1 << slot_bits) - 1);
		keys[slot] = key;
		memcpy(rows + slot * NUM_LABELS, row, sizeof(row));
	}

	contents.hash_seed = HASH_SEED;
	contents.bucket_bits = bucket_bits;
	contents.num_labels = NUM_LABELS;
	contents.label_names = label_names;
	contents.weight_scale = scale;
	contents.weight_slot_bits = slot_bits;
	contents.keys = keys;
	contents.rows = rows;
	contents.transitions = q_transition;
	contents.gazetteer_slot_bits = gazetteer.slot_bits;
	contents.gazetteer = gazetteer.entries;
	contents.gazetteer_max_tokens = gazetteer.max_tokens;
	contents.cluster_slot_bits = cluster_slot_bits;
	contents.clusters = cluster_table;
	if (aa_ner_model_write(model_path, &contents, errmsg, sizeof(errmsg)) != AA_NER_MODEL_OK)
	{
		fprintf(stderr, "aa_train: %s\n", errmsg);
		return 2;
	}
	fprintf(stderr, "aa_train: %zu weight rows in %zu slots\n", num_rows,
			(size_t) 1 << slot_bits);
	fprintf(stderr, "aa_train: wrote \"%s\" (scale %g)\n", model_path, scale);
	return 0;
}

/*
 * Tag a CoNLL file with a model file through aa_ner_tag_document (the
 * extension's code path) and print entity-level scores and speed.
 */
static int
evaluate_model(const char *model_path, const char *test_path, bool by_sentence)
{
	AaNerModel	model;
	char		errmsg[AA_NER_MODEL_ERRMSG_LEN];
	Corpus		corpus;
	AaNerLabelSet label_set;
	const char *names[AA_NER_MAX_LABELS] = {0};
	int		   *pred;
	size_t	   *bounds;
	Scores		scores;
	struct timespec t0,
				t1;
	double		seconds;
	int			rounds = 5;

	if (aa_ner_model_open(model_path, &model, errmsg, sizeof(errmsg)) != AA_NER_MODEL_OK)
	{
		fprintf(stderr, "aa_eval: %s\n", errmsg);
		return 2;
	}
	for (int l = 0; l < model.num_labels; l++)
		names[l] = model.label_names[l];
	aa_ner_labelset_init(&label_set, names, model.num_labels);
	load_corpus(test_path, &corpus);
	pred = xmalloc(sizeof(int) * (corpus.num_tokens + 1));
	bounds = xmalloc(sizeof(size_t) * (corpus.num_sentences + 2));

	/* Several rounds so that the speed is a steady-state figure. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int r = 0; r < rounds; r++)
		for (size_t d = 0; d < corpus.num_docs; d++)
		{
			size_t		first;
			size_t		nsent = doc_bounds(&corpus, d, bounds, &first);

			if (by_sentence)
			{
				/* Each sentence alone, as aa_tag sees it. */
				for (size_t s = 0; s < nsent; s++)
				{
					size_t		one[2] = {0, bounds[s + 1] - bounds[s]};

					if (!aa_ner_tag_document(&model, corpus.tokens + first + bounds[s],
											 one[1], one, 1, pred + first + bounds[s],
											 &tool_allocator, NULL, NULL))
						return 2;
				}
			}
			else if (!aa_ner_tag_document(&model, corpus.tokens + first, bounds[nsent],
										  bounds, nsent, pred + first, &tool_allocator,
										  NULL, NULL))
				return 2;
		}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	seconds = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;

	memset(&scores, 0, sizeof(scores));
	for (size_t s = 0; s < corpus.num_sentences; s++)
	{
		size_t		b = corpus.sentence_starts[s];

		score_entities(corpus.gold + b, pred + b,
					   corpus.sentence_starts[s + 1] - b, &label_set, &scores);
	}
	if (getenv("AA_EVAL_DUMP") != NULL)
	{
		/* token, gold and predicted label per line, for error analysis */
		FILE	   *dump = fopen(getenv("AA_EVAL_DUMP"), "w");

		for (size_t s = 0; dump != NULL && s < corpus.num_sentences; s++)
		{
			for (size_t i = corpus.sentence_starts[s]; i < corpus.sentence_starts[s + 1]; i++)
				fprintf(dump, "%.*s %s %s\n", (int) corpus.tokens[i].len, corpus.tokens[i].text,
						names[corpus.gold[i]], names[pred[i]]);
			fprintf(dump, "\n");
		}
		if (dump != NULL)
			fclose(dump);
	}
	printf("processed %zu tokens with %ld phrases; found: %ld phrases\n",
		   corpus.num_tokens,
		   scores.gold[0] + scores.gold[1] + scores.gold[2] + scores.gold[3],
		   scores.guessed[0] + scores.guessed[1] + scores.guessed[2] + scores.guessed[3]);
	print_scores(&scores, false);
	printf("speed: %.0f tokens/s (one core, model loaded, %d rounds)\n",
		   rounds * corpus.num_tokens / seconds, rounds);
	aa_ner_model_close(&model);
	return 0;
}

/*
 * Tag each line of standard input as one document (tokenized and split
 * into sentences as aa_entities does) and print its entities as
 * "entity/TYPE;..." per line: a quick look at what a model does with
 * text, without a server.
 */
static int
tag_lines(const char *model_path)
{
	AaNerModel	model;
	char		errmsg[AA_NER_MODEL_ERRMSG_LEN];
	AaNerLabelSet label_set;
	const char *names[AA_NER_MAX_LABELS] = {0};
	char		line[65536];

	if (aa_ner_model_open(model_path, &model, errmsg, sizeof(errmsg)) != AA_NER_MODEL_OK)
	{
		fprintf(stderr, "aa_train: %s\n", errmsg);
		return 2;
	}
	for (int l = 0; l < model.num_labels; l++)
		names[l] = model.label_names[l];
	aa_ner_labelset_init(&label_set, names, model.num_labels);
	while (fgets(line, sizeof(line), stdin) != NULL)
	{
		size_t		len = strcspn(line, "\n");
		AaNerToken	tokens[4096];
		uint8_t		newlines[4096] = {0};
		size_t		bounds[4097];
		int			labels[4096];
		AaNerSpan	spans[4096];
		size_t		count = 0;
		size_t		nsent;
		size_t		nspans;
		AaTokenizer tz;
		AaToken		tok;

		aa_tokenizer_init(&tz, line, len);
		while (count < 4096 && aa_tokenizer_next(&tz, &tok))
		{
			tokens[count].text = line + tok.byte_start;
			tokens[count].len = tok.byte_len;
			count++;
		}
		nsent = aa_ner_split_sentences(tokens, count, newlines, bounds);
		if (!aa_ner_tag_document(&model, tokens, count, bounds, nsent, labels,
								 &tool_allocator, NULL, NULL))
			return 2;
		nspans = aa_ner_spans(labels, count, &label_set, spans);
		for (size_t i = 0; i < nspans; i++)
		{
			const char *start = tokens[spans[i].first_token].text;
			const AaNerToken *last = &tokens[spans[i].end_token - 1];

			printf("%s%.*s/%s", i ? ";" : "", (int) (last->text + last->len - start), start,
				   aa_ner_type_names[spans[i].type]);
		}
		printf("\n");
	}
	aa_ner_model_close(&model);
	return 0;
}

/*
 * Tag each named file as one document, the way aa_entities does (line
 * breaks count for sentence splitting), and print one line per mention:
 * file, type, text, and "initial" when it starts its sentence.  For
 * looking at what the model makes of whole articles.
 */
static int
tag_documents(const char *model_path, char **paths, int num_paths)
{
	AaNerModel	model;
	char		errmsg[AA_NER_MODEL_ERRMSG_LEN];
	AaNerLabelSet label_set;
	const char *names[AA_NER_MAX_LABELS] = {0};

	if (aa_ner_model_open(model_path, &model, errmsg, sizeof(errmsg)) != AA_NER_MODEL_OK)
	{
		fprintf(stderr, "aa_train: %s\n", errmsg);
		return 2;
	}
	for (int l = 0; l < model.num_labels; l++)
		names[l] = model.label_names[l];
	aa_ner_labelset_init(&label_set, names, model.num_labels);
	for (int p = 0; p < num_paths; p++)
	{
		FILE	   *file = fopen(paths[p], "rb");
		char	   *text;
		long		len;
		size_t		capacity,
					count = 0,
					previous_end = 0,
					nsent,
					nspans;
		AaNerToken *tokens;
		uint8_t    *newlines;
		size_t	   *bounds;
		int		   *labels;
		AaNerSpan  *spans;
		AaTokenizer tz;
		AaToken		tok;

		if (file == NULL || fseek(file, 0, SEEK_END) != 0 || (len = ftell(file)) < 0)
		{
			fprintf(stderr, "aa_train: cannot read %s\n", paths[p]);
			return 2;
		}
		rewind(file);
		text = xmalloc((size_t) len + 1);
		if (fread(text, 1, (size_t) len, file) != (size_t) len)
		{
			fprintf(stderr, "aa_train: cannot read %s\n", paths[p]);
			return 2;
		}
		fclose(file);
		capacity = (size_t) len + 1;
		tokens = xmalloc(sizeof(AaNerToken) * capacity);
		newlines = xmalloc(capacity);
		bounds = xmalloc(sizeof(size_t) * (capacity + 1));
		labels = xmalloc(sizeof(int) * capacity);
		spans = xmalloc(sizeof(AaNerSpan) * capacity);
		aa_tokenizer_init(&tz, text, (size_t) len);
		while (aa_tokenizer_next(&tz, &tok))
		{
			uint8_t		breaks = 0;

			for (size_t i = previous_end; i < tok.byte_start && breaks < 2; i++)
				if (text[i] == '\n')
					breaks++;
			tokens[count].text = text + tok.byte_start;
			tokens[count].len = tok.byte_len;
			newlines[count] = breaks;
			previous_end = tok.byte_start + tok.byte_len;
			count++;
		}
		nsent = aa_ner_split_sentences(tokens, count, newlines, bounds);
		if (!aa_ner_tag_document(&model, tokens, count, bounds, nsent, labels,
								 &tool_allocator, NULL, NULL))
			return 2;
		nspans = aa_ner_spans(labels, count, &label_set, spans);
		for (size_t i = 0, s = 0; i < nspans; i++)
		{
			const char *start = tokens[spans[i].first_token].text;
			const AaNerToken *last = &tokens[spans[i].end_token - 1];

			while (s + 1 < nsent && bounds[s + 1] <= spans[i].first_token)
				s++;
			printf("%s\t%s\t%.*s%s\n", paths[p], aa_ner_type_names[spans[i].type],
				   (int) (last->text + last->len - start), start,
				   bounds[s] == spans[i].first_token ? "\tinitial" : "");
		}
		free(text);
		free(tokens);
		free(newlines);
		free(bounds);
		free(labels);
		free(spans);
	}
	aa_ner_model_close(&model);
	return 0;
}

/*
 * Print each line of standard input as the extension's tokenizer splits
 * it, the tokens separated by tabs: make_model.sh aligns the Portuguese
 * treebank's split tokens ("de o") with the surface text ("do") through
 * it, so that the tagger is trained on the tokens it will see.
 */
static int
tokenize_lines(void)
{
	static char line[1 << 20];

	while (fgets(line, sizeof(line), stdin) != NULL)
	{
		size_t		len = strcspn(line, "\n");
		AaTokenizer tz;
		AaToken		tok;
		bool		first = true;

		aa_tokenizer_init(&tz, line, len);
		while (aa_tokenizer_next(&tz, &tok))
		{
			printf("%s%.*s", first ? "" : "\t", (int) tok.byte_len, line + tok.byte_start);
			first = false;
		}
		printf("\n");
	}
	return 0;
}

/*
 * Print usage and exit with status 2.
 */
static void
usage(void)
{
	fprintf(stderr,
			"usage: aa_train train TRAIN.txt MODEL [--gazetteer FILE.tsv] [--epochs N]\n"
			"                      [--bits B] [--case-augment PERCENT]\n"
			"                      [--alone-augment PERCENT] [--dropout PERCENT]\n"
			"                      [--clusters SOURCE,...]\n"
			"                      [--dev DEV.txt[;DEV2.txt]]\n"
			"       aa_train eval MODEL TEST.txt [--sentences]\n"
			"       aa_train tag MODEL < LINES.txt\n"
			"       aa_train tagdoc MODEL FILE...\n"
			"       aa_train tokenize < LINES.txt\n");
	exit(2);
}

/*
 * Dispatch to train or eval.
 */
int
main(int argc, char **argv)
{
	if (argc >= 4 && strcmp(argv[1], "train") == 0)
	{
		int			epochs = DEFAULT_EPOCHS;
		uint32_t	bits = DEFAULT_BUCKET_BITS;
		const char *dev = NULL;
		const char *gazetteer = NULL;
		int			case_augment = DEFAULT_CASE_AUGMENT;
		int			alone_augment = DEFAULT_ALONE_AUGMENT;
		int			dropout = DEFAULT_DROPOUT;
		const char *cluster_sources = NULL;

		for (int i = 4; i < argc; i++)
		{
			if (strcmp(argv[i], "--epochs") == 0 && i + 1 < argc)
				epochs = atoi(argv[++i]);
			else if (strcmp(argv[i], "--bits") == 0 && i + 1 < argc)
				bits = (uint32_t) atoi(argv[++i]);
			else if (strcmp(argv[i], "--dev") == 0 && i + 1 < argc)
				dev = argv[++i];
			else if (strcmp(argv[i], "--gazetteer") == 0 && i + 1 < argc)
				gazetteer = argv[++i];
			else if (strcmp(argv[i], "--case-augment") == 0 && i + 1 < argc)
				case_augment = atoi(argv[++i]);
			else if (strcmp(argv[i], "--alone-augment") == 0 && i + 1 < argc)
				alone_augment = atoi(argv[++i]);
			else if (strcmp(argv[i], "--dropout") == 0 && i + 1 < argc)
				dropout = atoi(argv[++i]);
			else if (strcmp(argv[i], "--clusters") == 0 && i + 1 < argc)
				cluster_sources = argv[++i];
			else
				usage();
		}
		if (epochs < 1 || bits < AA_NER_MIN_BUCKET_BITS || bits > AA_NER_MAX_BUCKET_BITS ||
			case_augment < 0 || case_augment > 50 ||
			alone_augment < 0 || alone_augment > 100 || dropout < 0 || dropout > 100)
			usage();
		return train(argv[2], argv[3], epochs, bits, dev, gazetteer, case_augment,
					 alone_augment, dropout, cluster_sources);
	}
	if (argc >= 4 && strcmp(argv[1], "tagdoc") == 0)
		return tag_documents(argv[2], argv + 3, argc - 3);
	if (argc == 2 && strcmp(argv[1], "tokenize") == 0)
		return tokenize_lines();
	if (argc == 3 && strcmp(argv[1], "tag") == 0)
		return tag_lines(argv[2]);
	if (argc == 4 && strcmp(argv[1], "eval") == 0)
		return evaluate_model(argv[2], argv[3], false);
	if (argc == 5 && strcmp(argv[1], "eval") == 0 && strcmp(argv[4], "--sentences") == 0)
		return evaluate_model(argv[2], argv[3], true);
	usage();
	return 2;
}

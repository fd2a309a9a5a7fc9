/*-------------------------------------------------------------------------
 *
 * aa_train.c
 *	  Command-line trainer and evaluator of the entity tagger.
 *
 *	  aa_train train TRAIN.txt MODEL [--gazetteer FILE.tsv] [--epochs N]
 *	                 [--bits B] [--case-augment PERCENT]
 *	                 [--alone-augment PERCENT] [--dev DEV.txt]
 *	  aa_train eval MODEL TEST.txt [--sentences]
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
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/ner_model.h"
#include "core/tagger.h"
#include "core/tokenizer.h"

#define DEFAULT_EPOCHS 16
#define DEFAULT_BUCKET_BITS 22
#define HASH_SEED 0x61616e72u	/* "aanr" */
#define SHUFFLE_SEED 20030601u
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
		if (!aa_ner_doc_init(&doc, tokens, count, bounds, 1, 0, NULL, &tool_allocator))
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
 * Parse a CoNLL file: one token per line, columns separated by spaces,
 * the first column the token and the last its tag.
 */
static void
load_corpus(const char *path, Corpus *corpus)
{
	size_t		len;
	char	   *text = read_file(path, &len);
	size_t		max_lines = 1;
	size_t		line_start = 0;
	bool		in_sentence = false;
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
		first_space = strchr(line, ' ');
		last_space = strrchr(line, ' ');
		if (first_space == NULL)
			continue;
		*first_space = '\0';
		if (!in_sentence)
		{
			corpus->sentence_starts[corpus->num_sentences++] = corpus->num_tokens;
			in_sentence = true;
		}
		corpus->tokens[corpus->num_tokens].text = line;
		corpus->tokens[corpus->num_tokens].len = strlen(line);
		corpus->gold[corpus->num_tokens] = label_index(last_space + 1, &unknown);
		corpus->num_tokens++;
	}
	if (corpus->num_sentences > corpus->doc_first_sentence[corpus->num_docs])
		corpus->doc_first_sentence[++corpus->num_docs] = corpus->num_sentences;
	corpus->sentence_starts[corpus->num_sentences] = corpus->num_tokens;
	if (unknown > 0)
		fprintf(stderr, "aa_train: %d unknown tags in \"%s\" read as O\n", unknown, path);
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
							 nsent, HASH_SEED, gazetteer, &tool_allocator))
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
			   const AaNerGazetteer *gazetteer, const AaNerLabelSet *label_set)
{
	AaNerDoc	doc;
	long		mistakes = 0;

	if (!aa_ner_doc_init(&doc, tokens, bounds[nsent], bounds, nsent, HASH_SEED,
						 gazetteer, &tool_allocator))
		exit(2);
	for (size_t o = 0; o < nsent; o++)
	{
		size_t		s = doc.sentence_order[o];
		size_t		n = bounds[s + 1] - bounds[s];
		const int  *gold = doc_gold + bounds[s];
		const int  *pred = b->pred;

		aa_ner_doc_features(&doc, s, b->features, b->counts);
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
	  int case_augment, int alone_augment)
{
	GazetteerTable gazetteer;
	Corpus		corpus;
	Corpus		dev;
	Perceptron	p;
	AaNerLabelSet label_set;
	size_t		num_weights = ((size_t) 1 << bucket_bits) * NUM_LABELS;
	size_t	   *order;
	size_t	   *bounds;
	size_t		longest = 1;
	SentenceBuffers buffers;
	uint64_t	rng = SHUFFLE_SEED;
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
	if (dev_path)
		load_corpus(dev_path, &dev);
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
											   &gazetteer.view, &label_set);
				}
			}
			else
				mistakes += train_document(&p, &buffers, tokens + first,
										   corpus.gold + first, bounds, nsent,
										   &gazetteer.view, &label_set);
		}
		fprintf(stderr, "aa_train: epoch %d: %ld token errors", epoch, mistakes);
		if (dev_path)
		{
			averaged(&p, avg_weights, avg_transition);
			fprintf(stderr, ", dev F1 %.2f",
					evaluate_float(&dev, avg_weights, p.mask, avg_transition, &label_set,
								   &gazetteer.view, true));
		}
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
 * Print usage and exit with status 2.
 */
static void
usage(void)
{
	fprintf(stderr,
			"usage: aa_train train TRAIN.txt MODEL [--gazetteer FILE.tsv] [--epochs N]\n"
			"                      [--bits B] [--case-augment PERCENT]\n"
			"                      [--alone-augment PERCENT] [--dev DEV.txt]\n"
			"       aa_train eval MODEL TEST.txt [--sentences]\n");
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
			else
				usage();
		}
		if (epochs < 1 || bits < AA_NER_MIN_BUCKET_BITS || bits > AA_NER_MAX_BUCKET_BITS ||
			case_augment < 0 || case_augment > 50 ||
			alone_augment < 0 || alone_augment > 100)
			usage();
		return train(argv[2], argv[3], epochs, bits, dev, gazetteer, case_augment,
					 alone_augment);
	}
	if (argc == 4 && strcmp(argv[1], "eval") == 0)
		return evaluate_model(argv[2], argv[3], false);
	if (argc == 5 && strcmp(argv[1], "eval") == 0 && strcmp(argv[4], "--sentences") == 0)
		return evaluate_model(argv[2], argv[3], true);
	usage();
	return 2;
}

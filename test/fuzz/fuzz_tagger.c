/*
 * fuzz_tagger.c
 *	  libFuzzer target for the entity tagger's core: tokenize arbitrary
 *	  bytes, split them into sentences, tag them with the shipped model
 *	  (src/model/ner_en.model, read from the project's top directory) and
 *	  check that the labels, spans and canonical indexes stay in range.
 *	  The same bytes are also written to a file and opened as a model, which
 *	  must fail cleanly (or succeed) but never crash.  Built and run by
 *	  "make fuzz".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ner_model.h"
#include "tagger.h"
#include "tokenizer.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Allocator callback for the core: malloc. */
static void *
fuzz_alloc(void *context, size_t size)
{
	return malloc(size);
}

/* Allocator callback for the core: free. */
static void
fuzz_release(void *context, void *pointer)
{
	free(pointer);
}

static const AaNerAllocator allocator = {fuzz_alloc, fuzz_release, NULL};

/*
 * Open the input as a model file: the loader must refuse garbage with an
 * error code, and whatever it accepts must be safe to look up.
 */
static void
fuzz_model_loader(const uint8_t *data, size_t size)
{
	static char path[64];
	FILE	   *f;
	AaNerModel	model;
	char		errmsg[AA_NER_MODEL_ERRMSG_LEN];

	if (path[0] == '\0')
		snprintf(path, sizeof(path), "/tmp/aa_fuzz_model_%d", (int) getpid());
	f = fopen(path, "wb");
	if (f == NULL)
		return;
	if (size > 0)
		fwrite(data, 1, size, f);
	fclose(f);
	if (aa_ner_model_open(path, &model, errmsg, sizeof(errmsg)) == AA_NER_MODEL_OK)
	{
		(void) aa_ner_model_row(&model, 12345);
		(void) aa_ner_gazetteer_lookup(&model.gazetteer, 67890);
		(void) aa_ner_cluster_lookup(&model.clusters, 13579);
		aa_ner_model_close(&model);
	}
	unlink(path);
}

/*
 * One fuzz input: tokenize, split, tag and resolve it, checking every
 * index the core returns, then try it as a model file.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static AaNerModel model;
	static int	model_state = 0;	/* 0 untried, 1 open, -1 unavailable */
	const char *text = (const char *) data;
	AaTokenizer tz;
	AaToken		tok;
	AaNerToken *tokens = malloc(sizeof(AaNerToken) * (size + 1));
	uint8_t    *newlines = malloc(size + 1);
	size_t	   *bounds = malloc(sizeof(size_t) * (size + 2));
	int		   *labels = malloc(sizeof(int) * (size + 1));
	AaNerSpan  *spans = malloc(sizeof(AaNerSpan) * (size + 1));
	size_t	   *canonical = malloc(sizeof(size_t) * (size + 1));
	size_t		count = 0;
	size_t		previous_end = 0;
	size_t		num_sentences;

	if (model_state == 0)
	{
		char		errmsg[AA_NER_MODEL_ERRMSG_LEN];

		model_state = aa_ner_model_open("src/model/ner_en.model", &model, errmsg,
										sizeof(errmsg)) == AA_NER_MODEL_OK ? 1 : -1;
	}

	aa_tokenizer_init(&tz, text, size);
	while (aa_tokenizer_next(&tz, &tok))
	{
		uint8_t		nl = 0;

		for (size_t i = previous_end; i < tok.byte_start && nl < 2; i++)
			if (text[i] == '\n')
				nl++;
		tokens[count].text = text + tok.byte_start;
		tokens[count].len = tok.byte_len;
		newlines[count] = nl;
		previous_end = tok.byte_start + tok.byte_len;
		count++;
	}
	num_sentences = aa_ner_split_sentences(tokens, count, newlines, bounds);
	if (bounds[0] != 0 || bounds[num_sentences] != count)
		abort();
	for (size_t s = 0; s < num_sentences; s++)
		if (bounds[s] >= bounds[s + 1])
			abort();

	if (model_state == 1 &&
		aa_ner_tag_document(&model, tokens, count, bounds, num_sentences, labels,
							&allocator, NULL, NULL))
	{
		AaNerLabelSet label_set;
		const char *names[AA_NER_MAX_LABELS] = {0};
		size_t		num_spans;

		for (int l = 0; l < model.num_labels; l++)
			names[l] = model.label_names[l];
		aa_ner_labelset_init(&label_set, names, model.num_labels);
		for (size_t i = 0; i < count; i++)
			if (labels[i] < 0 || labels[i] >= model.num_labels)
				abort();
		num_spans = aa_ner_spans(labels, count, &label_set, spans);
		if (!aa_ner_resolve_entities(spans, num_spans, tokens, canonical, &allocator))
			abort();
		for (size_t i = 0; i < num_spans; i++)
			if (spans[i].end_token > count || spans[i].first_token >= spans[i].end_token ||
				canonical[i] >= num_spans || spans[i].type < 0 ||
				spans[i].type >= AA_NER_NUM_TYPES)
				abort();
	}
	if (size < 4096)
		fuzz_model_loader(data, size);

	free(tokens);
	free(newlines);
	free(bounds);
	free(labels);
	free(spans);
	free(canonical);
	return 0;
}

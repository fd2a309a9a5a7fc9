/*-------------------------------------------------------------------------
 *
 * test_tagger.c
 *	  Unit tests of the entity tagger's core: label sets, Viterbi, spans,
 *	  short-form resolution, sentence splitting, the model file loader's
 *	  failure modes, and tagging with the shipped model.
 *
 * Prints "ok N - what" / "not ok N - what" and exits 1 on any failure.
 * Run from the top of the project (the shipped model is read from
 * src/model/ner_en.model; the tests that need it say so when it is absent).
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <xxhash.h>

#include "core/ner_model.h"
#include "core/shingle.h"
#include "core/tagger.h"
#include "core/tokenizer.h"
#include "tap.h"

#define SHIPPED_MODEL "src/model/ner_en.model"

static const char *const bio_labels[] = {
	"O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-MISC", "I-MISC"
};

/* Allocator callback for the core: malloc. */
static void *
test_alloc(void *context, size_t size)
{
	return malloc(size);
}

/* Allocator callback for the core: free. */
static void
test_release(void *context, void *pointer)
{
	free(pointer);
}

static const AaNerAllocator allocator = {test_alloc, test_release, NULL};

/*
 * Split a space-separated string into tokens (pointing into a copy that
 * the caller frees); returns the count.
 */
static size_t
make_tokens(const char *sentence, char **copy, AaNerToken *tokens, size_t max)
{
	size_t		count = 0;
	char	   *p;

	*copy = strdup(sentence);
	p = *copy;
	while (*p && count < max)
	{
		char	   *start;

		while (*p == ' ')
			p++;
		if (!*p)
			break;
		start = p;
		while (*p && *p != ' ')
			p++;
		tokens[count].text = start;
		tokens[count].len = (size_t) (p - start);
		count++;
	}
	return count;
}

/*
 * Label sets: the BIO set is accepted, damaged ones are refused, and the
 * transition constraints follow IOB2.
 */
static void
test_label_sets(void)
{
	char		names[AA_NER_MAX_LABELS][AA_NER_LABEL_NAME_LEN + 1];
	AaNerLabelSet set;

	memset(names, 0, sizeof(names));
	for (int i = 0; i < 9; i++)
		strcpy(names[i], bio_labels[i]);
	tap_check(aa_ner_labels_valid(names, 9), "the BIO label set is valid");
	strcpy(names[3], "B-XYZ");
	tap_check(!aa_ner_labels_valid(names, 9), "an unknown type is refused");
	strcpy(names[3], "B-PER");
	tap_check(!aa_ner_labels_valid(names, 9), "a duplicate label is refused");
	tap_check(!aa_ner_labels_valid(names, 3), "a short label set is refused");

	aa_ner_labelset_init(&set, bio_labels, 9);
	tap_check(!set.allowed[9][2], "I-PER cannot start a sentence");
	tap_check(!set.allowed[0][2], "I-PER cannot follow O");
	tap_check(set.allowed[1][2] && set.allowed[2][2], "I-PER follows B-PER and I-PER");
	tap_check(!set.allowed[3][2], "I-PER cannot follow B-LOC");
	tap_check(set.allowed[9][1] && set.allowed[2][3], "B- labels go anywhere");
}

/*
 * Viterbi returns the best sequence among the allowed ones.
 */
static void
test_viterbi(void)
{
	AaNerLabelSet set;
	float		emission[3 * 9];
	float		transition[10 * 9];
	float		work[3 * 9];
	int			back[3 * 9];
	int			labels[3];

	aa_ner_labelset_init(&set, bio_labels, 9);
	memset(emission, 0, sizeof(emission));
	memset(transition, 0, sizeof(transition));
	/* Token 0 prefers I-PER (illegal at the start), then B-PER. */
	emission[0 * 9 + 2] = 5;
	emission[0 * 9 + 1] = 4;
	emission[1 * 9 + 2] = 3;
	emission[2 * 9 + 0] = 1;
	aa_ner_viterbi(emission, 3, transition, &set, work, back, labels);
	tap_check(labels[0] == 1 && labels[1] == 2 && labels[2] == 0,
		  "Viterbi avoids an illegal start and keeps B-PER I-PER O");

	/* A strong O on token 1 must not leave an I-PER after it. */
	emission[1 * 9 + 0] = 10;
	emission[2 * 9 + 2] = 8;
	emission[2 * 9 + 1] = 7;
	aa_ner_viterbi(emission, 3, transition, &set, work, back, labels);
	tap_check(labels[1] == 0 && labels[2] == 1, "Viterbi never puts I-PER after O");
}

/*
 * Spans and short-form resolution.
 */
static void
test_spans(void)
{
	AaNerLabelSet set;
	int			labels[] = {1, 2, 0, 3, 6, 0, 2, 0, 1, 0};
	AaNerSpan	spans[10];
	size_t		n;
	char	   *copy;
	AaNerToken	tokens[16];
	size_t		canonical[8];
	int			person_labels[] = {1, 2, 0, 0, 1, 0, 3, 0, 1, 0};

	aa_ner_labelset_init(&set, bio_labels, 9);
	n = aa_ner_spans(labels, 10, &set, spans);
	tap_check(n == 5, "five spans from B-PER I-PER O B-LOC I-ORG O I-PER O B-PER O");
	tap_check(spans[0].first_token == 0 && spans[0].end_token == 2 && spans[0].type == 0,
		  "span 1 is the two-token PER");
	tap_check(spans[2].first_token == 4 && spans[2].type == 2,
		  "an I-ORG after B-LOC starts its own ORG span");
	tap_check(spans[3].first_token == 6 && spans[3].end_token == 7,
		  "an I-PER after O starts a span");

	make_tokens("Valery Gerasimov said Thursday Gerasimov met Moscow and Valery left",
				&copy, tokens, 16);
	n = aa_ner_spans(person_labels, 10, &set, spans);
	tap_check(aa_ner_resolve_entities(spans, n, tokens, canonical, &allocator), "names resolve");
	tap_check(n == 4 && canonical[1] == 0,
		  "a later \"Gerasimov\" resolves to \"Valery Gerasimov\"");
	tap_check(canonical[3] == 3, "a first name alone is not resolved");
	free(copy);

	/* A headline's ALL-CAPS name takes the body's spelling. */
	{
		int			headline_labels[] = {7, 0, 0, 3, 0, 5, 0, 5, 0};

		make_tokens("TALIBAN ADVANCE : Moscow says Taliban gain and Taliban", &copy, tokens, 16);
		n = aa_ner_spans(headline_labels, 9, &set, spans);
		tap_check(aa_ner_resolve_entities(spans, n, tokens, canonical, &allocator) && n == 4 &&
			  canonical[0] == 2 && canonical[2] == 2 && canonical[3] == 3,
			  "\"TALIBAN\" resolves to the body's first \"Taliban\"");
		tap_check(canonical[1] == 1 && spans[0].type == 3,
			  "a mixed-case name stays itself and types are left alone");
		free(copy);
	}
	tap_check(aa_ner_resolve_entities(spans, 0, tokens, canonical, &allocator),
		  "no spans, nothing to resolve");
}

/*
 * Sentence splitting at punctuation, blank lines and short lines.
 */
static void
test_sentences(void)
{
	const char *text = "Taliban offensive running out of steam\n"
		"The Taliban said . He left .\n\nREAD MORE\nMr. Smith said it , he said .";
	AaTokenizer tz;
	AaToken		tok;
	AaNerToken	tokens[64];
	uint8_t		newlines[64];
	size_t		bounds[65];
	size_t		count = 0;
	size_t		previous_end = 0;
	size_t		n;

	aa_tokenizer_init(&tz, text, strlen(text));
	while (count < 64 && aa_tokenizer_next(&tz, &tok))
	{
		uint8_t		nl = 0;

		for (size_t i = previous_end; i < tok.byte_start; i++)
			if (text[i] == '\n' && nl < 2)
				nl++;
		tokens[count].text = text + tok.byte_start;
		tokens[count].len = tok.byte_len;
		newlines[count] = nl;
		previous_end = tok.byte_start + tok.byte_len;
		count++;
	}
	n = aa_ner_split_sentences(tokens, count, newlines, bounds);
	tap_check(n == 5, "headline, two sentences, READ MORE and a last sentence");
	tap_check(n >= 1 && bounds[1] == 6, "the headline ends at its line break");
	tap_check(bounds[n] == count, "the last bound is the token count");
	n = aa_ner_split_sentences(tokens, 0, newlines, bounds);
	tap_check(n == 0 && bounds[0] == 0, "no tokens, no sentences");

	/* "approx . five": a small letter after a period continues the sentence. */
	{
		char	   *copy;
		size_t		m = make_tokens("It cost approx . five dollars . Then it rose .",
								   &copy, tokens, 64);

		memset(newlines, 0, sizeof(newlines));
		n = aa_ner_split_sentences(tokens, m, newlines, bounds);
		tap_check(n == 2 && bounds[1] == 7, "a period before a small letter does not end the sentence");
		free(copy);
	}
}

/* How many files dir holds; the path of the first in first. */
static int
count_copies(const char *dir, char *first, size_t first_len)
{
	char		cmd[512];
	FILE	   *p;
	int			n = 0;
	char		line[512];

	snprintf(cmd, sizeof(cmd), "ls -1 '%s' 2>/dev/null", dir);
	p = popen(cmd, "r");
	if (p == NULL)
		return -1;
	while (fgets(line, sizeof(line), p) != NULL)
	{
		line[strcspn(line, "\n")] = '\0';
		if (n++ == 0 && first != NULL)
			snprintf(first, first_len, "%s/%s", dir, line);
	}
	pclose(p);
	return n;
}

/* Write len bytes to a new file at path (replacing it by rename). */
static bool
write_file(const char *path, const char *bytes, size_t len)
{
	char		tmp[600];
	FILE	   *f;
	bool		ok;

	snprintf(tmp, sizeof(tmp), "%s.planted", path);
	f = fopen(tmp, "wb");
	if (f == NULL)
		return false;
	ok = fwrite(bytes, 1, len, f) == len;
	ok = fclose(f) == 0 && ok;
	return ok && rename(tmp, path) == 0;
}

/* Read a whole file into a malloc'd buffer; *len its size. */
static char *
read_file(const char *path, size_t *len)
{
	FILE	   *f = fopen(path, "rb");
	char	   *bytes;
	long		size;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	fseek(f, 0, SEEK_SET);
	bytes = malloc((size_t) size + 1);
	if (fread(bytes, 1, (size_t) size, f) != (size_t) size)
		size = 0;
	fclose(f);
	*len = (size_t) size;
	return bytes;
}

/*
 * The shared loader (aa_ner_model_open_shared): it maps a copy in a
 * directory of its own, one copy per model however many opens; the copy
 * survives the named file's truncation; a wrong file planted under the
 * copy's name is replaced, never used; a damaged named file is refused
 * even when a good copy exists; a directory that cannot be created is
 * ERR_COPY with its errno; a load removes the copies nobody holds and
 * nobody loaded for unused_seconds, never one held open.
 */
static void
test_shared_copies(const char *dir, const char *path, const AaNerModelContents *contents)
{
	char		copies_dir[300];
	char		copy[600];
	char		errmsg[AA_NER_MODEL_ERRMSG_LEN];
	char		other_path[300];
	AaNerModelCopyDir copies;
	AaNerModel	a;
	AaNerModel	b;
	AaNerModelStatus status;
	AaNerModelContents other = *contents;
	struct stat st_a;
	struct stat st_b;
	struct stat st;
	const int16_t *row;
	char	   *named;
	char	   *bytes;
	size_t		named_len;
	size_t		len;
	int			copy_errno = 0;
	FILE	   *f;

	snprintf(copies_dir, sizeof(copies_dir), "%s/copies", dir);
	copies.path = copies_dir;
	copies.dir_mode = 0700;
	copies.file_mode = 0600;
	copies.unused_seconds = 3600;
	tap_check(aa_ner_model_write(path, contents, errmsg, sizeof(errmsg)) == AA_NER_MODEL_OK,
			  "shared: the small model is written again");
	named = read_file(path, &named_len);

	status = aa_ner_model_open_shared(path, &copies, &a, &copy_errno, errmsg, sizeof(errmsg));
	tap_check(status == AA_NER_MODEL_OK && a.image_mapped && count_copies(copies_dir, copy, sizeof(copy)) == 1,
			  "shared: the first open creates the directory and one copy, and maps it");
	tap_check(stat(copies_dir, &st) == 0 && (st.st_mode & 0777) == 0700,
			  "shared: the directory is created with the mode given (0700)");
	bytes = read_file(copy, &len);
	tap_check(bytes != NULL && len == named_len && memcmp(bytes, named, len) == 0 &&
			  strlen(strrchr(copy, '/') + 1) == 38,
			  "shared: the copy holds the model's bytes under a 32-digit hash name");
	free(bytes);
	status = aa_ner_model_open_shared(path, &copies, &b, &copy_errno, errmsg, sizeof(errmsg));
	tap_check(status == AA_NER_MODEL_OK && count_copies(copies_dir, NULL, 0) == 1 &&
			  fstat(a.copy_fd, &st_a) == 0 && fstat(b.copy_fd, &st_b) == 0 &&
			  st_a.st_ino == st_b.st_ino,
			  "shared: a second open maps the same copy (same inode)");
	aa_ner_model_close(&b);

	/* the named file truncated in place: the mapping still reads */
	f = fopen(path, "r+b");
	tap_check(f != NULL && ftruncate(fileno(f), 100) == 0, "shared: truncate the named file");
	if (f != NULL)
		fclose(f);
	row = a.image != NULL ? aa_ner_model_row(&a, 21) : NULL;
	tap_check(row != NULL && row[1] == -7 && aa_ner_model_file_changed(&a, path),
			  "shared: the mapping reads after the named file's truncation, which is seen");
	status = aa_ner_model_open_shared(path, &copies, &b, &copy_errno, errmsg, sizeof(errmsg));
	tap_check(status == AA_NER_MODEL_ERR_TRUNCATED, "shared: the truncated named file is refused");
	aa_ner_model_close(&a);
	write_file(path, named, named_len);

	/* wrong bytes under the copy's name: replaced, never used */
	bytes = malloc(named_len);
	memcpy(bytes, named, named_len);
	bytes[named_len / 2] ^= 0x5a;
	write_file(copy, bytes, named_len);
	stat(copy, &st_a);
	status = aa_ner_model_open_shared(path, &copies, &a, &copy_errno, errmsg, sizeof(errmsg));
	free(bytes);
	bytes = read_file(copy, &len);
	tap_check(status == AA_NER_MODEL_OK && stat(copy, &st_b) == 0 && st_a.st_ino != st_b.st_ino &&
			  bytes != NULL && len == named_len && memcmp(bytes, named, len) == 0,
			  "shared: a corrupt copy under the right name is replaced by the right bytes");
	free(bytes);
	aa_ner_model_close(&a);
	write_file(copy, named, 1000);
	status = aa_ner_model_open_shared(path, &copies, &a, &copy_errno, errmsg, sizeof(errmsg));
	tap_check(status == AA_NER_MODEL_OK && stat(copy, &st) == 0 && (size_t) st.st_size == named_len,
			  "shared: a short copy under the right name is replaced");
	aa_ner_model_close(&a);

	/* a damaged named file is refused although a good copy exists */
	bytes = malloc(named_len);
	memcpy(bytes, named, named_len);
	bytes[named_len / 2] ^= 0x5a;
	write_file(path, bytes, named_len);
	free(bytes);
	stat(copy, &st_a);
	status = aa_ner_model_open_shared(path, &copies, &a, &copy_errno, errmsg, sizeof(errmsg));
	tap_check(status == AA_NER_MODEL_ERR_CHECKSUM && strstr(errmsg, path) != NULL &&
			  stat(copy, &st_b) == 0 && st_a.st_ino == st_b.st_ino,
			  "shared: a corrupt named file is ERR_CHECKSUM and the good copy stays");
	write_file(path, named, named_len);

	/* a copy held open stays; one nobody holds goes when another is made */
	status = aa_ner_model_open_shared(path, &copies, &a, &copy_errno, errmsg, sizeof(errmsg));
	other.hash_seed = 8;
	snprintf(other_path, sizeof(other_path), "%s/seed8.model", dir);
	aa_ner_model_write(other_path, &other, errmsg, sizeof(errmsg));
	status = status == AA_NER_MODEL_OK
		? aa_ner_model_open_shared(other_path, &copies, &b, &copy_errno, errmsg, sizeof(errmsg))
		: status;
	tap_check(status == AA_NER_MODEL_OK && count_copies(copies_dir, NULL, 0) == 2,
			  "shared: another model gets a second copy");
	aa_ner_model_close(&a);
	aa_ner_model_close(&b);
	other.hash_seed = 9;
	aa_ner_model_write(other_path, &other, errmsg, sizeof(errmsg));
	status = aa_ner_model_open_shared(other_path, &copies, &b, &copy_errno, errmsg, sizeof(errmsg));
	tap_check(status == AA_NER_MODEL_OK && count_copies(copies_dir, NULL, 0) == 3,
			  "shared: copies nobody holds but loaded within unused_seconds stay");
	aa_ner_model_close(&b);
	copies.unused_seconds = 0;
	status = aa_ner_model_open_shared(other_path, &copies, &b, &copy_errno, errmsg, sizeof(errmsg));
	tap_check(status == AA_NER_MODEL_OK && count_copies(copies_dir, NULL, 0) == 1,
			  "shared: a load removes the copies nobody holds and nobody loaded for unused_seconds");
	aa_ner_model_close(&b);
	status = aa_ner_model_open_shared(path, &copies, &a, &copy_errno, errmsg, sizeof(errmsg));
	status = status == AA_NER_MODEL_OK
		? aa_ner_model_open_shared(other_path, &copies, &b, &copy_errno, errmsg, sizeof(errmsg))
		: status;
	tap_check(status == AA_NER_MODEL_OK && count_copies(copies_dir, NULL, 0) == 2,
			  "shared: a copy held open stays, whatever its age");
	aa_ner_model_close(&a);
	aa_ner_model_close(&b);
	tap_check(b.image == NULL && b.copy_fd == -1, "shared: close unmaps and forgets the copy");

	/* a copy directory that cannot be made: ERR_COPY with its errno */
	snprintf(copies_dir, sizeof(copies_dir), "%s/not_a_dir", dir);
	write_file(copies_dir, "x", 1);
	status = aa_ner_model_open_shared(path, &copies, &a, &copy_errno, errmsg, sizeof(errmsg));
	tap_check(status == AA_NER_MODEL_ERR_COPY && copy_errno == ENOTDIR &&
			  strstr(errmsg, "shared copy") != NULL && a.image == NULL,
			  "shared: a copy directory that is a file is ERR_COPY (ENOTDIR)");
	unlink(copies_dir);

	unlink(other_path);
	snprintf(copy, sizeof(copy), "rm -rf '%s/copies'", dir);
	if (system(copy) != 0)
		tap_check(0, "remove the copies");
	free(named);
}

/*
 * Write a small model, then damage copies of it in every way the loader
 * must catch.
 */
static void
test_model_files(void)
{
	char		dir_template[] = "/tmp/aa_test_tagger_XXXXXX";
	char	   *dir = mkdtemp(dir_template);
	char		path[256];
	char		damaged[256];
	char		fifo[256];
	char		errmsg[AA_NER_MODEL_ERRMSG_LEN];
	uint32_t	keys[16];
	int16_t		rows[16 * 9];
	int16_t		transitions[10 * 9];
	uint64_t	gazetteer[16];
	uint64_t	cluster_table[16];
	AaNerModelContents contents;
	AaNerModel	model;
	AaNerModelStatus status;
	const int16_t *row;
	FILE	   *f;
	char	   *image;
	long		size;

	if (dir == NULL)
	{
		tap_check(0, "temporary directory for model files");
		return;
	}
	/* Two weight rows: features 5 and 21 (slots 6 and 7, after 22 % 16). */
	memset(keys, 0, sizeof(keys));
	memset(rows, 0, sizeof(rows));
	memset(transitions, 0, sizeof(transitions));
	memset(gazetteer, 0, sizeof(gazetteer));
	keys[6] = 6;
	rows[6 * 9 + 3] = 100;
	keys[7] = 22;
	rows[7 * 9 + 1] = -7;
	gazetteer[(aa_ner_gazetteer_hash("lashkar gah", 11) >> 32) & 15] =
		aa_ner_gazetteer_key(aa_ner_gazetteer_hash("lashkar gah", 11)) | 0x2;
	memset(&contents, 0, sizeof(contents));
	contents.hash_seed = 7;
	contents.bucket_bits = 10;
	contents.num_labels = 9;
	contents.label_names = bio_labels;
	contents.weight_scale = 0.5f;
	contents.weight_slot_bits = 4;
	contents.keys = keys;
	contents.rows = rows;
	contents.transitions = transitions;
	contents.gazetteer_slot_bits = 4;
	contents.gazetteer = gazetteer;
	contents.gazetteer_max_tokens = 2;
	memset(cluster_table, 0, sizeof(cluster_table));
	cluster_table[(XXH3_64bits("kabul", 5) >> 32) & 15] =
		aa_ner_cluster_key(XXH3_64bits("kabul", 5)) | 0x1234;
	contents.cluster_slot_bits = 4;
	contents.clusters = cluster_table;
	snprintf(path, sizeof(path), "%s/small.model", dir);
	status = aa_ner_model_write(path, &contents, errmsg, sizeof(errmsg));
	tap_check(status == AA_NER_MODEL_OK, "a small model is written");
	status = aa_ner_model_open(path, &model, errmsg, sizeof(errmsg));
	tap_check(status == AA_NER_MODEL_OK && model.num_labels == 9 &&
		  strcmp(model.label_names[1], "B-PER") == 0,
		  "it opens with its parameters and labels");
	row = status == AA_NER_MODEL_OK ? aa_ner_model_row(&model, 5 + 1024) : NULL;
	tap_check(row != NULL && row[3] == 100, "feature 5 (hashed beyond the bucket bits) finds its row");
	row = status == AA_NER_MODEL_OK ? aa_ner_model_row(&model, 21) : NULL;
	tap_check(row != NULL && row[1] == -7, "feature 21 finds its row after a collision");
	tap_check(status == AA_NER_MODEL_OK && aa_ner_model_row(&model, 37) == NULL,
		  "an unknown feature has no row");
	tap_check(status == AA_NER_MODEL_OK &&
		  aa_ner_gazetteer_lookup(&model.gazetteer, aa_ner_gazetteer_hash("lashkar gah", 11)) == 0x2 &&
		  aa_ner_gazetteer_lookup(&model.gazetteer, aa_ner_gazetteer_hash("lashkar", 7)) == 0,
		  "the gazetteer finds \"lashkar gah\" as LOC and nothing else");
	tap_check(status == AA_NER_MODEL_OK &&
		  aa_ner_cluster_lookup(&model.clusters, XXH3_64bits("kabul", 5)) ==
		  (0x1234 | AA_NER_CLUSTER_MARK) &&
		  aa_ner_cluster_lookup(&model.clusters, XXH3_64bits("kandahar", 8)) == 0,
		  "the cluster table finds \"kabul\" and nothing else");
	aa_ner_model_close(&model);
	aa_ner_model_close(&model);
	tap_check(model.image == NULL, "closing twice is harmless");
	memset(keys, 0xff, sizeof(keys));
	tap_check(aa_ner_model_write(path, &contents, errmsg, sizeof(errmsg)) == AA_NER_MODEL_ERR_WRITE,
		  "the writer refuses a weight table without an empty slot");
	memset(keys, 0, sizeof(keys));
	keys[6] = 6;
	keys[7] = 22;

	snprintf(damaged, sizeof(damaged), "%s/missing.model", dir);
	status = aa_ner_model_open(damaged, &model, errmsg, sizeof(errmsg));
	tap_check(status == AA_NER_MODEL_ERR_OPEN && strstr(errmsg, damaged) != NULL,
		  "a missing file is ERR_OPEN and the message names the path");

	f = fopen(path, "rb");
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	fseek(f, 0, SEEK_SET);
	image = malloc((size_t) size);
	if (fread(image, 1, (size_t) size, f) != (size_t) size)
		size = 0;
	fclose(f);

	snprintf(damaged, sizeof(damaged), "%s/truncated.model", dir);
	f = fopen(damaged, "wb");
	fwrite(image, 1, (size_t) size - 100, f);
	fclose(f);
	status = aa_ner_model_open(damaged, &model, errmsg, sizeof(errmsg));
	tap_check(status == AA_NER_MODEL_ERR_TRUNCATED && strstr(errmsg, "truncated") != NULL,
		  "a truncated file is ERR_TRUNCATED");

	f = fopen(damaged, "wb");
	fwrite(image, 1, 20, f);
	fclose(f);
	status = aa_ner_model_open(damaged, &model, errmsg, sizeof(errmsg));
	tap_check(status == AA_NER_MODEL_ERR_TRUNCATED, "a file shorter than the header is ERR_TRUNCATED");

	snprintf(damaged, sizeof(damaged), "%s/corrupt.model", dir);
	image[size / 2] ^= 0x5a;
	f = fopen(damaged, "wb");
	fwrite(image, 1, (size_t) size, f);
	fclose(f);
	status = aa_ner_model_open(damaged, &model, errmsg, sizeof(errmsg));
	tap_check(status == AA_NER_MODEL_ERR_CHECKSUM && strstr(errmsg, damaged) != NULL,
		  "a flipped byte is ERR_CHECKSUM");
	image[size / 2] ^= 0x5a;

	image[0] = 'X';
	f = fopen(damaged, "wb");
	fwrite(image, 1, (size_t) size, f);
	fclose(f);
	status = aa_ner_model_open(damaged, &model, errmsg, sizeof(errmsg));
	tap_check(status == AA_NER_MODEL_ERR_BAD_MAGIC, "a wrong magic number is ERR_BAD_MAGIC");
	image[0] = 'A';

	/*
	 * A model of format 1 (before word clusters; format_version at offset
	 * 8): refused as an older format, with a message saying what to do.
	 */
	image[8] = 1;
	f = fopen(damaged, "wb");
	fwrite(image, 1, (size_t) size, f);
	fclose(f);
	status = aa_ner_model_open(damaged, &model, errmsg, sizeof(errmsg));
	tap_check(status == AA_NER_MODEL_ERR_VERSION && strstr(errmsg, "older format") != NULL &&
		  strstr(errmsg, "make model") != NULL,
		  "a format-1 model is ERR_VERSION with a message saying it is older");
	image[8] = AA_NER_MODEL_FORMAT_VERSION;

	/* bucket_bits (offset 24) out of range: a damaged header. */
	image[24] = 60;
	f = fopen(damaged, "wb");
	fwrite(image, 1, (size_t) size, f);
	fclose(f);
	status = aa_ner_model_open(damaged, &model, errmsg, sizeof(errmsg));
	tap_check(status == AA_NER_MODEL_ERR_BAD_HEADER || status == AA_NER_MODEL_ERR_TRUNCATED,
		  "an out-of-range header field is refused");

	status = aa_ner_model_open(dir, &model, errmsg, sizeof(errmsg));
	tap_check(status == AA_NER_MODEL_ERR_NOT_FILE && strstr(errmsg, "directory") != NULL,
		  "a directory is not a model (ERR_NOT_FILE)");

	/* A FIFO without a writer: refused at once, never waited on. */
	snprintf(fifo, sizeof(fifo), "%s/fifo.model", dir);
	if (mkfifo(fifo, 0600) == 0)
	{
		status = aa_ner_model_open(fifo, &model, errmsg, sizeof(errmsg));
		tap_check(status == AA_NER_MODEL_ERR_NOT_FILE && strstr(errmsg, "FIFO") != NULL,
			  "a FIFO is refused without blocking (ERR_NOT_FILE)");
		unlink(fifo);
	}
	else
		tap_check(0, "mkfifo for the FIFO test");

	/*
	 * The loaded copy survives the file's truncation, and the change is
	 * seen; so is a rewrite in place and a file renamed over it.
	 */
	status = aa_ner_model_open(path, &model, errmsg, sizeof(errmsg));
	tap_check(status == AA_NER_MODEL_OK && !aa_ner_model_file_changed(&model, path),
		  "an unchanged file is not reported as changed");
	f = fopen(path, "r+b");
	if (f != NULL)
	{
		tap_check(ftruncate(fileno(f), 100) == 0, "truncate the model file in place");
		fclose(f);
	}
	tap_check(aa_ner_model_file_changed(&model, path), "a truncated file is seen as changed");
	row = status == AA_NER_MODEL_OK ? aa_ner_model_row(&model, 21) : NULL;
	tap_check(row != NULL && row[1] == -7, "the copy in memory still reads after the truncation");
	aa_ner_model_close(&model);
	status = aa_ner_model_open(path, &model, errmsg, sizeof(errmsg));
	tap_check(status == AA_NER_MODEL_ERR_TRUNCATED, "reopening the truncated file is ERR_TRUNCATED");
	status = aa_ner_model_write(path, &contents, errmsg, sizeof(errmsg));
	status = status == AA_NER_MODEL_OK ? aa_ner_model_open(path, &model, errmsg, sizeof(errmsg)) : status;
	tap_check(status == AA_NER_MODEL_OK, "a model renamed over the path opens again");
	snprintf(damaged, sizeof(damaged), "%s/other.model", dir);
	tap_check(aa_ner_model_write(damaged, &contents, errmsg, sizeof(errmsg)) == AA_NER_MODEL_OK &&
		  rename(damaged, path) == 0 && aa_ner_model_file_changed(&model, path),
		  "a file renamed over the path is seen as changed");
	aa_ner_model_close(&model);
	test_shared_copies(dir, path, &contents);
	unlink(path);
	tap_check(aa_ner_model_file_changed(&model, path), "a closed model or a missing file counts as changed");

	unlink(path);
	unlink(damaged);
	snprintf(damaged, sizeof(damaged), "%s/truncated.model", dir);
	unlink(damaged);
	rmdir(dir);
	free(image);
}

/*
 * Tag a space-separated sentence with a model; returns label names joined
 * by spaces in out.
 */
static void
tag_sentence(const AaNerModel *model, const char *sentence, char *out, size_t outlen)
{
	char	   *copy;
	AaNerToken	tokens[64];
	int			labels[64];
	size_t		n = make_tokens(sentence, &copy, tokens, 64);
	size_t		bounds[2] = {0, n};

	out[0] = '\0';
	if (aa_ner_tag_document(model, tokens, n, bounds, 1, labels, &allocator, NULL, NULL))
		for (size_t i = 0; i < n; i++)
		{
			strncat(out, model->label_names[labels[i]], outlen - strlen(out) - 1);
			if (i + 1 < n)
				strncat(out, " ", outlen - strlen(out) - 1);
		}
	free(copy);
}

/* Interrupt checks for test_cancel: after how many calls to say stop. */
static int calls_before_cancel;

/* Say stop once calls_before_cancel calls have been made. */
static bool
cancel_after_some_calls(void)
{
	return calls_before_cancel-- <= 0;
}

/*
 * A long document is tagged in full without an interrupt check, and
 * stopped when the check says so: at its first check (in the set-up),
 * later (in decoding), and in entity resolution, each time returning
 * false with everything freed (ASan reports any leak).
 */
static void
test_cancel(const AaNerModel *model)
{
	size_t		n = 60000;
	AaNerToken *tokens = malloc(sizeof(AaNerToken) * n);
	int		   *labels = malloc(sizeof(int) * n);
	size_t	   *bounds = malloc(sizeof(size_t) * (n / 6 + 1));
	AaNerSpan  *spans = malloc(sizeof(AaNerSpan) * n);
	size_t	   *canonical = malloc(sizeof(size_t) * n);
	static const char *const words[] = {"Valery", "Gerasimov", "visited", "Moscow", "today", "."};
	AaNerLabelSet set;
	const char *names[AA_NER_MAX_LABELS] = {0};
	size_t		num_spans;

	for (size_t i = 0; i < n; i++)
	{
		tokens[i].text = words[i % 6];
		tokens[i].len = strlen(words[i % 6]);
	}
	for (size_t s = 0; s <= n / 6; s++)
		bounds[s] = s * 6;
	for (int l = 0; l < model->num_labels; l++)
		names[l] = model->label_names[l];
	aa_ner_labelset_init(&set, names, model->num_labels);

	tap_check(aa_ner_tag_document(model, tokens, n, bounds, n / 6, labels, &allocator, NULL, NULL),
		  "60,000 tokens are tagged without an interrupt check");
	num_spans = aa_ner_spans(labels, n, &set, NULL);
	tap_check(num_spans == aa_ner_spans(labels, n, &set, spans) && num_spans >= n / 6,
		  "aa_ner_spans counts without an output array as with one");
	tap_check(aa_ner_resolve_entities(spans, num_spans, tokens, canonical, &allocator),
		  "the mentions are resolved");

	aa_dup_set_interrupt_check(cancel_after_some_calls);
	calls_before_cancel = 0;
	tap_check(!aa_ner_tag_document(model, tokens, n, bounds, n / 6, labels, &allocator, NULL, NULL),
		  "a cancel at the first check stops tagging (in the set-up)");
	calls_before_cancel = 70;	/* past the ~62 checks of the set-up */
	tap_check(!aa_ner_tag_document(model, tokens, n, bounds, n / 6, labels, &allocator, NULL, NULL),
		  "a cancel at a later check stops tagging (in decoding)");
	calls_before_cancel = 0;
	tap_check(!aa_ner_resolve_entities(spans, num_spans, tokens, canonical, &allocator),
		  "a cancel stops entity resolution");
	aa_dup_set_interrupt_check(NULL);
	tap_check(aa_ner_tag_document(model, tokens, n, bounds, n / 6, labels, &allocator, NULL, NULL),
		  "without the check, the same document is tagged again");
	free(tokens);
	free(labels);
	free(bounds);
	free(spans);
	free(canonical);
}

/*
 * The shipped model loads and tags plain sentences; odd input does not
 * crash it.
 */
static void
test_shipped_model(void)
{
	AaNerModel	model;
	char		errmsg[AA_NER_MODEL_ERRMSG_LEN];
	char		out[1024];
	AaNerToken	odd[4];
	int			labels[4];
	size_t		bounds[3] = {0, 0, 4};
	char	   *long_token;

	if (access(SHIPPED_MODEL, R_OK) != 0)
	{
		printf("# %s not found (run from the project's top directory); skipping its tests\n",
			   SHIPPED_MODEL);
		return;
	}
	tap_check(aa_ner_model_open(SHIPPED_MODEL, &model, errmsg, sizeof(errmsg)) == AA_NER_MODEL_OK,
		  "the shipped model opens");
	if (model.image == NULL)
		return;
	tap_check(model.image_len <= 32 * 1024 * 1024, "the shipped model is at most 32 MB");

	tap_check((aa_ner_gazetteer_lookup(&model.gazetteer, aa_ner_gazetteer_hash("lashkar gah", 11)) &
		   AA_NER_GAZETTEER_TYPES) == 0x2,
		  "the shipped gazetteer knows \"lashkar gah\" as a place (LOC only)");
	tap_check(aa_ner_gazetteer_lookup(&model.gazetteer, aa_ner_gazetteer_hash("lashkar", 7)) ==
		  AA_NER_GAZETTEER_CONTINUES,
		  "\"lashkar\" alone is only the start of a longer phrase");
	tap_check((aa_ner_gazetteer_lookup(&model.gazetteer, aa_ner_gazetteer_hash("thursday", 8)) &
		   AA_NER_GAZETTEER_TYPES) == 0,
		  "\"thursday\" alone names nothing in the gazetteer");
	tag_sentence(&model, "Valery Gerasimov visited Moscow on Thursday .", out, sizeof(out));
	tap_check(strcmp(out, "B-PER I-PER O B-LOC O O O") == 0,
		  "Valery Gerasimov visited Moscow on Thursday .");
	tag_sentence(&model, "Interfax news agency quoted the Russian foreign ministry .", out, sizeof(out));
	tap_check(strncmp(out, "B-ORG O O O O B-MISC", 20) == 0,
		  "Interfax is ORG, Russian is MISC");

	/* A photo credit in capitals is a person, not a place (issue 8). */
	tag_sentence(&model, "Soldiers stand guard in Herat province ( HOSHANG HASHIMI / AFP )",
				 out, sizeof(out));
	tap_check(strstr(out, "B-LOC O O B-PER I-PER O B-ORG O") != NULL,
			  "( HOSHANG HASHIMI / AFP ): the credit's name is a person");
	tag_sentence(&model, "A rally in Nairobi ( NEW YORK / AP )", out, sizeof(out));
	tap_check(strstr(out, "O B-LOC I-LOC O B-ORG O") != NULL,
			  "( NEW YORK / AP ): a name the gazetteer knows as a place only stays a place");

	/* Empty sentences, invalid UTF-8 and a huge token. */
	long_token = malloc(100000);
	memset(long_token, 'A', 100000);
	odd[0].text = "\xff\xfe";
	odd[0].len = 2;
	odd[1].text = "";
	odd[1].len = 0;
	odd[2].text = long_token;
	odd[2].len = 100000;
	odd[3].text = "\xc3";
	odd[3].len = 1;
	tap_check(aa_ner_tag_document(&model, odd, 4, bounds, 2, labels, &allocator, NULL, NULL) &&
		  labels[0] >= 0 && labels[0] < 9 && labels[3] >= 0 && labels[3] < 9,
		  "invalid UTF-8, an empty token, a 100 kB token and an empty sentence are tagged");
	free(long_token);
	tap_check(aa_ner_tag_document(&model, odd, 0, bounds, 0, labels, &allocator, NULL, NULL),
		  "a document without tokens is fine");
	test_cancel(&model);
	aa_ner_model_close(&model);
}

/*
 * Run every group of checks; the exit status says whether all passed.
 */
int
main(void)
{
	test_label_sets();
	test_viterbi();
	test_spans();
	test_sentences();
	test_model_files();
	test_shipped_model();
	return tap_done();
}

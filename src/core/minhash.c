/*-------------------------------------------------------------------------
 *
 * minhash.c
 *	  MinHash sketches (one-permutation hashing with optimal densification),
 *	  their estimators, LSH band keys and text form.
 *
 *-------------------------------------------------------------------------
 */
#include "minhash.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

/* The prefix of the text form before the slot values. */
#define TEXT_PREFIX_MAX 96

/*
 * splitmix64 finaliser: a fixed bijective mixer, used where we need a
 * pseudo-random but reproducible number from a small integer (the
 * densification probes, the per-band seeds).
 */
static uint64_t
mix64(uint64_t x)
{
	x += UINT64_C(0x9E3779B97F4A7C15);
	x = (x ^ (x >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	x = (x ^ (x >> 27)) * UINT64_C(0x94D049BB133111EB);
	return x ^ (x >> 31);
}

/* Map a 32-bit value uniformly onto [0, n) without a division. */
static uint32_t
reduce_range(uint32_t x, uint32_t n)
{
	return (uint32_t) (((uint64_t) x * (uint64_t) n) >> 32);
}

/* Range checks shared by every entry point (see minhash.h). */
AaDupStatus
aa_minhash_check_params(int num_perm, int shingle_size)
{
	if (num_perm < AA_MINHASH_NUM_PERM_MIN || num_perm > AA_MINHASH_NUM_PERM_MAX)
		return AA_DUP_BAD_PARAMETER;
	if (shingle_size < AA_SHINGLE_SIZE_MIN || shingle_size > AA_SHINGLE_SIZE_MAX)
		return AA_DUP_BAD_PARAMETER;
	return AA_DUP_OK;
}

/* Fill a header for the given parameters. */
static void
init_header(AaMinhashHeader *header, int num_perm, int shingle_size, uint32_t seed,
			size_t num_distinct)
{
	memset(header, 0, sizeof(*header));
	header->version = AA_MINHASH_FORMAT_VERSION;
	header->shingle_size = (uint8_t) shingle_size;
	header->num_perm = (uint16_t) num_perm;
	header->seed = seed;
	header->num_shingles = num_distinct > UINT32_MAX ? UINT32_MAX : (uint32_t) num_distinct;
}

/*
 * The densification probe of empty bin i, attempt number attempt: the bin
 * it would copy from.  Changing this changes every sketch ever stored.
 */
static inline uint32_t
probe_source(uint32_t seed, uint32_t i, uint64_t attempt, uint32_t k)
{
	uint64_t	probe = mix64(((uint64_t) seed << 32) ^ ((uint64_t) i << 20) ^ attempt);

	return reduce_range((uint32_t) (probe >> 32), k);
}

/*
 * One-permutation hashing: the high 32 bits of a shingle hash choose its
 * bin, the low 32 bits compete for the bin's minimum.  Empty bins are then
 * filled by optimal densification: bin i probes bins mix(seed, i, attempt)
 * mod k for attempt = 1, 2, ... and copies the first originally non-empty
 * one.  The probe sequence depends only on (seed, i, attempt), so two
 * documents borrowing for the same bin borrow from the same place, which
 * is what keeps equal-slot counting an unbiased Jaccard estimator.
 *
 * Cost: an empty bin needs k / f probes on average when f bins are filled,
 * so densifying costs about k^2 / f probes.  When every filled bin holds
 * the same value (a document with one distinct shingle, typically: fewer
 * words than the shingle size) every probe would copy that value, so it
 * is copied without probing, in O(k).  Otherwise the probes are evaluated
 * four at a time (they are independent, so the processor overlaps them)
 * and the first filled one wins, exactly as probing one by one would: the
 * sketch must not change, because stored sketches are compared with new
 * ones.
 */
AaDupStatus
aa_minhash_from_hashes(const uint64_t *hashes, size_t n, size_t num_distinct,
					   int num_perm, int shingle_size, uint32_t seed,
					   AaMinhashHeader *header, uint32_t *values)
{
	uint8_t		filled[AA_MINHASH_NUM_PERM_MAX];
	uint32_t	k = (uint32_t) num_perm;
	uint32_t	nfilled = 0;
	uint32_t	first_filled = 0;
	bool		one_value = true;

	if (aa_minhash_check_params(num_perm, shingle_size) != AA_DUP_OK)
		return AA_DUP_BAD_PARAMETER;
	init_header(header, num_perm, shingle_size, seed, num_distinct);
	if (n == 0)
	{
		memset(values, 0, k * sizeof(uint32_t));
		return AA_DUP_OK;
	}

	memset(filled, 0, k);
	for (uint32_t i = 0; i < k; i++)
		values[i] = UINT32_MAX;
	for (size_t i = 0; i < n; i++)
	{
		uint32_t	bin = reduce_range((uint32_t) (hashes[i] >> 32), k);
		uint32_t	value = (uint32_t) hashes[i];
		uint32_t	current = values[bin];

		/* bins start at UINT32_MAX, so a plain minimum needs no branch */
		values[bin] = value < current ? value : current;
		filled[bin] = 1;
	}

	for (uint32_t i = 0; i < k; i++)
	{
		if (!filled[i])
			continue;
		if (nfilled++ == 0)
			first_filled = i;
		else if (values[i] != values[first_filled])
			one_value = false;
	}
	if (nfilled == k)
		return AA_DUP_OK;
	if (one_value)
	{
		/* whichever filled bin a probe finds, it copies this value */
		for (uint32_t i = 0; i < k; i++)
			values[i] = values[first_filled];
		return AA_DUP_OK;
	}

	for (uint32_t i = 0; i < k; i++)
	{
		uint64_t	attempt = 1;

		if (filled[i])
			continue;
		if ((i & 63) == 0 && aa_dup_interrupted())
			return AA_DUP_CANCELLED;
		/* at least two bins are filled, so this ends; expected k/nfilled probes */
		for (;;)
		{
			uint32_t	s0 = probe_source(seed, i, attempt, k);
			uint32_t	s1 = probe_source(seed, i, attempt + 1, k);
			uint32_t	s2 = probe_source(seed, i, attempt + 2, k);
			uint32_t	s3 = probe_source(seed, i, attempt + 3, k);

			/* the lowest attempt that finds a filled bin wins */
			if (filled[s0] | filled[s1] | filled[s2] | filled[s3])
			{
				uint32_t	source = filled[s0] ? s0 : filled[s1] ? s1 : filled[s2] ? s2 : s3;

				values[i] = values[source];
				break;
			}
			attempt += 4;
		}
	}
	return AA_DUP_OK;
}

/*
 * Count distinct values with an open-addressing set of 2^n slots at least
 * twice the number of values (linear probing; 0 marks an empty slot, so
 * the value 0 is counted apart).  Linear time, unlike sorting.
 */
static AaDupStatus
count_distinct(const uint64_t *values, size_t n, size_t *distinct)
{
	size_t		slots = 16;
	uint64_t   *table;
	size_t		count = 0;
	bool		seen_zero = false;

	while (slots < 2 * n)
		slots *= 2;
	table = calloc(slots, sizeof(uint64_t));
	if (table == NULL)
		return AA_DUP_NO_MEMORY;
	for (size_t i = 0; i < n; i++)
	{
		uint64_t	v = values[i];
		size_t		pos;

		if (v == 0)
		{
			count += !seen_zero;
			seen_zero = true;
			continue;
		}
		/* the values are hashes already: their low bits index the table */
		pos = (size_t) v & (slots - 1);
		while (table[pos] != 0 && table[pos] != v)
			pos = (pos + 1) & (slots - 1);
		if (table[pos] == 0)
		{
			table[pos] = v;
			count++;
		}
	}
	free(table);
	*distinct = count;
	return AA_DUP_OK;
}

/*
 * Words, shingles, distinct count and sketch of one text.  Repeated
 * shingles do not change a minimum, so the sketch is built from the
 * shingle multiset directly; only the count needs them made distinct.
 */
AaDupStatus
aa_minhash_build(const char *text, size_t len, int num_perm, int shingle_size,
				 uint32_t seed, AaMinhashHeader *header, uint32_t *values)
{
	AaWordList	words = {0};
	uint64_t   *shingles;
	size_t		n,
				distinct = 0;
	AaDupStatus status;

	status = aa_minhash_check_params(num_perm, shingle_size);
	if (status != AA_DUP_OK)
		return status;
	status = aa_words_extract(text, len, 0, &words);
	if (status != AA_DUP_OK)
	{
		aa_words_free(&words);
		return status;
	}
	n = aa_shingle_count(words.count, shingle_size);
	shingles = malloc((n + 1) * sizeof(uint64_t));
	if (shingles == NULL)
	{
		aa_words_free(&words);
		return AA_DUP_NO_MEMORY;
	}
	aa_shingle_window_hashes(&words, shingle_size, seed, shingles);
	aa_words_free(&words);
	status = count_distinct(shingles, n, &distinct);
	if (status == AA_DUP_OK)
		status = aa_minhash_from_hashes(shingles, n, distinct, num_perm, shingle_size, seed,
										header, values);
	free(shingles);
	return status;
}

/* Same version, k, shingle size and seed. */
int
aa_minhash_compatible(const AaMinhashHeader *a, const AaMinhashHeader *b)
{
	return a->version == b->version &&
		a->num_perm == b->num_perm &&
		a->shingle_size == b->shingle_size &&
		a->seed == b->seed;
}

/* Validate a header that came from outside this module. */
AaDupStatus
aa_minhash_check_header(const AaMinhashHeader *header)
{
	if (header->version != AA_MINHASH_FORMAT_VERSION)
		return AA_DUP_BAD_INPUT;
	if (header->reserved != 0)
		return AA_DUP_BAD_INPUT;
	if (aa_minhash_check_params(header->num_perm, header->shingle_size) != AA_DUP_OK)
		return AA_DUP_BAD_INPUT;
	return AA_DUP_OK;
}

/* Count equal slots. */
int
aa_minhash_matches(const uint32_t *va, const uint32_t *vb, int num_perm)
{
	int			matches = 0;

	for (int i = 0; i < num_perm; i++)
		matches += (va[i] == vb[i]);
	return matches;
}

/* Share of equal slots (see minhash.h). */
double
aa_minhash_similarity(const AaMinhashHeader *ha, const uint32_t *va,
					  const AaMinhashHeader *hb, const uint32_t *vb)
{
	if (ha->num_shingles == 0 || hb->num_shingles == 0 || ha->num_perm == 0)
		return 0.0;
	return (double) aa_minhash_matches(va, vb, ha->num_perm) / (double) ha->num_perm;
}

/*
 * Containment of a in b from the Jaccard estimate and the exact sizes:
 * with I = |A and B|, J = I / (|A| + |B| - I), so I = J (|A| + |B|) / (1 + J)
 * and the containment is I / |A|.
 */
double
aa_minhash_containment(const AaMinhashHeader *ha, const uint32_t *va,
					   const AaMinhashHeader *hb, const uint32_t *vb)
{
	double		j = aa_minhash_similarity(ha, va, hb, vb);
	double		size_a = (double) ha->num_shingles;
	double		size_b = (double) hb->num_shingles;
	double		c;

	if (ha->num_shingles == 0 || hb->num_shingles == 0)
		return 0.0;
	c = j * (size_a + size_b) / ((1.0 + j) * size_a);
	if (c > 1.0)
		c = 1.0;
	if (c < 0.0)
		c = 0.0;
	return c;
}

/*
 * Band keys (see minhash.h).  The per-band seed mixes in the band number
 * and every sketch parameter, so keys of different bands, or of sketches
 * that may not be compared, do not meet in an index by accident.
 */
AaDupStatus
aa_minhash_band_keys(const AaMinhashHeader *header, const uint32_t *values,
					 int bands, int rows, int64_t *keys)
{
	uint64_t	base;

	if (bands < 1 || rows < 1 || bands > header->num_perm || rows > header->num_perm ||
		(long) bands * (long) rows > (long) header->num_perm)
		return AA_DUP_BAD_PARAMETER;
	base = mix64(((uint64_t) header->seed << 32) ^ ((uint64_t) header->num_perm << 16) ^
				 ((uint64_t) header->shingle_size << 8) ^ header->version);
	for (int i = 0; i < bands; i++)
	{
		uint64_t	band_seed = mix64(base ^ ((uint64_t) (i + 1) << 40) ^ (uint64_t) rows);

		keys[i] = (int64_t) XXH3_64bits_withSeed(values + (size_t) i * rows,
												 (size_t) rows * sizeof(uint32_t), band_seed);
	}
	return AA_DUP_OK;
}

/*
 * The parameter key (see minhash.h): num_perm - 1 in bits 20-31,
 * shingle_size - 1 in bits 15-19, a hash of version and seed in bits 0-14,
 * offset to the bottom of the int64 range.
 */
int64_t
aa_minhash_param_key(const AaMinhashHeader *header)
{
	uint64_t	code;

	code = ((uint64_t) ((header->num_perm - 1) & 0xFFF) << 20) |
		((uint64_t) ((header->shingle_size - 1) & 0x1F) << 15) |
		(mix64(((uint64_t) header->version << 32) | header->seed) & 0x7FFF);
	return AA_MINHASH_PARAM_KEY_MIN + (int64_t) code;
}

/* The S-curve 1 - (1 - s^r)^b. */
double
aa_lsh_candidate_probability(double s, int bands, int rows)
{
	double		band_match = 1.0;
	double		no_band = 1.0;

	for (int i = 0; i < rows; i++)
		band_match *= s;
	for (int i = 0; i < bands; i++)
		no_band *= (1.0 - band_match);
	return 1.0 - no_band;
}

/* Length of the text form (see minhash.h). */
size_t
aa_minhash_text_length(const AaMinhashHeader *header)
{
	char		prefix[TEXT_PREFIX_MAX];
	int			n = snprintf(prefix, sizeof(prefix), "v%u;k=%u;n=%u;seed=%u;shingles=%u;",
							 (unsigned) header->version, (unsigned) header->num_perm,
							 (unsigned) header->shingle_size, (unsigned) header->seed,
							 (unsigned) header->num_shingles);

	return (size_t) n + (size_t) header->num_perm * 8;
}

/* Write the text form into out (out_size >= aa_minhash_text_length + 1). */
void
aa_minhash_to_text(const AaMinhashHeader *header, const uint32_t *values,
				   char *out, size_t out_size)
{
	static const char hex[] = "0123456789abcdef";
	int			n;
	size_t		pos;

	if (out_size == 0)
		return;
	n = snprintf(out, out_size, "v%u;k=%u;n=%u;seed=%u;shingles=%u;",
				 (unsigned) header->version, (unsigned) header->num_perm,
				 (unsigned) header->shingle_size, (unsigned) header->seed,
				 (unsigned) header->num_shingles);
	if (n < 0 || (size_t) n >= out_size)
		return;
	pos = (size_t) n;
	for (int i = 0; i < header->num_perm && pos + 8 < out_size; i++)
	{
		for (int shift = 28; shift >= 0; shift -= 4)
			out[pos++] = hex[(values[i] >> shift) & 0xF];
	}
	out[pos] = '\0';
}

/*
 * Read the literal word expect at *pos, then a decimal number no larger
 * than max, then the terminator ';'.  Strict: no sign, no spaces, no
 * leading zeros beyond a lone "0", at most 10 digits.
 */
static bool
parse_field(const char *text, size_t len, size_t *pos, const char *expect,
			uint64_t max, uint64_t *value)
{
	size_t		expect_len = strlen(expect);
	size_t		p = *pos;
	uint64_t	v = 0;
	size_t		digits = 0;

	if (len - p < expect_len || memcmp(text + p, expect, expect_len) != 0)
		return false;
	p += expect_len;
	while (p < len && text[p] >= '0' && text[p] <= '9' && digits < 11)
	{
		v = v * 10 + (uint64_t) (text[p] - '0');
		p++;
		digits++;
	}
	if (digits == 0 || digits > 10 || v > max)
		return false;
	if (digits > 1 && text[p - digits] == '0')
		return false;
	if (p >= len || text[p] != ';')
		return false;
	*pos = p + 1;
	*value = v;
	return true;
}

/* Value of one hex digit, or -1. */
static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Parse the text form (see minhash.h). */
AaDupStatus
aa_minhash_from_text(const char *text, size_t len, AaMinhashHeader *header,
					 uint32_t **values, const char **error_detail)
{
	size_t		pos = 0;
	uint64_t	version,
				num_perm,
				shingle_size,
				seed,
				num_shingles;
	uint32_t   *slots;

	*values = NULL;
	*error_detail = NULL;
	if (!parse_field(text, len, &pos, "v", 255, &version) || version != AA_MINHASH_FORMAT_VERSION)
	{
		*error_detail = "The text must start with the format version \"v1;\".";
		return AA_DUP_BAD_INPUT;
	}
	if (!parse_field(text, len, &pos, "k=", AA_MINHASH_NUM_PERM_MAX, &num_perm) ||
		num_perm < AA_MINHASH_NUM_PERM_MIN)
	{
		*error_detail = "Expected \"k=<number of permutations, 1 to 4096>;\" after the version.";
		return AA_DUP_BAD_INPUT;
	}
	if (!parse_field(text, len, &pos, "n=", AA_SHINGLE_SIZE_MAX, &shingle_size) ||
		shingle_size < AA_SHINGLE_SIZE_MIN)
	{
		*error_detail = "Expected \"n=<shingle size, 1 to 32>;\" after k.";
		return AA_DUP_BAD_INPUT;
	}
	if (!parse_field(text, len, &pos, "seed=", UINT32_MAX, &seed))
	{
		*error_detail = "Expected \"seed=<32-bit unsigned seed>;\" after n.";
		return AA_DUP_BAD_INPUT;
	}
	if (!parse_field(text, len, &pos, "shingles=", UINT32_MAX, &num_shingles))
	{
		*error_detail = "Expected \"shingles=<number of distinct shingles>;\" after seed.";
		return AA_DUP_BAD_INPUT;
	}
	if (len - pos != num_perm * 8)
	{
		*error_detail = "The number of hexadecimal slot values does not match k (8 hex digits per slot).";
		return AA_DUP_BAD_INPUT;
	}

	slots = malloc(num_perm * sizeof(uint32_t));
	if (slots == NULL)
		return AA_DUP_NO_MEMORY;
	for (uint64_t i = 0; i < num_perm; i++)
	{
		uint32_t	v = 0;

		for (int d = 0; d < 8; d++)
		{
			int			h = hex_value(text[pos++]);

			if (h < 0)
			{
				free(slots);
				*error_detail = "Slot values must be hexadecimal digits.";
				return AA_DUP_BAD_INPUT;
			}
			v = (v << 4) | (uint32_t) h;
		}
		slots[i] = v;
	}
	init_header(header, (int) num_perm, (int) shingle_size, (uint32_t) seed, (size_t) num_shingles);
	*values = slots;
	return AA_DUP_OK;
}

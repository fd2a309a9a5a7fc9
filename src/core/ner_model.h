/*-------------------------------------------------------------------------
 *
 * ner_model.h
 *	  The binary model file of the entity tagger: layout, loaders (a shared
 *	  read-only mapping of a verified copy, or a private copy in memory)
 *	  and writer.
 *
 * A model file is a fixed-size header followed by five arrays, each
 * starting on a 64-byte boundary, all little-endian:
 *
 *	- the weight table: an open-addressing hash table of weight_slots
 *	  uint32 keys (a feature hash & feature_mask, plus one; 0 marks an
 *	  empty slot), looked up by linear probing from key & (slots - 1);
 *	- the weight rows: weight_slots rows of num_labels int16, row i
 *	  belonging to key i.  A weight w stands for the score w * weight_scale.
 *	  Only features that ever received a weight are stored, which keeps
 *	  the file small while the feature hash itself has few collisions;
 *	- the label-transition scores: (num_labels + 1) rows of num_labels
 *	  int16, the last row being the sentence start;
 *	- the gazetteer: gazetteer_slots uint64 entries, each the hash of a
 *	  lower-cased phrase (its tokens joined by single spaces) with the low
 *	  six bits replaced: bits 0-3 the mask of the entity types the phrase
 *	  names (0 for none), bit 4 set when a longer phrase starts with this
 *	  one (so a lookup knows whether to try one token more), bit 5 always
 *	  set; 0 marks an empty slot;
 *	- (format 2) the word clusters: cluster_slot_bits uint64 entries, each
 *	  the XXH3-64 hash of a lower-cased word with the low 25 bits replaced
 *	  by its cluster ids (AA_NER_CLUSTER_* below) and bit 24 set; 0 marks
 *	  an empty slot.  The clusters were induced by the trainer from
 *	  unlabelled news text, so the server needs nothing else.
 *
 * The header names the feature-hash parameters and the label set and
 * carries an XXH64 checksum of every byte after it, so a truncated or
 * corrupted file is refused with an error code and a message naming the
 * path, never a crash.
 *
 * The file a caller names (the installed model, or any path a setting
 * gives) is never mapped: a mapping faults (SIGBUS) when its file is
 * truncated or rewritten in place while in use.  aa_ner_model_open_shared
 * reads and checks the named file, then maps a copy of it that only this
 * loader writes: an immutable file in a directory of the caller's (the
 * server's data directory), named by a hash of the model's header (which
 * carries the checksum of everything after it), written under a temporary
 * name and linked into place, verified byte for byte against the named
 * file before it is trusted, and never truncated or rewritten, only
 * unlinked (a mapping of an unlinked file stays valid).  Every process
 * that loads the same model maps the same copy, so its pages are shared
 * through the page cache.  Each mapper holds a shared flock() on the
 * copy, and each load sets the copy's modification time; every load
 * unlinks the copies that nobody holds and nobody loaded for a while (so
 * that models used in turn are not copied again and again).  aa_ner_model_open reads the file into private memory (the
 * trainer and the unit tests use it).  Both remember which file they
 * read (device, inode, size, modification and change times), so that a
 * caller can notice a replaced file with one stat() and load it again.
 *
 * This file is part of the core: it includes no PostgreSQL header.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AA_NER_MODEL_H
#define AA_NER_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AA_NER_MODEL_MAGIC "AANERMDL"
#define AA_NER_MODEL_FORMAT_VERSION 2	/* 2: word clusters */
#define AA_NER_MAX_LABELS 32
#define AA_NER_LABEL_NAME_LEN 8
#define AA_NER_MIN_BUCKET_BITS 10
#define AA_NER_MAX_BUCKET_BITS 30
#define AA_NER_MAX_TABLE_BITS 26
#define AA_NER_MAX_GAZETTEER_TOKENS 8
#define AA_NER_MODEL_ERRMSG_LEN 2560	/* two paths and a reason */

/* Gazetteer entry bits below the hash (see the file comment). */
#define AA_NER_GAZETTEER_TYPES 0x0F
#define AA_NER_GAZETTEER_CONTINUES 0x10
#define AA_NER_GAZETTEER_VALUE_BITS 0x1F	/* types and continues */
#define AA_NER_GAZETTEER_LOW_BITS 0x3F	/* replaced in the stored hash */
#define AA_NER_GAZETTEER_MARK 0x20	/* always set: entries are never 0 */

/*
 * The part of a gazetteer entry that identifies its phrase: the phrase
 * hash with the low six bits replaced by the mark bit.
 */
static inline uint64_t
aa_ner_gazetteer_key(uint64_t phrase_hash)
{
	return (phrase_hash & ~(uint64_t) AA_NER_GAZETTEER_LOW_BITS) | AA_NER_GAZETTEER_MARK;
}

/*
 * A word's cluster entry: three clusterings of the vocabulary, coarse to
 * fine, packed below the mark bit.
 */
#define AA_NER_CLUSTER_COARSE_BITS 6	/* 64 clusters */
#define AA_NER_CLUSTER_MIDDLE_BITS 8	/* 256 clusters */
#define AA_NER_CLUSTER_FINE_BITS 10 /* 1024 clusters */
#define AA_NER_CLUSTER_VALUE_BITS 0xFFFFFFu	/* the three ids */
#define AA_NER_CLUSTER_MARK 0x1000000u	/* always set: entries are never 0 */
#define AA_NER_CLUSTER_LOW_BITS 0x1FFFFFFu	/* replaced in the stored hash */

/* The part of a cluster entry that identifies its word. */
static inline uint64_t
aa_ner_cluster_key(uint64_t word_hash)
{
	return (word_hash & ~(uint64_t) AA_NER_CLUSTER_LOW_BITS) | AA_NER_CLUSTER_MARK;
}

/* What went wrong while opening a model file. */
typedef enum AaNerModelStatus
{
	AA_NER_MODEL_OK = 0,
	AA_NER_MODEL_ERR_OPEN,		/* cannot stat, open or read the file */
	AA_NER_MODEL_ERR_NOT_FILE,	/* not a regular file (FIFO, directory...) */
	AA_NER_MODEL_ERR_TRUNCATED, /* shorter than its header says */
	AA_NER_MODEL_ERR_BAD_MAGIC, /* not a model file */
	AA_NER_MODEL_ERR_VERSION,	/* format or feature version unknown */
	AA_NER_MODEL_ERR_BAD_HEADER,	/* inconsistent header fields */
	AA_NER_MODEL_ERR_CHECKSUM,	/* contents do not match the checksum */
	AA_NER_MODEL_ERR_NO_MEMORY, /* no memory for the copy of the file */
	AA_NER_MODEL_ERR_WRITE,		/* the writer could not write the file */
	AA_NER_MODEL_ERR_COPY		/* the shared copy cannot be created, read
								 * or mapped: *copy_errno says why */
} AaNerModelStatus;

/* The on-disk header; every integer is little-endian. */
typedef struct AaNerModelHeader
{
	char		magic[8];		/* AA_NER_MODEL_MAGIC, not NUL-terminated */
	uint32_t	format_version; /* AA_NER_MODEL_FORMAT_VERSION */
	uint32_t	header_size;	/* sizeof(AaNerModelHeader) */
	uint32_t	feature_version;	/* AA_NER_FEATURE_VERSION of tagger.h */
	uint32_t	hash_seed;		/* seed of the feature hash */
	uint32_t	bucket_bits;	/* feature hashes keep this many low bits */
	uint32_t	num_labels;		/* labels per row */
	uint32_t	weight_slot_bits;	/* log2 of the weight table's slots */
	uint32_t	gazetteer_slot_bits;	/* log2 of the gazetteer's slots */
	uint32_t	gazetteer_max_tokens;	/* longest gazetteer phrase */
	float		weight_scale;	/* score of one unit of an int16 weight */
	uint64_t	keys_offset;	/* byte offsets of the four arrays */
	uint64_t	rows_offset;
	uint64_t	transitions_offset;
	uint64_t	gazetteer_offset;
	uint64_t	file_size;		/* total bytes in the file */
	uint64_t	checksum;		/* XXH64 (seed 0) of bytes [header_size,
								 * file_size) */
	char		labels[AA_NER_MAX_LABELS][AA_NER_LABEL_NAME_LEN];	/* "O",
																	 * "B-PER",
																	 * ... */
	/* format 2 */
	uint32_t	cluster_slot_bits;	/* log2 of the cluster table's slots */
	uint32_t	reserved;		/* 0 */
	uint64_t	clusters_offset;	/* byte offset of the cluster table */
} AaNerModelHeader;

/* A gazetteer: phrase hashes with type masks (see the file comment). */
typedef struct AaNerGazetteer
{
	const uint64_t *entries;	/* slot_mask + 1 entries */
	uint64_t	slot_mask;
	int			max_tokens;
} AaNerGazetteer;

/* Word clusters: word hashes with cluster ids (see the file comment). */
typedef struct AaNerClusters
{
	const uint64_t *entries;	/* slot_mask + 1 entries */
	uint64_t	slot_mask;
} AaNerClusters;

/*
 * Which file a model was read from: enough to tell that the path now names
 * another file, or the same file changed (a rewrite changes the size or
 * the times; rename and cp -f give another inode).
 */
typedef struct AaNerModelFileId
{
	uint64_t	dev;
	uint64_t	ino;
	uint64_t	size;
	int64_t		mtime_sec;
	int64_t		mtime_nsec;
	int64_t		ctime_sec;
	int64_t		ctime_nsec;
} AaNerModelFileId;

/* A model read into memory or mapped. */
typedef struct AaNerModel
{
	void	   *image;			/* the file's bytes, NULL if none: malloc'd,
								 * or a read-only shared mapping */
	size_t		image_len;
	bool		image_mapped;	/* image maps the copy open on copy_fd */
	int			copy_fd;		/* the copy, flock(LOCK_SH)ed while mapped */
	AaNerModelFileId file_id;	/* the file they were read from */
	uint32_t	hash_seed;
	uint32_t	bucket_mask;	/* applied to feature hashes */
	int			num_labels;
	float		weight_scale;
	const uint32_t *keys;		/* weight table keys */
	const int16_t *rows;		/* weight table rows */
	uint32_t	slot_mask;
	const int16_t *transitions; /* (num_labels + 1) * num_labels */
	AaNerGazetteer gazetteer;
	AaNerClusters clusters;
	char		label_names[AA_NER_MAX_LABELS][AA_NER_LABEL_NAME_LEN + 1];
} AaNerModel;

/* Everything the writer needs to build a model file. */
typedef struct AaNerModelContents
{
	uint32_t	hash_seed;
	uint32_t	bucket_bits;
	int			num_labels;
	const char *const *label_names;
	float		weight_scale;
	uint32_t	weight_slot_bits;
	const uint32_t *keys;		/* 1 << weight_slot_bits */
	const int16_t *rows;		/* (1 << weight_slot_bits) * num_labels */
	const int16_t *transitions; /* (num_labels + 1) * num_labels */
	uint32_t	gazetteer_slot_bits;
	const uint64_t *gazetteer;	/* 1 << gazetteer_slot_bits */
	int			gazetteer_max_tokens;
	uint32_t	cluster_slot_bits;
	const uint64_t *clusters;	/* 1 << cluster_slot_bits */
} AaNerModelContents;

/*
 * Read the model file at path into private memory and check it.  Only a
 * regular file is opened, and without blocking, so a FIFO or a device is
 * refused at once.  On failure, returns the status, leaves *model closed
 * and writes a message naming the path into errmsg
 * (AA_NER_MODEL_ERRMSG_LEN bytes are enough).
 */
extern AaNerModelStatus aa_ner_model_open(const char *path, AaNerModel *model,
										  char *errmsg, size_t errmsg_len);

/*
 * Where aa_ner_model_open_shared keeps its copies: a directory that only
 * the loading processes' user may write (created with dir_mode, not its
 * parents, when missing), and the mode of the copies.
 */
typedef struct AaNerModelCopyDir
{
	const char *path;
	unsigned int dir_mode;		/* e.g. 0700 */
	unsigned int file_mode;		/* e.g. 0600 */
	unsigned int unused_seconds;	/* a copy nobody maps and nobody loaded
									 * for this long is removed */
} AaNerModelCopyDir;

/*
 * Open the model file at path as aa_ner_model_open checks it (regular
 * file, opened without blocking, header, checksum, tables), but map a
 * verified copy of it in copies->path read-only and shared instead of
 * reading it into private memory (see the file comment).  Nothing done to
 * the file at path afterwards can reach the mapping.  A failure of the
 * named file gives the same status and message as aa_ner_model_open; a
 * failure to create, read or map the copy (directory not writable, disk
 * full...) gives AA_NER_MODEL_ERR_COPY with the errno in *copy_errno and
 * no file left behind.  Close with aa_ner_model_close.
 */
extern AaNerModelStatus aa_ner_model_open_shared(const char *path,
												 const AaNerModelCopyDir *copies,
												 AaNerModel *model,
												 int *copy_errno,
												 char *errmsg, size_t errmsg_len);

/*
 * Does path no longer name the file the open model was read from (another
 * file, the same file changed, or no file at all)?  One stat() call.
 */
extern bool aa_ner_model_file_changed(const AaNerModel *model, const char *path);

/*
 * Free a model opened by either loader (free the copy, or unmap the shared
 * copy and close it, which releases its lock); safe on a closed model.
 */
extern void aa_ner_model_close(AaNerModel *model);

/*
 * The int16 weight row of a feature hash, or NULL when the model has no
 * weights for it.
 */
static inline const int16_t *
aa_ner_model_row(const AaNerModel *model, uint32_t feature)
{
	uint32_t	key = (feature & model->bucket_mask) + 1;
	uint32_t	slot = key & model->slot_mask;

	for (;;)
	{
		uint32_t	found = model->keys[slot];

		if (found == key)
			return model->rows + (size_t) slot * model->num_labels;
		if (found == 0)
			return NULL;
		slot = (slot + 1) & model->slot_mask;
	}
}

/*
 * The gazetteer's entry bits for a phrase hash: its type mask, plus
 * AA_NER_GAZETTEER_CONTINUES when longer phrases start with it; 0 when the
 * phrase is neither a gazetteer phrase nor the start of one.  The table
 * always has an empty slot (the loader and the writer check), so the
 * probe ends.
 */
static inline unsigned int
aa_ner_gazetteer_lookup(const AaNerGazetteer *gazetteer, uint64_t phrase_hash)
{
	uint64_t	key = aa_ner_gazetteer_key(phrase_hash);
	uint64_t	slot;

	if (gazetteer == NULL || gazetteer->entries == NULL)
		return 0;
	slot = (phrase_hash >> 32) & gazetteer->slot_mask;
	for (;;)
	{
		uint64_t	entry = gazetteer->entries[slot];

		if (entry == 0)
			return 0;
		if ((entry & ~(uint64_t) AA_NER_GAZETTEER_VALUE_BITS) == key)
			return (unsigned int) (entry & AA_NER_GAZETTEER_VALUE_BITS);
		slot = (slot + 1) & gazetteer->slot_mask;
	}
}

/*
 * The cluster ids of a word (its XXH3-64 hash as the tagger computes it),
 * AA_NER_CLUSTER_MARK included; 0 when the word has no cluster.  The table
 * always has an empty slot (the loader and the writer check).
 */
static inline uint32_t
aa_ner_cluster_lookup(const AaNerClusters *clusters, uint64_t word_hash)
{
	uint64_t	key = aa_ner_cluster_key(word_hash);
	uint64_t	slot;

	if (clusters == NULL || clusters->entries == NULL)
		return 0;
	slot = (word_hash >> 32) & clusters->slot_mask;
	for (;;)
	{
		uint64_t	entry = clusters->entries[slot];

		if (entry == 0)
			return 0;
		if ((entry & ~(uint64_t) AA_NER_CLUSTER_VALUE_BITS) == key)
			return (uint32_t) (entry & AA_NER_CLUSTER_LOW_BITS);
		slot = (slot + 1) & clusters->slot_mask;
	}
}

/*
 * Write a model file from its contents.  Returns AA_NER_MODEL_OK or
 * AA_NER_MODEL_ERR_WRITE (errmsg set).
 */
extern AaNerModelStatus aa_ner_model_write(const char *path,
										   const AaNerModelContents *contents,
										   char *errmsg, size_t errmsg_len);

#endif							/* AA_NER_MODEL_H */

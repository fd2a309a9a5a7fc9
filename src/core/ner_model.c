/*-------------------------------------------------------------------------
 *
 * ner_model.c
 *	  Load (into private memory) and write the entity tagger's model file.
 *
 * The loader trusts nothing in the file: every offset and size is checked
 * against the real file size before anything is read through it, and the
 * checksum is verified once at load, so the tagger can index the weight
 * rows without further checks.  The file is copied, not mapped, so that
 * nothing done to it later (truncation, an in-place rewrite) can change
 * or take away the bytes the tagger reads.
 *
 * This file is part of the core: it includes no PostgreSQL header.
 *
 *-------------------------------------------------------------------------
 */
#include "ner_model.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xxhash.h>

#include "tagger.h"

/*
 * Alignment of the in-memory copy of a model: 2 MB, so that the kernel
 * can back it with huge pages (see aa_ner_model_open).
 */
#define MODEL_ALIGNMENT ((size_t) 2 * 1024 * 1024)

/*
 * Round offset up to a multiple of 64 so that the arrays start on a cache
 * line.
 */
static uint64_t
align_to_cache_line(uint64_t offset)
{
	return (offset + 63) & ~(uint64_t) 63;
}

/*
 * Fill errmsg with "<what> in model file \"<path>\"" style text; a helper
 * so that every failure names the path the same way.
 */
static void
set_error(char *errmsg, size_t errmsg_len, const char *path, const char *what)
{
	if (errmsg != NULL && errmsg_len > 0)
		snprintf(errmsg, errmsg_len, "model file \"%s\": %s", path, what);
}

/*
 * Check that an array of count elements of elem_size bytes at offset lies
 * inside a file of file_size bytes, after the header and 64-byte aligned.
 */
static bool
array_fits(uint64_t offset, uint64_t count, uint64_t elem_size,
		   uint64_t file_size)
{
	if (offset < sizeof(AaNerModelHeader) || offset % 64 != 0 || offset > file_size)
		return false;
	if (count != 0 && elem_size > (file_size - offset) / count)
		return false;
	return true;
}

/*
 * Check the header fields against each other and against the actual file
 * size.  Returns AA_NER_MODEL_OK or the reason the header is unusable.
 */
static AaNerModelStatus
check_header(const AaNerModelHeader *header, uint64_t actual_size,
			 const char **reason)
{
	uint64_t	weight_slots;
	uint64_t	gazetteer_slots;
	uint64_t	cluster_slots;

	if (memcmp(header->magic, AA_NER_MODEL_MAGIC, 8) != 0)
	{
		*reason = "not an article_analytics entity model (bad magic number)";
		return AA_NER_MODEL_ERR_BAD_MAGIC;
	}
	if (header->format_version != AA_NER_MODEL_FORMAT_VERSION)
	{
		*reason = header->format_version < AA_NER_MODEL_FORMAT_VERSION
			? "model file has an older format than this build reads (format 2 adds word clusters); rebuild it with make model or install the model shipped with this build"
			: "model file format is newer than this build reads; install the model shipped with this build";
		return AA_NER_MODEL_ERR_VERSION;
	}
	if (header->header_size != sizeof(AaNerModelHeader))
	{
		*reason = "unsupported model format version";
		return AA_NER_MODEL_ERR_VERSION;
	}
	if (header->feature_version != AA_NER_FEATURE_VERSION)
	{
		*reason = "model was trained with a different feature set version";
		return AA_NER_MODEL_ERR_VERSION;
	}
	if (header->file_size != actual_size)
	{
		*reason = (actual_size < header->file_size)
			? "file is truncated"
			: "file size does not match its header";
		return actual_size < header->file_size
			? AA_NER_MODEL_ERR_TRUNCATED : AA_NER_MODEL_ERR_BAD_HEADER;
	}
	if (header->bucket_bits < AA_NER_MIN_BUCKET_BITS ||
		header->bucket_bits > AA_NER_MAX_BUCKET_BITS ||
		header->weight_slot_bits < 1 ||
		header->weight_slot_bits > AA_NER_MAX_TABLE_BITS ||
		header->gazetteer_slot_bits < 1 ||
		header->gazetteer_slot_bits > AA_NER_MAX_TABLE_BITS ||
		header->gazetteer_max_tokens > AA_NER_MAX_GAZETTEER_TOKENS ||
		header->cluster_slot_bits < 1 ||
		header->cluster_slot_bits > AA_NER_MAX_TABLE_BITS ||
		header->num_labels < 1 || header->num_labels > AA_NER_MAX_LABELS ||
		!(header->weight_scale > 0.0f) || header->weight_scale > 1e6f)
	{
		*reason = "header has out-of-range hash, table or label parameters";
		return AA_NER_MODEL_ERR_BAD_HEADER;
	}
	weight_slots = (uint64_t) 1 << header->weight_slot_bits;
	gazetteer_slots = (uint64_t) 1 << header->gazetteer_slot_bits;
	cluster_slots = (uint64_t) 1 << header->cluster_slot_bits;
	if (!array_fits(header->clusters_offset, cluster_slots, sizeof(uint64_t), actual_size) ||
		!array_fits(header->keys_offset, weight_slots, sizeof(uint32_t), actual_size) ||
		!array_fits(header->rows_offset, weight_slots * header->num_labels,
					sizeof(int16_t), actual_size) ||
		!array_fits(header->transitions_offset,
					(uint64_t) (header->num_labels + 1) * header->num_labels,
					sizeof(int16_t), actual_size) ||
		!array_fits(header->gazetteer_offset, gazetteer_slots, sizeof(uint64_t),
					actual_size))
	{
		*reason = "header offsets point outside the file";
		return AA_NER_MODEL_ERR_BAD_HEADER;
	}
	return AA_NER_MODEL_OK;
}

/*
 * Does an open-addressing table have at least one empty slot?  Lookups
 * stop at an empty slot, so a full table (only possible in a damaged
 * file) would make them loop forever.
 */
static bool
has_empty_slot32(const uint32_t *keys, uint64_t slots)
{
	for (uint64_t i = 0; i < slots; i++)
		if (keys[i] == 0)
			return true;
	return false;
}

/* The same check for the gazetteer's 64-bit entries. */
static bool
has_empty_slot64(const uint64_t *entries, uint64_t slots)
{
	for (uint64_t i = 0; i < slots; i++)
		if (entries[i] == 0)
			return true;
	return false;
}

/* A word for a file type that is not a regular file, for messages. */
static const char *
file_type_name(mode_t mode)
{
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISSOCK(mode))
		return "a socket";
	if (S_ISCHR(mode))
		return "a character device";
	if (S_ISBLK(mode))
		return "a block device";
	return "not a regular file";
}

/* Fill a file identity from stat() results. */
static void
file_id_from_stat(const struct stat *st, AaNerModelFileId *id)
{
	memset(id, 0, sizeof(*id));
	id->dev = (uint64_t) st->st_dev;
	id->ino = (uint64_t) st->st_ino;
	id->size = (uint64_t) st->st_size;
	id->mtime_sec = (int64_t) st->st_mtim.tv_sec;
	id->mtime_nsec = (int64_t) st->st_mtim.tv_nsec;
	id->ctime_sec = (int64_t) st->st_ctim.tv_sec;
	id->ctime_nsec = (int64_t) st->st_ctim.tv_nsec;
}

/*
 * Read exactly len bytes from fd into buf.  Returns 0 on success, -1 with
 * errno set on a read error, or 1 when the file ends early (it shrank
 * since it was measured).
 */
static int
read_fully(int fd, char *buf, size_t len)
{
	size_t		done = 0;

	while (done < len)
	{
		ssize_t		n = read(fd, buf + done, len - done);

		if (n < 0)
		{
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			return 1;
		done += (size_t) n;
	}
	return 0;
}

/*
 * Read the model file into memory and validate it.  The path is checked
 * with stat() before it is opened, and opened with O_NONBLOCK, so that
 * neither a FIFO named in the setting nor one swapped in between the two
 * calls can make open() or read() wait; the flag is cleared once fstat()
 * has confirmed a regular file.  The header is read and checked against
 * the file's size before the whole file is allocated and read.
 */
AaNerModelStatus
aa_ner_model_open(const char *path, AaNerModel *model,
				  char *errmsg, size_t errmsg_len)
{
	int			fd;
	int			flags;
	int			rc;
	struct stat st;
	char	   *image;
	AaNerModelHeader header_copy;
	const AaNerModelHeader *header;
	const char *reason = NULL;
	AaNerModelStatus status;
	char		buf[256];

	memset(model, 0, sizeof(*model));
	if (stat(path, &st) != 0)
	{
		snprintf(buf, sizeof(buf), "cannot open: %s", strerror(errno));
		set_error(errmsg, errmsg_len, path, buf);
		return AA_NER_MODEL_ERR_OPEN;
	}
	if (!S_ISREG(st.st_mode))
	{
		snprintf(buf, sizeof(buf), "not a regular file (%s)", file_type_name(st.st_mode));
		set_error(errmsg, errmsg_len, path, buf);
		return AA_NER_MODEL_ERR_NOT_FILE;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
	{
		snprintf(buf, sizeof(buf), "cannot open: %s", strerror(errno));
		set_error(errmsg, errmsg_len, path, buf);
		return AA_NER_MODEL_ERR_OPEN;
	}
	if (fstat(fd, &st) != 0)
	{
		snprintf(buf, sizeof(buf), "cannot stat: %s", strerror(errno));
		close(fd);
		set_error(errmsg, errmsg_len, path, buf);
		return AA_NER_MODEL_ERR_OPEN;
	}
	if (!S_ISREG(st.st_mode))
	{
		/* replaced by something else since the stat() above */
		close(fd);
		snprintf(buf, sizeof(buf), "not a regular file (%s)", file_type_name(st.st_mode));
		set_error(errmsg, errmsg_len, path, buf);
		return AA_NER_MODEL_ERR_NOT_FILE;
	}
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0)
	{
		snprintf(buf, sizeof(buf), "cannot open: %s", strerror(errno));
		close(fd);
		set_error(errmsg, errmsg_len, path, buf);
		return AA_NER_MODEL_ERR_OPEN;
	}
	if ((uint64_t) st.st_size < sizeof(AaNerModelHeader))
	{
		close(fd);
		set_error(errmsg, errmsg_len, path,
				  "file is truncated (shorter than the model header)");
		return AA_NER_MODEL_ERR_TRUNCATED;
	}

	/* The header first: it says how big the file must be. */
	rc = read_fully(fd, (char *) &header_copy, sizeof(header_copy));
	if (rc == 0)
		status = check_header(&header_copy, (uint64_t) st.st_size, &reason);
	else
	{
		status = rc > 0 ? AA_NER_MODEL_ERR_TRUNCATED : AA_NER_MODEL_ERR_OPEN;
		reason = rc > 0 ? "file is truncated" : "cannot read the file";
	}
	if (status != AA_NER_MODEL_OK)
	{
		close(fd);
		set_error(errmsg, errmsg_len, path, reason);
		return status;
	}
	if ((uint64_t) st.st_size > (uint64_t) SIZE_MAX ||
		posix_memalign((void **) &image, MODEL_ALIGNMENT, (size_t) st.st_size) != 0)
	{
		close(fd);
		set_error(errmsg, errmsg_len, path, "out of memory for a copy of the model");
		return AA_NER_MODEL_ERR_NO_MEMORY;
	}
#ifdef MADV_HUGEPAGE

	/*
	 * Ask for huge pages where the system gives them on request: the
	 * tagger reads the weight, gazetteer and cluster tables at random, and
	 * with 4 kB pages nearly every lookup in a table this size also misses
	 * the TLB.  Only advice; nothing depends on it being followed.
	 */
	(void) madvise(image, (size_t) st.st_size, MADV_HUGEPAGE);
#endif
	memcpy(image, &header_copy, sizeof(header_copy));
	rc = read_fully(fd, image + sizeof(header_copy),
					(size_t) st.st_size - sizeof(header_copy));
	if (rc < 0)
		snprintf(buf, sizeof(buf), "cannot read: %s", strerror(errno));
	close(fd);
	if (rc != 0)
	{
		free(image);
		if (rc > 0)
			set_error(errmsg, errmsg_len, path, "file is truncated (it shrank while being read)");
		else
			set_error(errmsg, errmsg_len, path, buf);
		return rc > 0 ? AA_NER_MODEL_ERR_TRUNCATED : AA_NER_MODEL_ERR_OPEN;
	}

	header = (const AaNerModelHeader *) image;
	if (XXH64(image + header->header_size,
			  (size_t) (header->file_size - header->header_size), 0)
		!= header->checksum)
	{
		reason = "checksum mismatch (file is corrupt)";
		status = AA_NER_MODEL_ERR_CHECKSUM;
	}
	if (status == AA_NER_MODEL_OK)
	{
		for (uint32_t i = 0; i < header->num_labels; i++)
		{
			memcpy(model->label_names[i], header->labels[i], AA_NER_LABEL_NAME_LEN);
			model->label_names[i][AA_NER_LABEL_NAME_LEN] = '\0';
		}
		if (!aa_ner_labels_valid(model->label_names, (int) header->num_labels))
		{
			reason = "label set is not a valid BIO label set";
			status = AA_NER_MODEL_ERR_BAD_HEADER;
		}
		else if (!has_empty_slot32((const uint32_t *) (image + header->keys_offset),
								   (uint64_t) 1 << header->weight_slot_bits) ||
				 !has_empty_slot64((const uint64_t *) (image + header->gazetteer_offset),
								   (uint64_t) 1 << header->gazetteer_slot_bits) ||
				 !has_empty_slot64((const uint64_t *) (image + header->clusters_offset),
								   (uint64_t) 1 << header->cluster_slot_bits))
		{
			reason = "a hash table of the model has no empty slot";
			status = AA_NER_MODEL_ERR_BAD_HEADER;
		}
	}
	if (status != AA_NER_MODEL_OK)
	{
		free(image);
		memset(model, 0, sizeof(*model));
		set_error(errmsg, errmsg_len, path, reason);
		return status;
	}

	model->image = image;
	model->image_len = (size_t) st.st_size;
	file_id_from_stat(&st, &model->file_id);
	model->hash_seed = header->hash_seed;
	model->bucket_mask = (uint32_t) (((uint64_t) 1 << header->bucket_bits) - 1);
	model->num_labels = (int) header->num_labels;
	model->weight_scale = header->weight_scale;
	model->keys = (const uint32_t *) (image + header->keys_offset);
	model->rows = (const int16_t *) (image + header->rows_offset);
	model->slot_mask = (uint32_t) (((uint64_t) 1 << header->weight_slot_bits) - 1);
	model->transitions = (const int16_t *) (image + header->transitions_offset);
	model->gazetteer.entries = (const uint64_t *) (image + header->gazetteer_offset);
	model->gazetteer.slot_mask = ((uint64_t) 1 << header->gazetteer_slot_bits) - 1;
	model->gazetteer.max_tokens = (int) header->gazetteer_max_tokens;
	model->clusters.entries = (const uint64_t *) (image + header->clusters_offset);
	model->clusters.slot_mask = ((uint64_t) 1 << header->cluster_slot_bits) - 1;
	return AA_NER_MODEL_OK;
}

/*
 * Compare what path names now with the file the model was read from.  A
 * failed stat() (the file was removed) counts as a change, so the caller
 * reloads and reports the missing file.
 */
bool
aa_ner_model_file_changed(const AaNerModel *model, const char *path)
{
	struct stat st;
	AaNerModelFileId now;

	if (model->image == NULL || stat(path, &st) != 0)
		return true;
	file_id_from_stat(&st, &now);
	return memcmp(&now, &model->file_id, sizeof(now)) != 0;
}

/*
 * Free the memory of a model; a model that is not open is left alone.
 */
void
aa_ner_model_close(AaNerModel *model)
{
	if (model->image != NULL)
		free(model->image);
	memset(model, 0, sizeof(*model));
}

/*
 * Write len bytes or report failure; fwrite in one place so every write is
 * checked.
 */
static bool
write_all(FILE *file, const void *data, size_t len)
{
	return len == 0 || fwrite(data, 1, len, file) == len;
}

/*
 * Write a complete model file.  The file is built in memory first so that
 * the checksum can go into the header, and written under a temporary name
 * then renamed, so a crash never leaves a half-written model at path.
 */
AaNerModelStatus
aa_ner_model_write(const char *path, const AaNerModelContents *contents,
				   char *errmsg, size_t errmsg_len)
{
	AaNerModelHeader header;
	int			num_labels = contents->num_labels;
	uint64_t	weight_slots = (uint64_t) 1 << contents->weight_slot_bits;
	uint64_t	gazetteer_slots = (uint64_t) 1 << contents->gazetteer_slot_bits;
	uint64_t	keys_bytes = weight_slots * sizeof(uint32_t);
	uint64_t	rows_bytes = weight_slots * num_labels * sizeof(int16_t);
	uint64_t	transitions_bytes = (uint64_t) (num_labels + 1) * num_labels * sizeof(int16_t);
	uint64_t	gazetteer_bytes = gazetteer_slots * sizeof(uint64_t);
	uint64_t	cluster_slots = (uint64_t) 1 << contents->cluster_slot_bits;
	uint64_t	cluster_bytes = cluster_slots * sizeof(uint64_t);
	char	   *image;
	char		tmp_path[4096];
	FILE	   *file;
	bool		ok;

	if (num_labels < 1 || num_labels > AA_NER_MAX_LABELS ||
		contents->bucket_bits < AA_NER_MIN_BUCKET_BITS ||
		contents->bucket_bits > AA_NER_MAX_BUCKET_BITS ||
		contents->weight_slot_bits < 1 ||
		contents->weight_slot_bits > AA_NER_MAX_TABLE_BITS ||
		contents->gazetteer_slot_bits < 1 ||
		contents->gazetteer_slot_bits > AA_NER_MAX_TABLE_BITS ||
		contents->gazetteer_max_tokens < 0 ||
		contents->gazetteer_max_tokens > AA_NER_MAX_GAZETTEER_TOKENS ||
		contents->cluster_slot_bits < 1 ||
		contents->cluster_slot_bits > AA_NER_MAX_TABLE_BITS ||
		!has_empty_slot32(contents->keys, weight_slots) ||
		!has_empty_slot64(contents->gazetteer, gazetteer_slots) ||
		!has_empty_slot64(contents->clusters, cluster_slots))
	{
		set_error(errmsg, errmsg_len, path, "invalid model parameters");
		return AA_NER_MODEL_ERR_WRITE;
	}
	memset(&header, 0, sizeof(header));
	memcpy(header.magic, AA_NER_MODEL_MAGIC, 8);
	header.format_version = AA_NER_MODEL_FORMAT_VERSION;
	header.header_size = sizeof(AaNerModelHeader);
	header.feature_version = AA_NER_FEATURE_VERSION;
	header.hash_seed = contents->hash_seed;
	header.bucket_bits = contents->bucket_bits;
	header.num_labels = (uint32_t) num_labels;
	header.weight_slot_bits = contents->weight_slot_bits;
	header.gazetteer_slot_bits = contents->gazetteer_slot_bits;
	header.gazetteer_max_tokens = (uint32_t) contents->gazetteer_max_tokens;
	header.weight_scale = contents->weight_scale;
	header.keys_offset = align_to_cache_line(sizeof(AaNerModelHeader));
	header.rows_offset = align_to_cache_line(header.keys_offset + keys_bytes);
	header.transitions_offset = align_to_cache_line(header.rows_offset + rows_bytes);
	header.gazetteer_offset = align_to_cache_line(header.transitions_offset + transitions_bytes);
	header.cluster_slot_bits = contents->cluster_slot_bits;
	header.clusters_offset = align_to_cache_line(header.gazetteer_offset + gazetteer_bytes);
	header.file_size = header.clusters_offset + cluster_bytes;
	for (int i = 0; i < num_labels; i++)
		strncpy(header.labels[i], contents->label_names[i], AA_NER_LABEL_NAME_LEN);

	image = calloc(1, (size_t) header.file_size);
	if (image == NULL)
	{
		set_error(errmsg, errmsg_len, path, "out of memory");
		return AA_NER_MODEL_ERR_WRITE;
	}
	memcpy(image + header.keys_offset, contents->keys, (size_t) keys_bytes);
	memcpy(image + header.rows_offset, contents->rows, (size_t) rows_bytes);
	memcpy(image + header.transitions_offset, contents->transitions, (size_t) transitions_bytes);
	memcpy(image + header.gazetteer_offset, contents->gazetteer, (size_t) gazetteer_bytes);
	memcpy(image + header.clusters_offset, contents->clusters, (size_t) cluster_bytes);
	header.checksum = XXH64(image + header.header_size,
							(size_t) (header.file_size - header.header_size), 0);
	memcpy(image, &header, sizeof(header));

	snprintf(tmp_path, sizeof(tmp_path), "%s.tmp", path);
	file = fopen(tmp_path, "wb");
	if (file == NULL)
	{
		free(image);
		set_error(errmsg, errmsg_len, tmp_path, strerror(errno));
		return AA_NER_MODEL_ERR_WRITE;
	}
	ok = write_all(file, image, (size_t) header.file_size);
	ok = (fclose(file) == 0) && ok;
	free(image);
	if (!ok || rename(tmp_path, path) != 0)
	{
		unlink(tmp_path);
		set_error(errmsg, errmsg_len, path, "cannot write the model file");
		return AA_NER_MODEL_ERR_WRITE;
	}
	return AA_NER_MODEL_OK;
}

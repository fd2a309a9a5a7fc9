/*-------------------------------------------------------------------------
 *
 * ner_model.c
 *	  Load (a shared mapping of a verified copy, or private memory) and
 *	  write the entity tagger's model file.
 *
 * The loaders trust nothing in the file: every offset and size is checked
 * against the real file size before anything is read through it, and the
 * checksum is verified once at load, so the tagger can index the weight
 * rows without further checks.  The named file is read, never mapped, so
 * that nothing done to it later (truncation, an in-place rewrite) can
 * change or take away the bytes the tagger reads: the shared loader maps
 * a copy of its own that nobody truncates or rewrites (see ner_model.h).
 *
 * This file is part of the core: it includes no PostgreSQL header.
 *
 *-------------------------------------------------------------------------
 */
#include "ner_model.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/file.h>
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

/* Bytes the shared loader reads from the named file at a time. */
#define COPY_CHUNK ((size_t) 1024 * 1024)

/*
 * How many times the shared loader starts over when a copy changes under
 * it (a concurrent creator or cleaner); each retry is immediate.
 */
#define COPY_ATTEMPTS 5

/* Longest path of a copy, temporary suffix included. */
#define COPY_PATH_LEN 4096

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
 * Open the named model file and read and check its header.  The path is
 * checked with stat() before it is opened, and opened with O_NONBLOCK, so
 * that neither a FIFO named in the setting nor one swapped in between the
 * two calls can make open() or read() wait; the flag is cleared once
 * fstat() has confirmed a regular file.  The header is checked against
 * the file's size.  On success *fd is open on the file and *st describes
 * it; on failure nothing is left open and errmsg names the path.
 */
static AaNerModelStatus
open_named(const char *path, int *fd_out, struct stat *st,
		   AaNerModelHeader *header, char *errmsg, size_t errmsg_len)
{
	int			fd;
	int			flags;
	int			rc;
	const char *reason = NULL;
	AaNerModelStatus status;
	char		buf[256];

	*fd_out = -1;
	if (stat(path, st) != 0)
	{
		snprintf(buf, sizeof(buf), "cannot open: %s", strerror(errno));
		set_error(errmsg, errmsg_len, path, buf);
		return AA_NER_MODEL_ERR_OPEN;
	}
	if (!S_ISREG(st->st_mode))
	{
		snprintf(buf, sizeof(buf), "not a regular file (%s)", file_type_name(st->st_mode));
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
	if (fstat(fd, st) != 0)
	{
		snprintf(buf, sizeof(buf), "cannot stat: %s", strerror(errno));
		close(fd);
		set_error(errmsg, errmsg_len, path, buf);
		return AA_NER_MODEL_ERR_OPEN;
	}
	if (!S_ISREG(st->st_mode))
	{
		/* replaced by something else since the stat() above */
		close(fd);
		snprintf(buf, sizeof(buf), "not a regular file (%s)", file_type_name(st->st_mode));
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
	if ((uint64_t) st->st_size < sizeof(AaNerModelHeader))
	{
		close(fd);
		set_error(errmsg, errmsg_len, path,
				  "file is truncated (shorter than the model header)");
		return AA_NER_MODEL_ERR_TRUNCATED;
	}

	/* The header first: it says how big the file must be. */
	rc = read_fully(fd, (char *) header, sizeof(*header));
	if (rc == 0)
		status = check_header(header, (uint64_t) st->st_size, &reason);
	else
	{
		status = rc > 0 ? AA_NER_MODEL_ERR_TRUNCATED : AA_NER_MODEL_ERR_OPEN;
		reason = rc > 0 ? "file is truncated" : "cannot read the file";
	}
	if (status == AA_NER_MODEL_OK && (uint64_t) st->st_size > (uint64_t) SIZE_MAX)
	{
		status = AA_NER_MODEL_ERR_NO_MEMORY;
		reason = "file is too large for this platform";
	}
	if (status != AA_NER_MODEL_OK)
	{
		close(fd);
		set_error(errmsg, errmsg_len, path, reason);
		return status;
	}
	*fd_out = fd;
	return AA_NER_MODEL_OK;
}

/*
 * Check what the header alone cannot vouch for in a complete, checksummed
 * image: the label set, and that every hash table has an empty slot.
 * Copies the label names into the model.  Returns AA_NER_MODEL_OK or the
 * reason the image is unusable.
 */
static AaNerModelStatus
check_tables(const char *image, AaNerModel *model, const char **reason)
{
	const AaNerModelHeader *header = (const AaNerModelHeader *) image;

	for (uint32_t i = 0; i < header->num_labels; i++)
	{
		memcpy(model->label_names[i], header->labels[i], AA_NER_LABEL_NAME_LEN);
		model->label_names[i][AA_NER_LABEL_NAME_LEN] = '\0';
	}
	if (!aa_ner_labels_valid(model->label_names, (int) header->num_labels))
	{
		*reason = "label set is not a valid BIO label set";
		return AA_NER_MODEL_ERR_BAD_HEADER;
	}
	if (!has_empty_slot32((const uint32_t *) (image + header->keys_offset),
						  (uint64_t) 1 << header->weight_slot_bits) ||
		!has_empty_slot64((const uint64_t *) (image + header->gazetteer_offset),
						  (uint64_t) 1 << header->gazetteer_slot_bits) ||
		!has_empty_slot64((const uint64_t *) (image + header->clusters_offset),
						  (uint64_t) 1 << header->cluster_slot_bits))
	{
		*reason = "a hash table of the model has no empty slot";
		return AA_NER_MODEL_ERR_BAD_HEADER;
	}
	return AA_NER_MODEL_OK;
}

/*
 * Point the model's fields into a checked image of size bytes, read from
 * the file st describes.
 */
static void
fill_model(AaNerModel *model, char *image, size_t size, const struct stat *st)
{
	const AaNerModelHeader *header = (const AaNerModelHeader *) image;

	model->image = image;
	model->image_len = size;
	file_id_from_stat(st, &model->file_id);
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
}

/*
 * Read the model file into private memory and validate it (see
 * open_named for how the file is opened).  The header is read and checked
 * against the file's size before the whole file is allocated and read.
 */
AaNerModelStatus
aa_ner_model_open(const char *path, AaNerModel *model,
				  char *errmsg, size_t errmsg_len)
{
	int			fd;
	int			rc;
	struct stat st;
	char	   *image;
	AaNerModelHeader header_copy;
	const AaNerModelHeader *header;
	const char *reason = NULL;
	AaNerModelStatus status;
	char		buf[256];

	memset(model, 0, sizeof(*model));
	model->copy_fd = -1;
	status = open_named(path, &fd, &st, &header_copy, errmsg, errmsg_len);
	if (status != AA_NER_MODEL_OK)
		return status;
	if (posix_memalign((void **) &image, MODEL_ALIGNMENT, (size_t) st.st_size) != 0)
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
		status = check_tables(image, model, &reason);
	if (status != AA_NER_MODEL_OK)
	{
		free(image);
		memset(model, 0, sizeof(*model));
		model->copy_fd = -1;
		set_error(errmsg, errmsg_len, path, reason);
		return status;
	}
	fill_model(model, image, (size_t) st.st_size, &st);
	return AA_NER_MODEL_OK;
}

/*
 * The work of aa_ner_model_open_shared: the named file (open, its header
 * checked), where its copy goes, and what went wrong.
 */
typedef struct CopyJob
{
	const char *path;			/* the named file */
	int			fd;				/* open on it */
	AaNerModelHeader header;	/* its header, checked */
	uint64_t	size;			/* its size, as the header says */
	const AaNerModelCopyDir *copies;
	char		name[64];		/* file name of the copy */
	char		copy_path[COPY_PATH_LEN];
	char	   *buf;			/* COPY_CHUNK bytes */
	/* the mapped copy, once there is one */
	char	   *image;
	int			copy_fd;
	/* a failure: of the named file (status, reason) or of the copy */
	AaNerModelStatus status;
	const char *reason;
	int			copy_errno;
	const char *copy_what;		/* "create", "write"... */
	char		copy_file[COPY_PATH_LEN];	/* the file it concerns */
} CopyJob;

/* What became of one attempt to map or create the copy. */
typedef enum CopyResult
{
	COPY_MAPPED,				/* job->image maps a verified copy */
	COPY_MISSING,				/* no copy under the name */
	COPY_BAD,					/* a file under the name is not the copy */
	COPY_RACE,					/* changed by another process: try again */
	COPY_FAILED					/* job->status says why */
} CopyResult;

/*
 * Record a failure to create, read or map the copy (errno is the cause);
 * returns COPY_FAILED.
 */
static CopyResult
copy_failed(CopyJob *job, const char *what, const char *file)
{
	job->copy_errno = errno != 0 ? errno : EIO;
	job->copy_what = what;
	snprintf(job->copy_file, sizeof(job->copy_file), "%s", file);
	job->status = AA_NER_MODEL_ERR_COPY;
	return COPY_FAILED;
}

/*
 * Write len bytes to fd, retrying short writes; false with errno set on
 * failure (ENOSPC for a full disk: a short write is retried, and the
 * retry reports the error).
 */
static bool
write_all_fd(int fd, const char *data, size_t len)
{
	while (len > 0)
	{
		ssize_t		n = write(fd, data, len);

		if (n < 0)
		{
			if (errno == EINTR)
				continue;
			return false;
		}
		if (n == 0)
		{
			errno = ENOSPC;
			return false;
		}
		data += n;
		len -= (size_t) n;
	}
	return true;
}

/*
 * Read the named file's bytes after its header, a chunk at a time, and
 * check them against the header's checksum; write each chunk to out_fd
 * when it is not -1, and compare it with the same bytes of mapped when
 * that is not NULL, setting *differs at the first difference.  Returns
 * AA_NER_MODEL_OK, the named file's failure (job->reason set), or
 * AA_NER_MODEL_ERR_COPY when writing failed (errno set).
 */
static AaNerModelStatus
stream_named(CopyJob *job, int out_fd, const char *mapped, bool *differs)
{
	XXH64_state_t *state = XXH64_createState();
	uint64_t	offset = job->header.header_size;
	AaNerModelStatus status = AA_NER_MODEL_OK;

	if (state == NULL)
	{
		job->reason = "out of memory for a checksum";
		return AA_NER_MODEL_ERR_NO_MEMORY;
	}
	(void) XXH64_reset(state, 0);
	while (offset < job->size)
	{
		size_t		want = job->size - offset < COPY_CHUNK
			? (size_t) (job->size - offset) : COPY_CHUNK;
		ssize_t		got = pread(job->fd, job->buf, want, (off_t) offset);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
		{
			job->reason = "cannot read the file";
			status = AA_NER_MODEL_ERR_OPEN;
			break;
		}
		if (got == 0)
		{
			job->reason = "file is truncated (it shrank while being read)";
			status = AA_NER_MODEL_ERR_TRUNCATED;
			break;
		}
		(void) XXH64_update(state, job->buf, (size_t) got);
		if (out_fd != -1 && !write_all_fd(out_fd, job->buf, (size_t) got))
		{
			status = AA_NER_MODEL_ERR_COPY;
			break;
		}
		if (mapped != NULL && !*differs &&
			memcmp(mapped + offset, job->buf, (size_t) got) != 0)
			*differs = true;
		offset += (uint64_t) got;
	}
	if (status == AA_NER_MODEL_OK && XXH64_digest(state) != job->header.checksum)
	{
		job->reason = "checksum mismatch (file is corrupt)";
		status = AA_NER_MODEL_ERR_CHECKSUM;
	}
	{
		int			saved_errno = errno;

		XXH64_freeState(state);
		errno = saved_errno;
	}
	return status;
}

/*
 * Map the copy already under the name, if it is one: a regular file (not
 * a symbolic link) of the model's size whose every byte equals the named
 * file's.  The shared lock is taken before the checks and kept while the
 * copy is mapped, so that no cleaner unlinks a copy in use; a cleaner that
 * unlinked the name in between shows as another inode under the name, and
 * the caller starts over.  The size is checked before the mapping is
 * touched, and copies are never truncated, so no access faults.
 */
static CopyResult
map_existing_copy(CopyJob *job)
{
	int			fd;
	struct stat st;
	struct stat named;
	char	   *image;
	bool		differs = false;
	AaNerModelStatus status;

	fd = open(job->copy_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
	{
		if (errno == ENOENT || errno == ENOTDIR)
			return COPY_MISSING;
		if (errno == ELOOP)
			return COPY_BAD;
		return copy_failed(job, "open", job->copy_path);
	}
	while (flock(fd, LOCK_SH) != 0)
	{
		if (errno != EINTR)
		{
			copy_failed(job, "lock", job->copy_path);
			close(fd);
			return COPY_FAILED;
		}
	}
	if (fstat(fd, &st) != 0)
	{
		copy_failed(job, "stat", job->copy_path);
		close(fd);
		return COPY_FAILED;
	}
	if (lstat(job->copy_path, &named) != 0 ||
		named.st_dev != st.st_dev || named.st_ino != st.st_ino)
	{
		close(fd);
		return COPY_RACE;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t) st.st_size != job->size)
	{
		close(fd);
		return COPY_BAD;
	}
	image = mmap(NULL, (size_t) job->size, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0);
	if (image == MAP_FAILED)
	{
		copy_failed(job, "map", job->copy_path);
		close(fd);
		return COPY_FAILED;
	}
	if (memcmp(image, &job->header, sizeof(job->header)) != 0)
		differs = true;
	status = stream_named(job, -1, image, &differs);
	if (status != AA_NER_MODEL_OK || differs)
	{
		munmap(image, (size_t) job->size);
		close(fd);
		if (status != AA_NER_MODEL_OK)
		{
			job->status = status;
			return COPY_FAILED;
		}
		return COPY_BAD;
	}
	job->image = image;
	job->copy_fd = fd;
	return COPY_MAPPED;
}

/*
 * Is name one of the files the shared loader writes: 32 hexadecimal
 * digits and ".model", or that and ".tmp." and a process id?
 */
static bool
is_copy_name(const char *name)
{
	for (int i = 0; i < 32; i++)
		if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
			return false;
	if (strncmp(name + 32, ".model", 6) != 0)
		return false;
	name += 38;
	if (*name == '\0')
		return true;
	if (strncmp(name, ".tmp.", 5) != 0 || name[5] == '\0')
		return false;
	for (name += 5; *name != '\0'; name++)
		if (*name < '0' || *name > '9')
			return false;
	return true;
}

/*
 * Unlink the copies (and temporary files) in the directory that no process
 * holds and that were not loaded (nor written) for unused_seconds, except
 * the one named keep.  A mapper holds a shared lock and a creator an
 * exclusive one, so a file whose exclusive lock is granted here is in
 * nobody's use; a mapping of it would survive the unlink anyway, the lock
 * only keeps a model in use from being copied twice.  Each load sets its
 * copy's modification time, so the age spares a model that backends load
 * in turn, none holding it for long.  Failures are ignored: a stale copy
 * costs disk space, nothing else.
 */
static void
remove_stale_copies(const char *dir, const char *keep, unsigned int unused_seconds)
{
	DIR		   *d = opendir(dir);
	struct dirent *entry;
	char		file[COPY_PATH_LEN];
	time_t		now = time(NULL);

	if (d == NULL)
		return;
	while ((entry = readdir(d)) != NULL)
	{
		int			fd;
		struct stat st;
		struct stat named;

		if (!is_copy_name(entry->d_name) || strcmp(entry->d_name, keep) == 0)
			continue;
		if (snprintf(file, sizeof(file), "%s/%s", dir, entry->d_name) >= (int) sizeof(file))
			continue;
		if (lstat(file, &st) != 0 || !S_ISREG(st.st_mode) ||
			(st.st_mtime <= now && now - st.st_mtime < (time_t) unused_seconds))
			continue;
		fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
		if (fd < 0)
			continue;
		if (flock(fd, LOCK_EX | LOCK_NB) == 0 && fstat(fd, &st) == 0 &&
			lstat(file, &named) == 0 && S_ISREG(st.st_mode) &&
			named.st_dev == st.st_dev && named.st_ino == st.st_ino)
			(void) unlink(file);
		close(fd);
	}
	closedir(d);
}

/*
 * Create the copy: the directory if missing, then the named file's bytes
 * written to a temporary file of this process (locked exclusively, so no
 * cleaner takes it), checked against the checksum as they are read,
 * synced, mapped, then linked under the copy's name, so that no process
 * ever opens a half-written copy.  When another process linked its copy
 * first, this one is dropped and the caller maps that one (one copy in
 * the page cache); a bad file under the name (replace) is renamed over.
 * Any failure removes the temporary file.
 */
static CopyResult
create_copy(CopyJob *job, bool replace)
{
	char		tmp[COPY_PATH_LEN];
	int			fd;
	char	   *image = NULL;
	AaNerModelStatus status;
	bool		differs = false;

	if (mkdir(job->copies->path, (mode_t) job->copies->dir_mode) != 0 && errno != EEXIST)
		return copy_failed(job, "create the directory of", job->copies->path);
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", job->copy_path, (int) getpid()) >= (int) sizeof(tmp))
	{
		errno = ENAMETOOLONG;
		return copy_failed(job, "create", job->copy_path);
	}
	/* left by a process that had this pid and died: nobody else uses it */
	(void) unlink(tmp);
	fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY,
			  (mode_t) job->copies->file_mode);
	if (fd < 0)
		return copy_failed(job, "create", tmp);
	if (flock(fd, LOCK_EX | LOCK_NB) != 0)
	{
		/* a cleaner took the new file: it unlinks it */
		close(fd);
		return COPY_RACE;
	}
	if (!write_all_fd(fd, (const char *) &job->header, sizeof(job->header)))
		status = AA_NER_MODEL_ERR_COPY;
	else
		status = stream_named(job, fd, NULL, &differs);
	if (status == AA_NER_MODEL_OK && fsync(fd) != 0)
		status = AA_NER_MODEL_ERR_COPY;
	if (status == AA_NER_MODEL_ERR_COPY)
		copy_failed(job, "write", tmp);
	else if (status != AA_NER_MODEL_OK)
		job->status = status;
	if (status == AA_NER_MODEL_OK)
	{
		image = mmap(NULL, (size_t) job->size, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0);
		if (image == MAP_FAILED)
		{
			image = NULL;
			copy_failed(job, "map", tmp);
			status = AA_NER_MODEL_ERR_COPY;
		}
	}
	if (status == AA_NER_MODEL_OK && link(tmp, job->copy_path) != 0)
	{
		if (errno == EEXIST && !replace)
		{
			/* another process was first: map its copy instead */
			munmap(image, (size_t) job->size);
			(void) unlink(tmp);
			close(fd);
			return COPY_RACE;
		}
		if (errno == ENOENT)
		{
			/* a cleaner removed the temporary file */
			munmap(image, (size_t) job->size);
			close(fd);
			return COPY_RACE;
		}
		/* a bad file to replace, or no hard links on this file system */
		if (rename(tmp, job->copy_path) != 0)
		{
			copy_failed(job, "rename", tmp);
			status = AA_NER_MODEL_ERR_COPY;
		}
	}
	else if (status == AA_NER_MODEL_OK)
		(void) unlink(tmp);
	if (status != AA_NER_MODEL_OK)
	{
		int			saved_errno = job->copy_errno;

		if (image != NULL)
			munmap(image, (size_t) job->size);
		(void) unlink(tmp);
		close(fd);
		job->copy_errno = saved_errno;
		return COPY_FAILED;
	}
	/* keep a shared lock while mapped, like every other mapper */
	while (flock(fd, LOCK_SH) != 0 && errno == EINTR)
		;
	job->image = image;
	job->copy_fd = fd;
	return COPY_MAPPED;
}

/*
 * Open a model through a shared copy (see ner_model.h and the file
 * comment): read and check the named file's header, name the copy by the
 * XXH3-128 hash of that header (which carries the size and the checksum
 * of the rest), map the copy under that name if it holds the named file's
 * very bytes, else create it; then check the tables through the mapping.
 */
AaNerModelStatus
aa_ner_model_open_shared(const char *path, const AaNerModelCopyDir *copies,
						 AaNerModel *model, int *copy_errno,
						 char *errmsg, size_t errmsg_len)
{
	CopyJob    *job;
	struct stat st;
	XXH128_hash_t name_hash;
	CopyResult	result = COPY_RACE;
	bool		replace = false;
	AaNerModelStatus status;
	const char *reason = NULL;

	memset(model, 0, sizeof(*model));
	model->copy_fd = -1;
	*copy_errno = 0;
	job = calloc(1, sizeof(CopyJob));
	if (job == NULL)
	{
		set_error(errmsg, errmsg_len, path, "out of memory");
		return AA_NER_MODEL_ERR_NO_MEMORY;
	}
	status = open_named(path, &job->fd, &st, &job->header, errmsg, errmsg_len);
	if (status != AA_NER_MODEL_OK)
	{
		free(job);
		return status;
	}
	job->path = path;
	job->size = job->header.file_size;
	job->copies = copies;
	job->copy_fd = -1;
	name_hash = XXH3_128bits(&job->header, sizeof(job->header));
	snprintf(job->name, sizeof(job->name), "%016llx%016llx.model",
			 (unsigned long long) name_hash.high64,
			 (unsigned long long) name_hash.low64);
	job->buf = malloc(COPY_CHUNK);
	if (job->buf == NULL)
	{
		job->status = AA_NER_MODEL_ERR_NO_MEMORY;
		job->reason = "out of memory";
		result = COPY_FAILED;
	}
	else if (snprintf(job->copy_path, sizeof(job->copy_path), "%s/%s",
					  copies->path, job->name) >= (int) sizeof(job->copy_path) - 16)
	{
		errno = ENAMETOOLONG;
		result = copy_failed(job, "create", copies->path);
	}
	for (int attempt = 0; attempt < COPY_ATTEMPTS && result == COPY_RACE; attempt++)
	{
		result = map_existing_copy(job);
		if (result == COPY_BAD)
			replace = true;
		if (result == COPY_MISSING || result == COPY_BAD)
			result = create_copy(job, replace);
	}
	if (result == COPY_RACE)
	{
		errno = EAGAIN;
		copy_failed(job, "create", job->copy_path);
		result = COPY_FAILED;
	}
	close(job->fd);
	free(job->buf);

	if (result == COPY_FAILED)
	{
		status = job->status;
		if (status == AA_NER_MODEL_ERR_COPY)
		{
			char		what[COPY_PATH_LEN + 256];

			*copy_errno = job->copy_errno;
			snprintf(what, sizeof(what), "cannot %s its shared copy \"%s\": %s",
					 job->copy_what, job->copy_file, strerror(job->copy_errno));
			set_error(errmsg, errmsg_len, path, what);
		}
		else
			set_error(errmsg, errmsg_len, path, job->reason);
		free(job);
		return status;
	}

	/* mark the copy as used now, and remove the stale ones */
	(void) futimens(job->copy_fd, NULL);
	remove_stale_copies(copies->path, job->name, copies->unused_seconds);

	/* the copy holds the named file's bytes: check what they describe */
	status = check_tables(job->image, model, &reason);
	if (status != AA_NER_MODEL_OK)
	{
		munmap(job->image, (size_t) job->size);
		close(job->copy_fd);
		free(job);
		memset(model, 0, sizeof(*model));
		model->copy_fd = -1;
		set_error(errmsg, errmsg_len, path, reason);
		return status;
	}
#ifdef MADV_HUGEPAGE
	/* as in aa_ner_model_open; file mappings get them where the kernel can */
	(void) madvise(job->image, (size_t) job->size, MADV_HUGEPAGE);
#endif
	fill_model(model, job->image, (size_t) job->size, &st);
	model->image_mapped = true;
	model->copy_fd = job->copy_fd;
	free(job);
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
 * Free the memory of a model, or unmap and close its shared copy (which
 * releases the lock that keeps cleaners away); a model that is not open
 * is left alone.
 */
void
aa_ner_model_close(AaNerModel *model)
{
	if (model->image != NULL && model->image_mapped)
	{
		munmap(model->image, model->image_len);
		close(model->copy_fd);
	}
	else if (model->image != NULL)
		free(model->image);
	memset(model, 0, sizeof(*model));
	model->copy_fd = -1;
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

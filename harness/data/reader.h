/* harness/data/reader.h — private: sequential reads from a plain or gzipped
 * file (detected by the gzip magic 1f 8b), with errors that name the file and
 * the byte offset. Not part of the public API. */
#ifndef KB_DATA_READER_H
#define KB_DATA_READER_H

#include <stdio.h>
#include <zlib.h>

#include <keybench/common.h>

/* Deflate cannot compress better than about 1032:1; a gzip file of S bytes
 * never holds more than S × KB_GZIP_MAX_RATIO bytes (plus a little slack). */
#define KB_GZIP_MAX_RATIO 1100u

struct kb_reader {
    const char *path;
    FILE *f;             /* plain file, or NULL */
    gzFile gz;           /* gzipped file, or NULL */
    uint64_t file_size;  /* bytes on disk */
    uint64_t pos;        /* (uncompressed) bytes consumed so far */
};

int kb_reader_open(struct kb_reader *r, const char *path, struct kb_error *err);
void kb_reader_close(struct kb_reader *r);
static inline int kb_reader_gzipped(const struct kb_reader *r) { return r->gz != NULL; }
/* Upper bound on the bytes still to read: exact for a plain file, a ratio
 * bound for a gzipped one. */
uint64_t kb_reader_max_left(const struct kb_reader *r);
/* Read up to n bytes into buf; *got = bytes read (< n only at end of data). */
int kb_reader_read_some(struct kb_reader *r, void *buf, size_t n, size_t *got,
                        struct kb_error *err);
/* Read exactly n bytes; a short read is "PATH: truncated: ... expected WHAT". */
int kb_reader_read(struct kb_reader *r, void *buf, size_t n, const char *what,
                   struct kb_error *err);
/* 1 at end of data, 0 if more bytes follow, -1 on error. */
int kb_reader_at_end(struct kb_reader *r, struct kb_error *err);
/* Read everything left (at most max bytes, else an error) into a malloc'd buffer. */
int kb_reader_read_all(struct kb_reader *r, uint8_t **data, size_t *size, uint64_t max,
                       struct kb_error *err);

#endif

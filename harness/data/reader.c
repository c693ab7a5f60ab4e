/* Sequential reads from plain or gzipped files (see reader.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/reader.h"

int kb_reader_open(struct kb_reader *r, const char *path, struct kb_error *err)
{
    memset(r, 0, sizeof *r);
    r->path = path;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return kb_error_set(err, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        return kb_error_set(err, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return kb_error_set(err, "%s: not a regular file; expected a data file", path);
    }
    r->file_size = (uint64_t)st.st_size;
    unsigned char magic[2] = {0, 0};
    ssize_t got = pread(fd, magic, 2, 0);
    if (got < 0) {
        int e = errno;
        close(fd);
        return kb_error_set(err, "%s: cannot read: %s", path, strerror(e));
    }
    if (got == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
        r->gz = gzdopen(fd, "rb");
        if (!r->gz) {
            close(fd);
            return kb_error_set(err, "%s: cannot open as gzip (out of memory)", path);
        }
        gzbuffer(r->gz, 1u << 18);
    } else {
        r->f = fdopen(fd, "rb");
        if (!r->f) {
            int e = errno;
            close(fd);
            return kb_error_set(err, "%s: cannot open: %s", path, strerror(e));
        }
    }
    return 0;
}

void kb_reader_close(struct kb_reader *r)
{
    if (r->gz)
        gzclose_r(r->gz);
    if (r->f)
        fclose(r->f);
    r->gz = NULL;
    r->f = NULL;
}

uint64_t kb_reader_max_left(const struct kb_reader *r)
{
    if (r->gz)
        return r->file_size * KB_GZIP_MAX_RATIO + 1024;
    return r->file_size >= r->pos ? r->file_size - r->pos : 0;
}

/* gzerror's text without its "<fd:N>: " prefix (the file is named by us). */
static const char *gz_msg(gzFile gz, int *zerr)
{
    const char *m = gzerror(gz, zerr);
    if (!m || !*m)
        return "read error";
    if (!strncmp(m, "<fd:", 4)) {
        const char *c = strstr(m, ": ");
        if (c)
            return c + 2;
    }
    return m;
}

int kb_reader_read_some(struct kb_reader *r, void *buf, size_t n, size_t *got,
                        struct kb_error *err)
{
    uint8_t *p = buf;
    size_t done = 0;
    *got = 0;
    while (done < n) {
        size_t want = n - done;
        /* gz: 1 MiB chunks so that a corrupt spot is located to within 1 MiB. */
        size_t chunk = r->gz ? (1u << 20) : (1u << 30);
        if (want > chunk)
            want = chunk;
        if (r->gz) {
            int k = gzread(r->gz, p + done, (unsigned)want);
            if (k < 0 || (k < (int)want && !gzeof(r->gz))) {
                int zerr = 0;
                const char *m = gz_msg(r->gz, &zerr);
                return kb_error_set(err, "%s: corrupt gzip data (detected reading uncompressed "
                                    "bytes %llu..%llu): %s; expected a valid gzip stream", r->path,
                                    (unsigned long long)(r->pos + done),
                                    (unsigned long long)(r->pos + done + want), m);
            }
            if (k < (int)want) {
                /* At end: a clean end or a truncated stream? */
                int zerr = 0;
                const char *m = gz_msg(r->gz, &zerr);
                if (zerr != Z_OK)
                    return kb_error_set(err, "%s: truncated gzip stream: it ends after %llu "
                                        "uncompressed bytes (%s); expected a complete gzip file",
                                        r->path, (unsigned long long)(r->pos + done + (size_t)k),
                                        m);
                done += (size_t)k;
                break;
            }
            done += (size_t)k;
        } else {
            size_t k = fread(p + done, 1, want, r->f);
            done += k;
            if (k < want) {
                if (ferror(r->f))
                    return kb_error_set(err, "%s: read error at byte %llu: %s", r->path,
                                        (unsigned long long)(r->pos + done), strerror(errno));
                break;
            }
        }
    }
    r->pos += done;
    *got = done;
    return 0;
}

int kb_reader_read(struct kb_reader *r, void *buf, size_t n, const char *what,
                   struct kb_error *err)
{
    size_t got = 0;
    uint64_t start = r->pos;
    if (kb_reader_read_some(r, buf, n, &got, err) < 0)
        return -1;
    if (got < n)
        return kb_error_set(err, "%s: truncated: data ends at byte %llu%s; expected %zu bytes "
                            "of %s from byte %llu", r->path, (unsigned long long)(start + got),
                            r->gz ? " (uncompressed)" : "", n, what, (unsigned long long)start);
    return 0;
}

int kb_reader_at_end(struct kb_reader *r, struct kb_error *err)
{
    uint8_t b;
    size_t got = 0;
    if (kb_reader_read_some(r, &b, 1, &got, err) < 0)
        return -1;
    if (got) {
        r->pos--;  /* report the position of the extra data */
        return 0;
    }
    return 1;
}

int kb_reader_read_all(struct kb_reader *r, uint8_t **data, size_t *size, uint64_t max,
                       struct kb_error *err)
{
    *data = NULL;
    *size = 0;
    if (!r->gz) {
        uint64_t left = kb_reader_max_left(r);
        if (left > max || left > SIZE_MAX - 1)
            return kb_error_set(err, "%s: %llu bytes; expected at most %llu", r->path,
                                (unsigned long long)left, (unsigned long long)max);
        uint8_t *buf = malloc(left ? (size_t)left : 1);
        if (!buf)
            return kb_error_set(err, "%s: out of memory for %llu bytes", r->path,
                                (unsigned long long)left);
        if (kb_reader_read(r, buf, (size_t)left, "data", err) < 0) {
            free(buf);
            return -1;
        }
        *data = buf;
        *size = (size_t)left;
        return 0;
    }
    size_t cap = 1u << 20, len = 0;
    uint8_t *buf = malloc(cap);
    if (!buf)
        return kb_error_set(err, "%s: out of memory", r->path);
    for (;;) {
        if (len == cap) {
            if ((uint64_t)cap * 2 > max + 1 || cap > SIZE_MAX / 2) {
                if ((uint64_t)len > max) {
                    free(buf);
                    return kb_error_set(err, "%s: more than %llu bytes uncompressed; expected at "
                                        "most that", r->path, (unsigned long long)max);
                }
                size_t ncap = (size_t)max + 1;
                if (ncap <= cap) {
                    free(buf);
                    return kb_error_set(err, "%s: more than %llu bytes uncompressed; expected at "
                                        "most that", r->path, (unsigned long long)max);
                }
                cap = ncap;
            } else {
                cap *= 2;
            }
            uint8_t *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                return kb_error_set(err, "%s: out of memory for %zu bytes", r->path, cap);
            }
            buf = nb;
        }
        size_t got = 0;
        if (kb_reader_read_some(r, buf + len, cap - len, &got, err) < 0) {
            free(buf);
            return -1;
        }
        len += got;
        if ((uint64_t)len > max) {
            free(buf);
            return kb_error_set(err, "%s: more than %llu bytes uncompressed; expected at most that",
                                r->path, (unsigned long long)max);
        }
        if (len < cap)
            break;
    }
    *data = buf;
    *size = len;
    return 0;
}

/* The results journal: JSON Lines, one write + fsync per record. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <keybench/journal.h>

struct kb_journal {
    int fd;
    char *path;
};

int kb_journal_open(struct kb_journal **out, const char *path, struct kb_error *err)
{
    *out = NULL;
    int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return kb_error_set(err, "%s: cannot open the journal: %s", path, strerror(errno));
    /* A run killed mid-write may have left an incomplete last line: cut it
     * off, so the journal again ends with a complete record. */
    off_t end = lseek(fd, 0, SEEK_END);
    off_t keep = end;
    char buf[4096];
    while (keep > 0) {
        off_t from = keep > (off_t)sizeof buf ? keep - (off_t)sizeof buf : 0;
        ssize_t r = pread(fd, buf, (size_t)(keep - from), from);
        if (r != keep - from) {
            close(fd);
            return kb_error_set(err, "%s: cannot read the journal", path);
        }
        ssize_t i = r - 1;
        while (i >= 0 && buf[i] != '\n')
            i--;
        if (i >= 0) {
            keep = from + i + 1;
            break;
        }
        keep = from;
    }
    if (keep != end && ftruncate(fd, keep) < 0) {
        close(fd);
        return kb_error_set(err, "%s: cannot cut the incomplete last line: %s", path,
                            strerror(errno));
    }
    struct kb_journal *j = calloc(1, sizeof *j);
    if (!j || !(j->path = strdup(path))) {
        free(j);
        close(fd);
        return kb_error_set(err, "%s: out of memory", path);
    }
    j->fd = fd;
    *out = j;
    return 0;
}

int kb_journal_append(struct kb_journal *j, const json_t *record, struct kb_error *err)
{
    char *line = json_dumps(record, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
    if (!line)
        return kb_error_set(err, "%s: cannot encode a journal record", j->path);
    size_t n = strlen(line);
    char *buf = realloc(line, n + 2);
    if (!buf) {
        free(line);
        return kb_error_set(err, "%s: out of memory", j->path);
    }
    buf[n] = '\n';
    buf[n + 1] = '\0';
    size_t done = 0;
    while (done < n + 1) {
        ssize_t w = write(j->fd, buf + done, n + 1 - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = errno;
            free(buf);
            return kb_error_set(err, "%s: cannot append: %s", j->path, strerror(e));
        }
        done += (size_t)w;
    }
    free(buf);
    if (fsync(j->fd) < 0)
        return kb_error_set(err, "%s: fsync failed: %s", j->path, strerror(errno));
    return 0;
}

void kb_journal_close(struct kb_journal *j)
{
    if (!j)
        return;
    close(j->fd);
    free(j->path);
    free(j);
}

int kb_journal_read(json_t **records, const char *path, bool *truncated, struct kb_error *err)
{
    *records = NULL;
    if (truncated)
        *truncated = false;
    uint8_t *data;
    size_t size;
    if (kb_file_read_all(path, (size_t)1 << 31, &data, &size, err) < 0)
        return -1;
    json_t *arr = json_array();
    size_t line_no = 0;
    char *p = (char *)data, *end = (char *)data + size;
    while (p < end) {
        line_no++;
        char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) {
            /* Incomplete last line: a write cut short. Skip it. */
            if (truncated)
                *truncated = true;
            break;
        }
        *nl = '\0';
        if (nl > p) {
            json_error_t je;
            json_t *rec = json_loads(p, JSON_REJECT_DUPLICATES, &je);
            if (!rec || !json_is_object(rec)) {
                json_decref(rec);
                json_decref(arr);
                free(data);
                return kb_error_set(err, "%s:%zu: not a JSON object (%s); the journal is corrupt",
                                    path, line_no, rec ? "not an object" : je.text);
            }
            json_array_append_new(arr, rec);
        }
        p = nl + 1;
    }
    free(data);
    *records = arr;
    return 0;
}

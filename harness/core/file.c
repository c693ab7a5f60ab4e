/* Whole-file reads and atomic writes (temp file + fsync + rename + dir fsync). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <keybench/common.h>

static int fsync_parent_dir(const char *path)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (!slash) {
        strcpy(dir, ".");
    } else if (slash == path) {
        strcpy(dir, "/");
    } else {
        size_t n = (size_t)(slash - path);
        if (n >= sizeof dir)
            return -1;
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

int kb_file_write_atomic(const char *path, const void *data, size_t size, unsigned mode,
                         bool exclusive, struct kb_error *err)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path) >= (int)sizeof tmp)
        return kb_error_set(err, "%s: path too long", path);
    if (exclusive && access(path, F_OK) == 0)
        return kb_error_set(err, "%s: already exists; refusing to overwrite it", path);
    int fd = mkstemp(tmp);
    if (fd < 0)
        return kb_error_set(err, "%s: cannot create a temporary file beside it: %s", path,
                            strerror(errno));
    if (fchmod(fd, (mode_t)mode) < 0)
        goto fail;
    const uint8_t *p = data;
    size_t left = size;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = EIO; /* no progress: never loop forever */
            goto fail;
        }
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) < 0)
        goto fail;
    if (close(fd) < 0) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    if (exclusive) {
        /* link() fails if the target exists: no window in which we overwrite. */
        if (link(tmp, path) < 0) {
            int e = errno;
            unlink(tmp);
            if (e == EEXIST)
                return kb_error_set(err, "%s: already exists; refusing to overwrite it", path);
            return kb_error_set(err, "%s: cannot create: %s", path, strerror(e));
        }
        unlink(tmp);
    } else if (rename(tmp, path) < 0) {
        goto fail;
    }
    fsync_parent_dir(path);
    return 0;
fail: {
        int e = errno;
        if (fd >= 0)
            close(fd);
        unlink(tmp);
        return kb_error_set(err, "%s: cannot write: %s", path, strerror(e));
    }
}

int kb_file_read_all(const char *path, size_t max_size, uint8_t **data, size_t *size,
                     struct kb_error *err)
{
    *data = NULL;
    *size = 0;
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return kb_error_set(err, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return kb_error_set(err, "%s: not a regular file", path);
    }
    if ((uint64_t)st.st_size > max_size) {
        close(fd);
        return kb_error_set(err, "%s: %lld bytes; expected at most %zu", path,
                            (long long)st.st_size, max_size);
    }
    size_t n = (size_t)st.st_size;
    uint8_t *buf = malloc(n + 1);
    if (!buf) {
        close(fd);
        return kb_error_set(err, "%s: out of memory reading %zu bytes", path, n);
    }
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            int e = r < 0 ? errno : 0;
            free(buf);
            close(fd);
            return kb_error_set(err, "%s: read failed after %zu of %zu bytes%s%s", path, got, n,
                                e ? ": " : "", e ? strerror(e) : "");
        }
        got += (size_t)r;
    }
    close(fd);
    buf[n] = 0;
    *data = buf;
    *size = n;
    return 0;
}

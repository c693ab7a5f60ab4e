/* keybench/common.h — what every keybench header needs: the export macro, the
 * error record that library calls fill, and small utilities.
 *
 * Convention (see docs/architecture.md): library functions return 0 on success
 * and -1 on failure, filling a `struct kb_error` with ONE line that names the
 * file, the place and what was expected:
 *
 *     struct kb_error err = {0};
 *     if (kb_dataset_load(&ds, &opts, &err) < 0) {
 *         fprintf(stderr, "keybench: %s\n", err.msg);
 *         return 1;
 *     }
 *
 * Only `main` exits; library code never prints secrets and never calls exit().
 */
#ifndef KEYBENCH_COMMON_H
#define KEYBENCH_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#if defined(__GNUC__)
#define KB_API __attribute__((visibility("default")))
#define KB_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define KB_WUR __attribute__((warn_unused_result))
#else
#define KB_API
#define KB_PRINTF(f, a)
#define KB_WUR
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define KB_ERROR_MAX 1024

/* One error line. `msg` is always NUL-terminated. */
struct kb_error {
    char msg[KB_ERROR_MAX];
};

/* Set the message (printf-style). Returns -1 so callers can `return kb_error_set(...)`. */
KB_API int kb_error_set(struct kb_error *err, const char *fmt, ...) KB_PRINTF(2, 3);
/* Prefix an existing message: "PREFIX: old message". Returns -1. */
KB_API int kb_error_prefix(struct kb_error *err, const char *fmt, ...) KB_PRINTF(2, 3);

/* Closest names to `name` among `candidates` (Damerau-Levenshtein distance
 * <= max(2, strlen/3)), written into `out` as "'a', 'b'" (at most 3, best
 * first). Returns the number of suggestions written (0: `out` is ""). */
KB_API int kb_suggest(char *out, size_t out_size, const char *name,
                      const char *const *candidates, size_t n_candidates);

/* Write `size` bytes to `path` atomically: a temp file in the same directory,
 * fsync, rename over `path`, fsync the directory. `mode` e.g. 0644 or 0600.
 * If `exclusive`, fail when `path` exists. Nothing partial is ever left under `path`. */
KB_API int kb_file_write_atomic(const char *path, const void *data, size_t size,
                                unsigned mode, bool exclusive, struct kb_error *err) KB_WUR;

/* Read a whole file (at most `max_size` bytes; larger is an error). *data is
 * malloc'd with one extra NUL byte after the content. */
KB_API int kb_file_read_all(const char *path, size_t max_size, uint8_t **data,
                            size_t *size, struct kb_error *err) KB_WUR;

/* keybench's version string, e.g. "0.1.0". */
KB_API const char *kb_version(void);

#ifdef __cplusplus
}
#endif
#endif

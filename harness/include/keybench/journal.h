/* keybench/journal.h — the results journal: JSON Lines, append-only, synced.
 *
 * Every number keybench reports comes from a journal. One JSON object per
 * line; each append is a single write() of the whole line followed by fsync,
 * so a run killed at any moment leaves every complete line intact and at most
 * one incomplete last line, which readers ignore (and report).
 *
 *     struct kb_journal *j;
 *     kb_journal_open(&j, "runs/q/journal.jsonl", &err);
 *     json_t *rec = json_pack("{s:s, s:f}", "metric", "accuracy", "value", 0.91);
 *     kb_journal_append(j, rec, &err);
 *     json_decref(rec);
 *     kb_journal_close(j);
 *
 * Also here: provenance (what produced a number) and the statistics every
 * report uses (Wilson interval, mean/std).
 */
#ifndef KEYBENCH_JOURNAL_H
#define KEYBENCH_JOURNAL_H

#include <jansson.h>

#include <keybench/common.h>

#ifdef __cplusplus
extern "C" {
#endif

struct kb_journal;

KB_API int kb_journal_open(struct kb_journal **out, const char *path, struct kb_error *err) KB_WUR;
/* Append one object as one line (compact, keys sorted) and fsync. */
KB_API int kb_journal_append(struct kb_journal *j, const json_t *record, struct kb_error *err) KB_WUR;
KB_API void kb_journal_close(struct kb_journal *j);

/* Read every complete record into a new JSON array. A last line without its
 * newline (a write cut short by a kill) is skipped and *truncated set; a
 * malformed complete line is an error naming FILE:LINE. `truncated` may be NULL. */
KB_API int kb_journal_read(json_t **records, const char *path, bool *truncated,
                           struct kb_error *err) KB_WUR;

/* Provenance of this process: keybench version, git describe (with -dirty),
 * compiler, OpenBLAS configuration and thread count. A new reference. */
KB_API json_t *kb_provenance(void);

/* 95% (z = 1.96) Wilson score interval for k successes out of n. n = 0 gives [0, 1]. */
KB_API void kb_wilson(double *lo, double *hi, double k, double n, double z);
/* Mean and sample standard deviation (n−1; 0 when n < 2); min and max. Any output may be NULL. */
KB_API void kb_summary(double *mean, double *std, double *min, double *max, const double *x,
                       size_t n);

#ifdef __cplusplus
}
#endif
#endif

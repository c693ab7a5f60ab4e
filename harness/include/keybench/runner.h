/* keybench/runner.h — `keybench run` and `keybench report` as library calls.
 *
 *     struct kb_run_options o = kb_run_options_default();
 *     o.spec_path = "configs/quickstart.yaml";
 *     int failed = 0;
 *     if (kb_run(&o, &failed, &err) < 0) ...      // setup error: nothing ran
 *     // failed > 0: some cells failed (each reported as it happened)
 *
 * Run directory (RUN):
 *   RUN/journal.jsonl            the results journal (JSON Lines; one per shard:
 *                                journal.shard-K-of-N.jsonl)
 *   RUN/results.csv              derived from every journal*.jsonl of RUN
 *   RUN/plan.json                the expanded plan
 *   RUN/keybench.key             the master secret when the spec names none (0600)
 *   RUN/cells/<id>/config.json   the resolved cell; status (pending/running/done/failed: …); log
 *   RUN/cache/                   pretrain-<hash>.safetensors, protect-<hash>.safetensors
 */
#ifndef KEYBENCH_RUNNER_H
#define KEYBENCH_RUNNER_H

#include <stdio.h>

#include <keybench/common.h>

#ifdef __cplusplus
extern "C" {
#endif

struct kb_run_options {
    const char *spec_path;
    const char *const *overrides;
    size_t n_overrides;
    const char *run_dir;     /* NULL: the spec's `output` */
    const char *cache_dir;   /* NULL: RUN/cache */
    bool fail_fast;
    int shard_k, shard_n;    /* run cells with index % shard_n == shard_k - 1; 1/1: all */
    int threads;             /* 0: keep the default */
    bool quiet;              /* only errors on stderr */
    bool summary;            /* print the summary table to stdout at the end */
};

KB_API struct kb_run_options kb_run_options_default(void);

/* Run every (selected) cell that is not done yet. Returns -1 on a setup error
 * (bad spec, no plugins, unwritable run dir); otherwise 0 with *failed_cells
 * set to the number of cells that failed. */
KB_API int kb_run(const struct kb_run_options *o, int *failed_cells, struct kb_error *err) KB_WUR;

/* Merge the journals of the given run dirs into OUT_DIR/results.csv (and
 * summary.csv). Returns 0 or -1. */
KB_API int kb_report_csv(const char *out_dir, const char *const *run_dirs, size_t n_runs,
                         struct kb_error *err) KB_WUR;

#ifdef __cplusplus
}
#endif
#endif

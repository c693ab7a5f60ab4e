/* Internal helpers shared by the runner and the report writers. */
#ifndef KB_RUN_INTERNAL_H
#define KB_RUN_INTERNAL_H

#include <stdio.h>

#include <jansson.h>

#include <keybench/common.h>

/* mkdir -p */
int kb_mkdir_p(const char *path, struct kb_error *err);
/* Hex BLAKE2b-256 of the canonical JSON text of v. */
void kb_json_hash(char out[65], const json_t *v);
/* Every measurement record of the journals of the run dirs, deduplicated
 * (the last record of a cell × condition × metric × class wins) and sorted by
 * cell name, condition, metric, class. A new array. */
int kb_results_collect(json_t **out, const char *const *run_dirs, size_t n_runs,
                       struct kb_error *err);
/* The same for the records of another type ("timing": deduplicated per run ×
 * cell × stage). */
int kb_records_collect(json_t **out, const char *const *run_dirs, size_t n_runs,
                       const char *type, struct kb_error *err);

struct kb_cell;
struct kb_dataset;
struct kb_model;
struct kb_plugin;
struct kb_train_config;

/* runner.c: build the cell's backbone for a dataset's shape and classes */
int kb_run_build_model(struct kb_model **out, const struct kb_cell *c,
                       const struct kb_dataset *ds, struct kb_error *err);
/* runner.c: a stage's training schedule ("pretrain" or "finetune") from the cell */
void kb_run_train_config(struct kb_train_config *tc, const struct kb_cell *c, const char *stage,
                         uint64_t seed);
/* runner.c: one measurement of the cell behind cell_ctx into the journal
 * (takes ownership of extra, which may be NULL) */
int kb_run_record(void *cell_ctx, const char *condition, const char *metric, double value,
                  uint64_t n, double ci_lo, double ci_hi, json_t *extra, struct kb_error *err);

/* What the runner hands attack.c for one cell. */
struct kb_attack_env {
    void *cell_ctx;
    const struct kb_cell *cell;
    const struct kb_plugin *transform;
    void *tstate;
    const void *key;                 /* the true key (never handed out) */
    size_t key_size;
    const struct kb_dataset *train, *test;
    const uint32_t *attacker_idx;
    size_t n_attacker;
    const uint32_t *test_idx;
    size_t n_test;
    const float *mean, *std;
    const char *pretrained_path, *protected_path;
    uint64_t seed;
    void (*progress)(void *ctx, const char *attack, const char *what, double done, double total);
    void *progress_ctx;
};

/* attack.c: whether every attack of the cell can run on its transform */
int kb_attack_check_cell(const struct kb_cell *c, struct kb_error *err);
/* attack.c: run the cell's attacks in spec order */
int kb_run_attacks(const struct kb_attack_env *env, struct kb_error *err);

#endif

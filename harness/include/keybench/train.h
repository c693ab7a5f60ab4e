/* keybench/train.h — the training and evaluation loops every stage and every
 * attack uses, so that all of them measure the same way.
 *
 * A view is a dataset seen through a transform with a key: uint8 images are
 * encrypted (float32 [0,1], H×W×C), normalised with per-channel mean/std and
 * laid out NCHW for the model, in that order, once per batch:
 *
 *     struct kb_view v = { .ds = &train, .idx = ft_idx, .n = n_ft,
 *                          .ops = ops, .state = tstate, .key = key,
 *                          .mean = mean, .std = std };
 *     struct kb_train_config tc = kb_train_config_default();
 *     tc.epochs = 2; tc.optim.momentum = 0.9; ...
 *     kb_train(model, &v, &tc, progress, ctx, &err);
 *     struct kb_eval_result r;
 *     kb_evaluate(&r, model, &test_view, 256, &err);   // r.correct / r.n
 *     kb_eval_result_free(&r);
 *
 * ops == NULL means the plain path (x/255), used by pretraining.
 */
#ifndef KEYBENCH_TRAIN_H
#define KEYBENCH_TRAIN_H

#include <keybench/dataset.h>
#include <keybench/model.h>
#include <keybench/optim.h>
#include <keybench/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

struct kb_view {
    const struct kb_dataset *ds;
    const uint32_t *idx;                 /* subset of ds (NULL: all of it) */
    size_t n;                            /* images in the view (ds->n when idx is NULL) */
    const struct kb_transform_ops *ops;  /* NULL: plain x/255 */
    const void *state, *key;
    const float *mean, *std;             /* per channel (ds->c values) */
};

/* Images i in order[start, start+count) of the view (order NULL: identity) as
 * a normalised NCHW batch `out` (count·C·H·W), labels in `labels` (count).
 * scratch holds count·H·W·C floats (the transform output, HWC). */
KB_API void kb_view_batch(float *out, int32_t *labels, float *scratch, const struct kb_view *v,
                          const uint32_t *order, size_t start, size_t count);

/* Per-channel mean and std of x/255 over the images of a view (plain). */
KB_API void kb_view_channel_stats(float *mean, float *std, const struct kb_dataset *ds,
                                  const uint32_t *idx, size_t n);

struct kb_progress {
    const char *stage;                   /* "pretrain", "protect", "evaluate", … */
    int64_t epoch, epochs;               /* 1-based epoch */
    int64_t batch, batches;              /* 1-based batch within the epoch */
    double loss;                         /* running mean loss of this epoch */
    double images_per_s;
    double epoch_seconds;                /* wall time of this epoch so far */
};
typedef void (*kb_progress_fn)(void *ctx, const struct kb_progress *p);

struct kb_train_config {
    const char *stage;                   /* names the stage in progress reports */
    int64_t epochs, batch_size;
    struct kb_optim_config optim;
    enum kb_sched_kind schedule;
    double lr, min_lr, gamma;
    int64_t warmup_epochs;
    int64_t milestones[KB_SCHED_MAX_MILESTONES];   /* in epochs */
    size_t n_milestones;
    float label_smoothing;
    uint64_t seed;                       /* shuffling and dropout */
};

/* SGD, momentum 0.9, weight decay 5e-4, cosine from lr 0.05, batch 128, 1 epoch. */
KB_API struct kb_train_config kb_train_config_default(void);

/* Train the model (train mode) on the view for cfg->epochs epochs, shuffling
 * each epoch from kb_rng_init_seed(seed, "shuffle"). A last batch of a single
 * image is dropped (batch norm needs two). Deterministic for a given seed and
 * thread count. `final_loss` (may be NULL) gets the last epoch's mean loss. */
KB_API int kb_train(struct kb_model *m, const struct kb_view *v, const struct kb_train_config *cfg,
                    double *final_loss, kb_progress_fn progress, void *ctx,
                    struct kb_error *err) KB_WUR;

struct kb_eval_result {
    uint64_t n, correct;
    double loss;                         /* mean cross-entropy */
    uint32_t n_classes;
    uint64_t *class_total, *class_correct;  /* n_classes each */
};

/* Evaluate (eval mode) on the whole view. */
KB_API int kb_evaluate(struct kb_eval_result *r, struct kb_model *m, const struct kb_view *v,
                       int64_t batch_size, struct kb_error *err) KB_WUR;
KB_API void kb_eval_result_free(struct kb_eval_result *r);

#ifdef __cplusplus
}
#endif
#endif

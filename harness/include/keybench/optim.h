/* keybench/optim.h — optimizers (SGD, Adam, AdamW) and learning-rate schedules.
 *
 * The optimizers reproduce torch.optim's update rules step for step (float32
 * arithmetic, the same order of operations, per-tensor state), so that a
 * keybench run and a PyTorch run from the same weights stay together:
 *
 *     struct kb_optim_config oc = kb_optim_config_default(KB_OPTIM_SGD);
 *     oc.momentum = 0.9; oc.weight_decay = 5e-4; oc.nesterov = true;
 *     struct kb_schedule sc = kb_schedule_default(KB_SCHED_COSINE, 0.1, epochs * batches);
 *     sc.warmup_steps = batches;                       // one epoch of linear warm-up
 *     struct kb_optim *opt;
 *     if (kb_optim_new(&opt, model, &oc, &err) < 0) ...
 *     for (int64_t t = 0; t < epochs * batches; t++) {
 *         kb_model_zero_grad(model);
 *         kb_model_forward(model, x, n, true);
 *         kb_model_loss(model, y, 0.0f);
 *         kb_model_backward(model, NULL, NULL);
 *         kb_optim_step(opt, kb_schedule_lr(&sc, t));  // lr of optimizer step t (0-based)
 *     }
 *     kb_optim_free(opt);
 *
 * The optimizer walks the model's named tensors (keybench/model.h) and updates
 * every trainable one: buffers (running stats) are never touched, and a tensor
 * frozen with kb_model_freeze is skipped at the step where it is frozen (its
 * state is kept, as PyTorch keeps the state of a parameter whose .grad is None).
 * State (momentum buffers; Adam's two moments) lives in one flat buffer laid
 * out in tensor order.
 *
 * The update kernels are public and work on plain arrays, so they can be
 * tested, and reused, without a model.
 */
#ifndef KEYBENCH_OPTIM_H
#define KEYBENCH_OPTIM_H

#include <keybench/common.h>
#include <keybench/model.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- update kernels */
/* Hyper-parameters are doubles, like PyTorch's Python floats: derived
 * scalars (1−β1, lr/(1−β1^t), 1−lr·wd) are computed in double and rounded to
 * float once, exactly where PyTorch rounds them; the tensor arithmetic is float. */

/* One torch.optim.SGD step on n elements (dampening 0):
 *   d = g + wd·p
 *   buf = d (first step) | momentum·buf + d       (only if momentum != 0)
 *   d = d + momentum·buf (nesterov) | buf
 *   p = p − lr·d
 * p, g (n); buf (n), unused (may be NULL) when momentum == 0. `first` says
 * that buf holds nothing yet. */
KB_API void kb_sgd_update(float *p, float *buf, const float *g, double lr, double momentum,
                          double weight_decay, bool nesterov, bool first, size_t n);

/* One torch.optim.Adam (decoupled = false: L2 weight decay added to the
 * gradient) or torch.optim.AdamW (decoupled = true: p *= 1 − lr·wd first) step
 * on n elements. t is the 1-based step count of this tensor (after the
 * increment). eps is added to sqrt(v̂) as PyTorch does:
 *   m = β1·m + (1−β1)·g;  v = β2·v + (1−β2)·g²
 *   p = p − lr/(1−β1^t) · m / (sqrt(v)/sqrt(1−β2^t) + eps)
 * p, m, v, g (n). */
KB_API void kb_adam_update(float *p, float *m, float *v, const float *g, double lr, double beta1,
                           double beta2, double eps, double weight_decay, bool decoupled,
                           int64_t t, size_t n);

/* ---------------------------------------------------------------- optimizer */
enum kb_optim_kind {
    KB_OPTIM_SGD = 1,
    KB_OPTIM_ADAM = 2,
    KB_OPTIM_ADAMW = 3
};

struct kb_optim_config {
    enum kb_optim_kind kind;
    double momentum;      /* SGD (0: plain SGD) */
    bool nesterov;        /* SGD; needs momentum > 0 */
    double weight_decay;  /* SGD, Adam: L2 added to the gradient; AdamW: decoupled */
    double beta1, beta2;  /* Adam, AdamW */
    double eps;           /* Adam, AdamW */
    double clip_norm;     /* > 0: clip the global gradient L2 norm before each step */
};

/* PyTorch's defaults for the kind: momentum 0, no Nesterov, weight decay 0
 * (AdamW: 0.01), betas (0.9, 0.999), eps 1e-8, no clipping. */
KB_API struct kb_optim_config kb_optim_config_default(enum kb_optim_kind kind);
/* "sgd", "adam", "adamw"; NULL for an unknown kind. */
KB_API const char *kb_optim_kind_name(enum kb_optim_kind kind);
/* Kind from its name; 0 if unknown. */
KB_API enum kb_optim_kind kb_optim_kind_parse(const char *name);

struct kb_optim;

/* Checks the config (negative rates, β outside [0,1), Nesterov without
 * momentum: one-line errors naming the field) and allocates the state for
 * every non-buffer tensor of the (finished) model. */
KB_API int kb_optim_new(struct kb_optim **out, struct kb_model *m,
                        const struct kb_optim_config *cfg, struct kb_error *err) KB_WUR;
KB_API void kb_optim_free(struct kb_optim *o);
/* Update every trainable (non-buffer, non-frozen) tensor from its gradient
 * with learning rate lr. If clip_norm > 0 the gradients are first scaled as
 * torch.nn.utils.clip_grad_norm_ does. Returns the global gradient norm
 * before clipping when clipping is on, else 0. */
KB_API double kb_optim_step(struct kb_optim *o, double lr);
/* Optimizer steps taken so far. */
KB_API int64_t kb_optim_steps(const struct kb_optim *o);
/* The flat state buffer (floats, tensor order; SGD: one momentum buffer per
 * tensor, Adam/AdamW: m then v per tensor) and its length, e.g. for
 * checkpoints. */
KB_API float *kb_optim_state(struct kb_optim *o, size_t *count);

/* Global L2 norm of the gradients of the trainable tensors; if max_norm > 0
 * and the norm exceeds it, scale them by max_norm/(norm + 1e-6) as
 * torch.nn.utils.clip_grad_norm_. Returns the norm before scaling. */
KB_API double kb_grad_clip_norm(struct kb_model *m, double max_norm);
/* The same on plain arrays: grads[i] has counts[i] floats. */
KB_API double kb_grad_clip_norm_arrays(float *const *grads, const size_t *counts,
                                       double max_norm, size_t n_tensors);

/* ---------------------------------------------------------------- schedules */
enum kb_sched_kind {
    KB_SCHED_CONSTANT = 1,
    KB_SCHED_STEP = 2,       /* lr·γ^⌊t/step_size⌋                     (StepLR)       */
    KB_SCHED_MULTISTEP = 3,  /* lr·γ^(milestones <= t)                 (MultiStepLR)  */
    KB_SCHED_COSINE = 4,     /* min + (lr−min)(1+cos(πt/T))/2          (CosineAnnealingLR, per step) */
    KB_SCHED_ONECYCLE = 5,   /* OneCycleLR, cos annealing, two phases                 */
    KB_SCHED_CYCLIC = 6      /* CyclicLR, triangular: lr ↔ max_lr every step_size steps */
};

#define KB_SCHED_MAX_MILESTONES 16

/* All step counts are OPTIMIZER STEPS (iterations), not epochs: a schedule
 * given in epochs is converted by the caller (epochs × batches per epoch). */
struct kb_schedule {
    enum kb_sched_kind kind;
    double lr;              /* base lr; one-cycle: max_lr; cyclic: the lower bound (base_lr) */
    double min_lr;          /* cosine: eta_min */
    double max_lr;          /* cyclic: the upper bound */
    int64_t total_steps;    /* cosine: T (+ warm-up); one-cycle: total_steps (+ warm-up) */
    int64_t step_size;      /* step: period; cyclic: half cycle (step_size_up = step_size_down) */
    double gamma;           /* step, multistep: decay factor */
    int64_t milestones[KB_SCHED_MAX_MILESTONES];   /* multistep, increasing */
    size_t n_milestones;
    double pct_start;       /* one-cycle: 0.3 */
    double div_factor;      /* one-cycle: 25 (initial lr = max_lr/div_factor) */
    double final_div_factor;/* one-cycle: 1e4 (final lr = initial/final_div_factor) */
    int64_t warmup_steps;   /* linear warm-up: 0 = none */
};

/* The kind's defaults (PyTorch's): gamma 0.1, step_size total/3 (at least 1),
 * min_lr 0, pct_start 0.3, div_factor 25, final_div_factor 1e4, max_lr 10·lr. */
KB_API struct kb_schedule kb_schedule_default(enum kb_sched_kind kind, double lr,
                                              int64_t total_steps);
/* One-line error for an inconsistent schedule (step_size < 1, milestones not
 * increasing, warm-up not shorter than total_steps, pct_start outside (0,1), …). */
KB_API int kb_schedule_check(const struct kb_schedule *s, struct kb_error *err) KB_WUR;
/* The learning rate of optimizer step t (0-based): a pure function.
 * Warm-up: for t < W, lr(t) = base(0)·(t+1)/W, where base is the schedule
 * itself run on the remaining total_steps − W steps; for t >= W, base(t − W).
 * Steps past the end keep the last value (cosine: min_lr). */
KB_API double kb_schedule_lr(const struct kb_schedule *s, int64_t t);
/* "constant", "step", "multistep", "cosine", "onecycle", "cyclic". */
KB_API const char *kb_sched_kind_name(enum kb_sched_kind kind);
KB_API enum kb_sched_kind kb_sched_kind_parse(const char *name);

#ifdef __cplusplus
}
#endif
#endif

/* The optimizer object: walks a model's named tensors, keeps per-tensor state
 * in one flat buffer, applies kb_sgd_update / kb_adam_update; gradient
 * clipping by global norm (torch.nn.utils.clip_grad_norm_). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <keybench/optim.h>

struct kb_optim_slot {
    size_t tensor;     /* index in the model's tensor list */
    size_t offset;     /* first float of this tensor's state */
    int64_t steps;     /* steps this tensor took (PyTorch's per-parameter state['step']) */
};

struct kb_optim {
    struct kb_model *model;
    struct kb_optim_config cfg;
    struct kb_optim_slot *slots;
    size_t n_slots;
    float *state;      /* SGD: buf per tensor; Adam: m then v per tensor */
    size_t state_count;
    int64_t steps;
};

struct kb_optim_config kb_optim_config_default(enum kb_optim_kind kind)
{
    struct kb_optim_config c = {
        .kind = kind, .momentum = 0.0, .nesterov = false, .weight_decay = 0.0,
        .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .clip_norm = 0.0,
    };
    if (kind == KB_OPTIM_ADAMW)
        c.weight_decay = 0.01;
    return c;
}

static const char *const optim_names[] = { NULL, "sgd", "adam", "adamw" };

const char *kb_optim_kind_name(enum kb_optim_kind kind)
{
    if ((int)kind < 1 || (int)kind > 3)
        return NULL;
    return optim_names[kind];
}

enum kb_optim_kind kb_optim_kind_parse(const char *name)
{
    for (int k = 1; k <= 3; k++)
        if (name && !strcmp(name, optim_names[k]))
            return (enum kb_optim_kind)k;
    return (enum kb_optim_kind)0;
}

static bool trainable(const struct kb_tensor *t)
{
    return t && !t->is_buffer && t->grad != NULL;
}

static int check_config(const struct kb_optim_config *c, struct kb_error *err)
{
    if (!kb_optim_kind_name(c->kind))
        return kb_error_set(err, "optimizer: unknown kind %d (expected sgd, adam or adamw)",
                            (int)c->kind);
    if (!(c->weight_decay >= 0.0) || !isfinite(c->weight_decay))
        return kb_error_set(err, "optimizer %s: weight_decay %g must be >= 0",
                            kb_optim_kind_name(c->kind), c->weight_decay);
    if (!(c->clip_norm >= 0.0) || !isfinite(c->clip_norm))
        return kb_error_set(err, "optimizer %s: clip_norm %g must be >= 0 (0: off)",
                            kb_optim_kind_name(c->kind), c->clip_norm);
    if (c->kind == KB_OPTIM_SGD) {
        if (!(c->momentum >= 0.0) || !isfinite(c->momentum))
            return kb_error_set(err, "optimizer sgd: momentum %g must be >= 0", c->momentum);
        if (c->nesterov && c->momentum <= 0.0)
            return kb_error_set(err, "optimizer sgd: nesterov needs momentum > 0 (got %g)",
                                c->momentum);
    } else {
        const char *k = kb_optim_kind_name(c->kind);
        if (!(c->beta1 >= 0.0 && c->beta1 < 1.0))
            return kb_error_set(err, "optimizer %s: beta1 %g must be in [0, 1)", k, c->beta1);
        if (!(c->beta2 >= 0.0 && c->beta2 < 1.0))
            return kb_error_set(err, "optimizer %s: beta2 %g must be in [0, 1)", k, c->beta2);
        if (!(c->eps >= 0.0) || !isfinite(c->eps))
            return kb_error_set(err, "optimizer %s: eps %g must be >= 0", k, c->eps);
    }
    return 0;
}

int kb_optim_new(struct kb_optim **out, struct kb_model *m, const struct kb_optim_config *cfg,
                 struct kb_error *err)
{
    *out = NULL;
    if (check_config(cfg, err) < 0)
        return -1;
    size_t nt = kb_model_tensor_count(m);
    struct kb_optim *o = calloc(1, sizeof *o);
    if (!o)
        return kb_error_set(err, "optimizer: out of memory");
    o->model = m;
    o->cfg = *cfg;
    o->slots = calloc(nt ? nt : 1, sizeof *o->slots);
    if (!o->slots) {
        free(o);
        return kb_error_set(err, "optimizer: out of memory for %zu tensors", nt);
    }
    size_t per = cfg->kind == KB_OPTIM_SGD ? (cfg->momentum != 0.0 ? 1 : 0) : 2;
    size_t off = 0;
    for (size_t i = 0; i < nt; i++) {
        const struct kb_tensor *t = kb_model_tensor(m, i);
        if (!trainable(t))
            continue;
        if (t->numel > (SIZE_MAX / sizeof(float) - off) / 2) {
            kb_optim_free(o);
            return kb_error_set(err, "optimizer: tensor '%s' too large (%zu elements)", t->name,
                                t->numel);
        }
        o->slots[o->n_slots++] = (struct kb_optim_slot){ .tensor = i, .offset = off };
        off += per * t->numel;
    }
    o->state_count = off;
    o->state = calloc(off ? off : 1, sizeof(float));
    if (!o->state) {
        kb_optim_free(o);
        return kb_error_set(err, "optimizer: out of memory for %zu state floats", off);
    }
    *out = o;
    return 0;
}

void kb_optim_free(struct kb_optim *o)
{
    if (!o)
        return;
    free(o->state);
    free(o->slots);
    free(o);
}

int64_t kb_optim_steps(const struct kb_optim *o)
{
    return o->steps;
}

float *kb_optim_state(struct kb_optim *o, size_t *count)
{
    if (count)
        *count = o->state_count;
    return o->state;
}

double kb_optim_step(struct kb_optim *o, double lr)
{
    const struct kb_optim_config *c = &o->cfg;
    double norm = 0.0;
    if (c->clip_norm > 0.0)
        norm = kb_grad_clip_norm(o->model, c->clip_norm);
    for (size_t s = 0; s < o->n_slots; s++) {
        struct kb_optim_slot *sl = &o->slots[s];
        struct kb_tensor *t = kb_model_tensor(o->model, sl->tensor);
        if (t->frozen)
            continue;
        sl->steps++;
        float *st = o->state + sl->offset;
        if (c->kind == KB_OPTIM_SGD) {
            kb_sgd_update(t->data, c->momentum != 0.0 ? st : NULL, t->grad, lr, c->momentum,
                          c->weight_decay, c->nesterov, sl->steps == 1, t->numel);
        } else {
            kb_adam_update(t->data, st, st + t->numel, t->grad, lr, c->beta1, c->beta2, c->eps,
                           c->weight_decay, c->kind == KB_OPTIM_ADAMW, sl->steps, t->numel);
        }
    }
    o->steps++;
    return norm;
}

/* Norms in double (PyTorch reduces in float with pairwise sums; the
 * difference is far below the clipping threshold's meaning). */
static double sum_sq(const float *g, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += (double)g[i] * (double)g[i];
    return s;
}

static void scale(float *g, float f, size_t n)
{
    for (size_t i = 0; i < n; i++)
        g[i] *= f;
}

double kb_grad_clip_norm_arrays(float *const *grads, const size_t *counts, double max_norm,
                                size_t n_tensors)
{
    double ss = 0.0;
    for (size_t i = 0; i < n_tensors; i++)
        ss += sum_sq(grads[i], counts[i]);
    double norm = sqrt(ss);
    if (max_norm > 0.0) {
        double coef = max_norm / (norm + 1e-6);
        if (coef < 1.0)
            for (size_t i = 0; i < n_tensors; i++)
                scale(grads[i], (float)coef, counts[i]);
    }
    return norm;
}

double kb_grad_clip_norm(struct kb_model *m, double max_norm)
{
    size_t nt = kb_model_tensor_count(m);
    double ss = 0.0;
    for (size_t i = 0; i < nt; i++) {
        const struct kb_tensor *t = kb_model_tensor(m, i);
        if (trainable(t) && !t->frozen)
            ss += sum_sq(t->grad, t->numel);
    }
    double norm = sqrt(ss);
    if (max_norm > 0.0) {
        double coef = max_norm / (norm + 1e-6);
        if (coef < 1.0)
            for (size_t i = 0; i < nt; i++) {
                struct kb_tensor *t = kb_model_tensor(m, i);
                if (trainable(t) && !t->frozen)
                    scale(t->grad, (float)coef, t->numel);
            }
    }
    return norm;
}

/* The harness side of the attack ABI (keybench/attack.h): what an attack
 * plugin may use, and running the attacks of a cell. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include <keybench/attack.h>
#include <keybench/journal.h>
#include <keybench/keys.h>
#include <keybench/secret.h>
#include <keybench/spec.h>
#include "run_internal.h"

const char kb_attack_true_key_token = 0;

struct kb_attack {
    const struct kb_attack_env *env;
    const struct kb_plugin *plugin;   /* the attack */
    const struct kb_transform_ops *tops;
    uint32_t *att_order;              /* attacker indices, stratified interleaved order */
    char instance[32];                /* "#2" when the spec lists this attack more than once */
    struct kb_rng rng;
    uint64_t seed;
};

/* ------------------------------------------------------------------ checks */

/* An attack's error, named once: a message that already starts with
 * "attack NAME: " (the harness's helpers) or "NAME: " (the plugin's own) loses
 * that start before the caller's prefix is added. */
static void strip_attack_name(struct kb_error *err, const char *name)
{
    size_t n = strlen(name), skip = 0;
    if (!strncmp(err->msg, "attack ", 7) && !strncmp(err->msg + 7, name, n) &&
        !strncmp(err->msg + 7 + n, ": ", 2))
        skip = 7 + n + 2;
    else if (!strncmp(err->msg, name, n) && !strncmp(err->msg + n, ": ", 2))
        skip = n + 2;
    if (skip)
        memmove(err->msg, err->msg + skip, strlen(err->msg + skip) + 1);
}

int kb_attack_check_cell(const struct kb_cell *c, struct kb_error *err)
{
    const struct kb_plugin *tp = kb_cell_plugin(c, KB_KIND_TRANSFORM);
    const struct kb_transform_ops *tops = tp->ops;
    for (size_t i = 0; i < kb_cell_attack_count(c); i++) {
        const struct kb_plugin *ap = kb_cell_attack(c, i, NULL);
        const char *why = NULL;
        if ((ap->caps & KB_ATTACK_NEEDS_KEYED) && !(tp->caps & KB_CAP_KEYED))
            why = "a keyed transform";
        else if ((ap->caps & KB_ATTACK_NEEDS_KEY_SWAP) && !KB_TRANSFORM_HAS(tops, key_swap))
            why = "a transform with key_swap";
        else if ((ap->caps & KB_ATTACK_NEEDS_KEY_FLIP) && !KB_TRANSFORM_HAS(tops, key_flip))
            why = "a transform with bit keys (key_flip)";
        else if ((ap->caps & KB_ATTACK_NEEDS_BLOCK_PERM) && !(tp->caps & KB_CAP_BLOCK_PERMUTATION))
            why = "a transform that moves whole blocks (block_scramble)";
        if (why)
            return kb_error_set(err, "cell %s: attack '%s' needs %s; transform '%s' is not one "
                                "(exclude the pair with matrix.exclude or list the attack in a "
                                "spec without it)", kb_cell_name(c), ap->name, why, tp->name);
        /* what only the attack can tell from its params (e.g. a setting that
         * differentiates through the transform) */
        const struct kb_params *params;
        const struct kb_attack_ops *aops = kb_cell_attack(c, i, &params)->ops;
        if (KB_ATTACK_HAS(aops, check) && aops->check(params, tp, err) < 0) {
            strip_attack_name(err, ap->name);
            return kb_error_prefix(err, "cell %s: attack '%s'", kb_cell_name(c), ap->name);
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ views */

static const void *resolve_key(const struct kb_attack *a, const void *key)
{
    return key == KB_ATTACK_TRUE_KEY ? a->env->key : key;
}

static struct kb_view make_view(const struct kb_attack *a, enum kb_attack_split split,
                                const void *key, size_t limit)
{
    const struct kb_attack_env *e = a->env;
    struct kb_view v = {0};
    if (split == KB_ATTACK_SPLIT_ATTACKER) {
        v.ds = e->train;
        v.idx = a->att_order;
        v.n = e->n_attacker;
    } else {
        v.ds = e->test;
        v.idx = e->test_idx;
        v.n = e->n_test;
    }
    if (limit && limit < v.n)
        v.n = limit;
    if (key) {
        v.ops = a->tops;
        v.state = e->tstate;
        v.key = resolve_key(a, key);
    }
    v.mean = e->mean;
    v.std = e->std;
    return v;
}

static int check_range(const struct kb_attack *a, enum kb_attack_split split, size_t start,
                       size_t count, struct kb_error *err)
{
    size_t n = kb_attack_split_size(a, split);
    if (split != KB_ATTACK_SPLIT_ATTACKER && split != KB_ATTACK_SPLIT_TEST)
        return kb_error_set(err, "attack %s: unknown split %d", a->plugin->name, (int)split);
    if (start > n || count > n - start)
        return kb_error_set(err, "attack %s: images [%zu, %zu) of a split of %zu", a->plugin->name,
                            start, start + count, n);
    return 0;
}

int kb_attack_batch(struct kb_attack *a, float *x, int32_t *y, enum kb_attack_split split,
                    const void *key, size_t start, size_t count, struct kb_error *err)
{
    if (check_range(a, split, start, count, err) < 0)
        return -1;
    struct kb_view v = make_view(a, split, key, 0);
    size_t img = kb_dataset_image_size(v.ds);
    float *scratch = malloc((count ? count : 1) * img * sizeof *scratch);
    int32_t *labels = malloc((count ? count : 1) * sizeof *labels);
    if (!scratch || !labels) {
        free(scratch), free(labels);
        return kb_error_set(err, "attack %s: out of memory", a->plugin->name);
    }
    kb_view_batch(x, labels, scratch, &v, NULL, start, count);
    if (y)
        memcpy(y, labels, count * sizeof *labels);
    free(scratch), free(labels);
    return 0;
}

/* The transform's [0,1] output, H×W×C, for images [start, start+count). */
static int batch_hwc(struct kb_attack *a, float *hwc, int32_t *y, enum kb_attack_split split,
                     const void *key, size_t start, size_t count, struct kb_error *err)
{
    if (check_range(a, split, start, count, err) < 0)
        return -1;
    struct kb_view v = make_view(a, split, key, 0);
    size_t img = kb_dataset_image_size(v.ds);
    for (size_t b = 0; b < count; b++) {
        size_t i = v.idx[start + b];
        const uint8_t *src = v.ds->images + i * img;
        if (y)
            y[b] = (int32_t)v.ds->labels[i];
        if (v.ops)
            v.ops->encrypt(v.state, v.key, hwc + b * img, src, 1);
        else
            for (size_t k = 0; k < img; k++)
                hwc[b * img + k] = (float)src[k] / 255.0f;
    }
    return 0;
}

int kb_attack_batch01(struct kb_attack *a, float *x, int32_t *y, enum kb_attack_split split,
                      const void *key, size_t start, size_t count, struct kb_error *err)
{
    const struct kb_dataset *ds = a->env->train;
    size_t c = ds->c, hw = (size_t)ds->h * ds->w, img = hw * c;
    float *hwc = malloc((count ? count : 1) * img * sizeof *hwc);
    if (!hwc)
        return kb_error_set(err, "attack %s: out of memory", a->plugin->name);
    int rc = batch_hwc(a, hwc, y, split, key, start, count, err);
    for (size_t b = 0; rc == 0 && b < count; b++)
        for (size_t ch = 0; ch < c; ch++)
            for (size_t p = 0; p < hw; p++)
                x[b * img + ch * hw + p] = hwc[b * img + p * c + ch];
    free(hwc);
    return rc;
}

int kb_attack_images(struct kb_attack *a, uint8_t *x, int32_t *y, enum kb_attack_split split,
                     const void *key, size_t start, size_t count, struct kb_error *err)
{
    const struct kb_dataset *ds = a->env->train;
    size_t img = kb_dataset_image_size(ds);
    float *hwc = malloc((count ? count : 1) * img * sizeof *hwc);
    if (!hwc)
        return kb_error_set(err, "attack %s: out of memory", a->plugin->name);
    int rc = batch_hwc(a, hwc, y, split, key, start, count, err);
    for (size_t k = 0; rc == 0 && k < count * img; k++) {
        float v = hwc[k] * 255.0f;
        x[k] = v <= 0.0f ? 0 : v >= 255.0f ? 255 : (uint8_t)(v + 0.5f);
    }
    free(hwc);
    return rc;
}

void kb_attack_normalize(const struct kb_attack *a, float *x, size_t n)
{
    const struct kb_dataset *ds = a->env->train;
    size_t hw = (size_t)ds->h * ds->w;
    for (size_t b = 0; b < n; b++)
        for (size_t ch = 0; ch < ds->c; ch++) {
            float mu = a->env->mean[ch], inv = 1.0f / a->env->std[ch];
            float *p = x + (b * ds->c + ch) * hw;
            for (size_t k = 0; k < hw; k++)
                p[k] = (p[k] - mu) * inv;
        }
}

void kb_attack_unnormalize_grad(const struct kb_attack *a, float *dx, size_t n)
{
    const struct kb_dataset *ds = a->env->train;
    size_t hw = (size_t)ds->h * ds->w;
    for (size_t b = 0; b < n; b++)
        for (size_t ch = 0; ch < ds->c; ch++) {
            float inv = 1.0f / a->env->std[ch];
            float *p = dx + (b * ds->c + ch) * hw;
            for (size_t k = 0; k < hw; k++)
                p[k] *= inv;
        }
}

/* ------------------------------------------------------------------ differentiating */

/* A key's layout over one NCHW image (the transform's key_layout is HWC):
 * output o takes input src[o], times gain[o] = 255/denominator, negated
 * (1 − x) where sign[o] < 0, through the table where sign[o] == 0. Key
 * material (the true key's layout is the key): wiped when freed. */
struct layout {
    uint32_t *src;
    float *gain;
    int8_t *sign;
    size_t img, bytes;
    bool tables;
    void *mem;
};

static void layout_free(struct layout *l)
{
    if (l->mem)
        sodium_memzero(l->mem, l->bytes);
    free(l->mem);
    l->mem = NULL;
}

bool kb_attack_differentiable(const struct kb_attack *a)
{
    return KB_TRANSFORM_HAS(a->tops, key_layout);
}

/* A plugin's layout is checked, not trusted: a source outside the image would
 * read out of bounds, and a sign or denominator outside the op's contract
 * would silently make the forward differ from encrypt. The error names the
 * first bad value's index, never the key's layout itself. */
static const char *layout_fault(uint32_t src, int8_t sign, float denom, size_t img)
{
    if (src >= img)
        return "a source outside the image";
    if (sign < -1 || sign > 1)
        return "a sign other than -1, 0, +1";
    if (!(denom > 0.0f) || !isfinite(denom))
        return "a denominator that is not a positive number";
    return NULL;
}

static int layout_check(const struct kb_attack *a, const uint32_t *src, const int8_t *sign,
                        const float *denom, size_t img, struct kb_error *err)
{
    for (size_t k = 0; k < img; k++) {
        const char *what = layout_fault(src[k], sign[k], denom[k], img);
        if (what)
            return kb_error_set(err, "transform '%s': key_layout gives value %zu of %zu %s (a "
                                "bug in the transform: plugins/GUIDE.md)",
                                a->env->transform->name, k, img, what);
    }
    return 0;
}

static int layout_get(struct kb_attack *a, const void *key, struct layout *l, struct kb_error *err)
{
    const struct kb_dataset *ds = a->env->train;
    size_t c = ds->c, hw = (size_t)ds->h * ds->w, img = hw * c;
    memset(l, 0, sizeof *l);
    if (key && !kb_attack_differentiable(a))
        return kb_error_set(err, "attack %s: transform '%s' offers no key_layout: it cannot be "
                            "differentiated through", a->plugin->name, a->env->transform->name);
    /* NCHW src, gain, sign, then the op's HWC src, denom, sign */
    l->bytes = img * 2 * (sizeof *l->src + sizeof *l->gain + sizeof *l->sign);
    if (!(l->mem = malloc(l->bytes)))
        return kb_error_set(err, "attack %s: out of memory for a key layout", a->plugin->name);
    l->img = img;
    l->src = l->mem;
    l->gain = (float *)(l->src + img);
    uint32_t *hsrc = (uint32_t *)(l->gain + img);
    float *hden = (float *)(hsrc + img);
    l->sign = (int8_t *)(hden + img);
    int8_t *hsign = l->sign + img;
    if (key) {
        a->tops->key_layout(a->env->tstate, resolve_key(a, key), hsrc, hsign, hden);
        if (layout_check(a, hsrc, hsign, hden, img, err) < 0) {
            layout_free(l);
            return -1;
        }
    } else {
        for (size_t k = 0; k < img; k++)
            hsrc[k] = (uint32_t)k, hsign[k] = 1, hden[k] = 255.0f;
    }
    for (size_t ch = 0; ch < c; ch++)
        for (size_t p = 0; p < hw; p++) {
            size_t o = ch * hw + p, k = p * c + ch, s = hsrc[k];
            l->src[o] = (uint32_t)((s % c) * hw + s / c);
            l->gain[o] = 255.0f / hden[k];
            l->sign[o] = hsign[k];
            l->tables |= l->sign[o] == 0;
        }
    return 0;
}

/* Table positions of y: the transform's own output for x rounded to 8 bits. */
static int fill_tables(struct kb_attack *a, const void *key, const struct layout *l, float *y,
                       const float *x, size_t n, struct kb_error *err)
{
    const struct kb_dataset *ds = a->env->train;
    size_t c = ds->c, hw = (size_t)ds->h * ds->w, img = l->img;
    uint8_t *u8 = malloc(img);
    float *enc = malloc(img * sizeof *enc);
    if (!u8 || !enc) {
        free(u8), free(enc);
        return kb_error_set(err, "attack %s: out of memory", a->plugin->name);
    }
    for (size_t b = 0; b < n; b++) {
        for (size_t ch = 0; ch < c; ch++)
            for (size_t p = 0; p < hw; p++) {
                float v = x[b * img + ch * hw + p] * 255.0f;
                u8[p * c + ch] = !(v > 0.0f) ? 0 : v >= 255.0f ? 255 : (uint8_t)(v + 0.5f);
            }
        a->tops->encrypt(a->env->tstate, resolve_key(a, key), enc, u8, 1);
        for (size_t o = 0; o < img; o++)
            if (l->sign[o] == 0)
                y[b * img + o] = enc[(o % hw) * c + o / hw];
    }
    sodium_memzero(enc, img * sizeof *enc);
    free(u8), free(enc);
    return 0;
}

int kb_attack_transform01(struct kb_attack *a, const void *key, float *y, const float *x,
                          size_t n, struct kb_error *err)
{
    struct layout l;
    if (layout_get(a, key, &l, err) < 0)
        return -1;
    for (size_t b = 0; b < n; b++) {
        const float *xb = x + b * l.img;
        float *yb = y + b * l.img;
        for (size_t o = 0; o < l.img; o++) {
            float v = xb[l.src[o]];
            yb[o] = (l.sign[o] < 0 ? 1.0f - v : v) * l.gain[o];
        }
    }
    int rc = l.tables ? fill_tables(a, key, &l, y, x, n, err) : 0;
    layout_free(&l);
    return rc;
}

int kb_attack_transform01_vjp(struct kb_attack *a, const void *key, float *dx, const float *dy,
                              size_t n, struct kb_error *err)
{
    struct layout l;
    if (layout_get(a, key, &l, err) < 0)
        return -1;
    memset(dx, 0, n * l.img * sizeof *dx);
    for (size_t b = 0; b < n; b++)
        for (size_t o = 0; o < l.img; o++)   /* sign 0 (a table): BPDA, as copied */
            dx[b * l.img + l.src[o]] += dy[b * l.img + o] * (l.sign[o] < 0 ? -l.gain[o] : l.gain[o]);
    layout_free(&l);
    return 0;
}

/* ------------------------------------------------------------------ models, keys, data */

int kb_attack_model(struct kb_attack *a, enum kb_attack_model which, struct kb_model **out,
                    struct kb_error *err)
{
    const struct kb_attack_env *e = a->env;
    *out = NULL;
    struct kb_model *m;
    if (kb_run_build_model(&m, e->cell, e->train, err) < 0)
        return -1;
    const char *path = which == KB_ATTACK_MODEL_PROTECTED    ? e->protected_path
                       : which == KB_ATTACK_MODEL_PRETRAINED ? e->pretrained_path
                                                             : NULL;
    if (which == KB_ATTACK_MODEL_SCRATCH) {
        kb_model_init(m, a->seed ^ 0x5c7a7c4ull);
    } else if (!path) {
        kb_model_free(m);
        return kb_error_set(err, "attack %s: unknown model %d", a->plugin->name, (int)which);
    } else if (kb_model_load(m, path, NULL, err) < 0) {
        kb_model_free(m);
        return -1;
    }
    *out = m;
    return 0;
}

const struct kb_plugin *kb_attack_transform_plugin(const struct kb_attack *a)
{
    return a->env->transform;
}

const struct kb_transform_ops *kb_attack_transform(const struct kb_attack *a, const void **state)
{
    if (state)
        *state = a->env->tstate;
    return a->tops;
}

size_t kb_attack_key_size(const struct kb_attack *a)
{
    return a->env->key_size;
}

void *kb_attack_key_new(struct kb_attack *a)
{
    return kb_attack_key_new_from(a, &a->rng);
}

void *kb_attack_key_new_from(struct kb_attack *a, struct kb_rng *rng)
{
    void *key = kb_secret_alloc_size(a->env->key_size);
    uint8_t *secret = kb_secret_alloc();
    if (!key || !secret) {
        kb_secret_free(key);
        kb_secret_free(secret);
        return NULL;
    }
    kb_rng_bytes(rng, secret, KB_SECRET_BYTES);
    a->tops->key_make(a->env->tstate, key, secret);
    kb_secret_free(secret);
    return key;
}

void kb_attack_key_copy(const struct kb_attack *a, void *dst, const void *src)
{
    if (src == KB_ATTACK_TRUE_KEY || !src) {
        /* the true key is never readable: a bug in the attack, not user input */
        fprintf(stderr, "keybench: internal error: attack %s copied %s\n", a->plugin->name,
                src ? "the true key" : "a NULL key");
        abort();
    }
    memcpy(dst, src, a->env->key_size);
}

void kb_attack_key_free(struct kb_attack *a, void *key)
{
    (void)a;
    kb_secret_free(key);
}

double kb_attack_key_agreement(const struct kb_attack *a, const void *key)
{
    return a->tops->key_agreement(a->env->tstate, a->env->key, resolve_key(a, key));
}

size_t kb_attack_split_size(const struct kb_attack *a, enum kb_attack_split split)
{
    return split == KB_ATTACK_SPLIT_ATTACKER ? a->env->n_attacker
           : split == KB_ATTACK_SPLIT_TEST   ? a->env->n_test
                                             : 0;
}

void kb_attack_shape(const struct kb_attack *a, uint32_t *h, uint32_t *w, uint32_t *c,
                     uint32_t *n_classes)
{
    const struct kb_dataset *ds = a->env->train;
    if (h)
        *h = ds->h;
    if (w)
        *w = ds->w;
    if (c)
        *c = ds->c;
    if (n_classes)
        *n_classes = ds->n_classes;
}

int kb_attack_evaluate(struct kb_attack *a, struct kb_model *m, enum kb_attack_split split,
                       const void *key, size_t limit, double *accuracy, struct kb_error *err)
{
    struct kb_view v = make_view(a, split, key, limit);
    struct kb_eval_result r;
    if (kb_evaluate(&r, m, &v, kb_cell_int(a->env->cell, "evaluate.batch_size"), err) < 0)
        return kb_error_prefix(err, "attack %s", a->plugin->name);
    *accuracy = r.n ? (double)r.correct / (double)r.n : NAN;
    kb_eval_result_free(&r);
    return 0;
}

struct kb_train_config kb_attack_finetune_config(const struct kb_attack *a)
{
    struct kb_train_config tc;
    kb_run_train_config(&tc, a->env->cell, "finetune", a->seed);
    tc.stage = a->plugin->name;
    return tc;
}

static void on_train_progress(void *ctx, const struct kb_progress *p)
{
    struct kb_attack *a = ctx;
    if (p->batch == p->batches)
        kb_attack_progress(a, "training", (double)p->epoch, (double)p->epochs);
}

int kb_attack_train(struct kb_attack *a, struct kb_model *m, const void *key, size_t n_images,
                    const struct kb_train_config *cfg, struct kb_error *err)
{
    if (n_images > a->env->n_attacker)
        return kb_error_set(err, "attack %s: %zu training images asked, the attacker split "
                            "holds %zu (splits.attacker)", a->plugin->name, n_images,
                            a->env->n_attacker);
    struct kb_view v = make_view(a, KB_ATTACK_SPLIT_ATTACKER, key, n_images ? n_images : 1);
    v.n = n_images;
    struct kb_train_config tc = cfg ? *cfg : kb_attack_finetune_config(a);
    double loss;
    if (kb_train(m, &v, &tc, &loss, on_train_progress, a, err) < 0)
        return kb_error_prefix(err, "attack %s", a->plugin->name);
    return 0;
}

struct kb_rng *kb_attack_rng(struct kb_attack *a)
{
    return &a->rng;
}

uint64_t kb_attack_seed(const struct kb_attack *a)
{
    return a->seed;
}

void kb_attack_progress(struct kb_attack *a, const char *what, double done, double total)
{
    const struct kb_attack_env *e = a->env;
    if (e->progress)
        e->progress(e->progress_ctx, a->plugin->name, what, done, total);
}

int kb_attack_metric(struct kb_attack *a, const char *metric, double value, uint64_t n,
                     const char *extra_json, struct kb_error *err)
{
    json_t *extra = NULL;
    if (extra_json) {
        json_error_t je;
        extra = json_loads(extra_json, 0, &je);
        if (!extra || !json_is_object(extra)) {
            json_decref(extra);
            return kb_error_set(err, "attack %s: metric '%s': extra is not a JSON object (%s)",
                                a->plugin->name, metric, extra ? "not an object" : je.text);
        }
    }
    static const char *const reserved[] = { "type", "condition", "metric", "value", "n",
                                            "ci_low", "ci_high", "wall_s", "cell", "run" };
    for (size_t i = 0; extra && i < sizeof reserved / sizeof *reserved; i++)
        if (json_object_get(extra, reserved[i])) {
            json_decref(extra);
            return kb_error_set(err, "attack %s: metric '%s': extra field '%s' is reserved by "
                                "the journal; rename it", a->plugin->name, metric, reserved[i]);
        }
    /* a Wilson interval for a proportion of n test images; not for a mean over
     * several trials (extra "trials"), whose spread the interval would not show */
    double lo = NAN, hi = NAN;
    double k = value * (double)n;
    if (strstr(metric, "accuracy") && n > 0 && isfinite(value) && fabs(k - round(k)) < 1e-6 &&
        !(extra && json_object_get(extra, "trials")))
        kb_wilson(&lo, &hi, round(k), (double)n, 1.96);
    /* an attack listed twice: its instances stay apart in the CSVs */
    if (a->instance[0]) {
        if (!extra)
            extra = json_object();
        const char *v = json_string_value(json_object_get(extra, "variant"));
        char buf[200];
        snprintf(buf, sizeof buf, "%s%s%s", a->instance, v ? " " : "", v ? v : "");
        json_object_set_new(extra, "variant", json_string(buf));
    }
    /* "attack:NAME": apart from the runner's own conditions (plain, wrong_key) */
    char condition[160];
    snprintf(condition, sizeof condition, "attack:%s", a->plugin->name);
    return kb_run_record(a->env->cell_ctx, condition, metric, value, n, lo, hi, extra, err);
}

/* ------------------------------------------------------------------ running them */

/* Attacker indices in an order whose every prefix is class-balanced: each
 * class's indices shuffled, then dealt round-robin over the classes. */
static uint32_t *stratified_order(const struct kb_dataset *ds, const uint32_t *idx, size_t n,
                                  uint64_t seed)
{
    uint32_t *out = malloc((n ? n : 1) * sizeof *out);
    uint32_t *tmp = malloc((n ? n : 1) * sizeof *tmp);
    size_t *start = calloc((size_t)ds->n_classes + 1, sizeof *start);
    size_t *fill = calloc((size_t)ds->n_classes + 1, sizeof *fill);
    if (!out || !tmp || !start || !fill) {
        free(out), free(tmp), free(start), free(fill);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        start[ds->labels[idx[i]] + 1]++;
    for (uint32_t k = 0; k < ds->n_classes; k++)
        start[k + 1] += start[k];
    for (size_t i = 0; i < n; i++) {
        uint32_t k = ds->labels[idx[i]];
        tmp[start[k] + fill[k]++] = idx[i];
    }
    struct kb_rng r;
    kb_rng_init_seed(&r, seed, "attacker-order");
    for (uint32_t k = 0; k < ds->n_classes; k++)
        kb_rng_shuffle(&r, tmp + start[k], (uint32_t)(start[k + 1] - start[k]));
    size_t o = 0;
    memset(fill, 0, ((size_t)ds->n_classes + 1) * sizeof *fill);
    while (o < n)
        for (uint32_t k = 0; k < ds->n_classes && o < n; k++)
            if (start[k] + fill[k] < start[k + 1])
                out[o++] = tmp[start[k] + fill[k]++];
    free(tmp), free(start), free(fill);
    return out;
}

int kb_run_attacks(const struct kb_attack_env *env, struct kb_error *err)
{
    const struct kb_cell *c = env->cell;
    size_t n = kb_cell_attack_count(c);
    if (n == 0)
        return 0;
    uint32_t *order = stratified_order(env->train, env->attacker_idx, env->n_attacker, env->seed);
    if (!order)
        return kb_error_set(err, "attacks: out of memory");
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const struct kb_params *params;
        const struct kb_plugin *ap = kb_cell_attack(c, i, &params);
        const struct kb_attack_ops *ops = ap->ops;
        struct kb_attack a = { .env = env, .plugin = ap, .tops = env->transform->ops,
                               .att_order = order, .seed = env->seed };
        size_t same = 0, nth = 0;
        for (size_t j = 0; j < n; j++)
            if (kb_cell_attack(c, j, NULL) == ap) {
                same++;
                if (j <= i)
                    nth++;
            }
        if (same > 1)
            snprintf(a.instance, sizeof a.instance, "#%zu", nth);
        /* seeded by the attack, the transform's key context (public) and the
         * seed: not by the cell id, which depends on where the data lives */
        char domain[1024];
        char *kctx = kb_key_context(env->transform->name,
                                    kb_cell_params(c, KB_KIND_TRANSFORM), env->seed);
        snprintf(domain, sizeof domain, "attack/%s%s/%s", ap->name, a.instance, kctx ? kctx : "");
        free(kctx);
        kb_rng_init_seed(&a.rng, env->seed, domain);
        if (ops->run(&a, params, err) < 0) {
            strip_attack_name(err, ap->name);
            rc = kb_error_prefix(err, "attack %s", ap->name);
        }
        kb_rng_wipe(&a.rng);
    }
    free(order);
    return rc;
}

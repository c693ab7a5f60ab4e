/* pgd — L∞ projected gradient descent (Madry et al. 2018) against the
 * protected model; the TIFS setting is ε = 8/255, 50 steps of 2/255.
 *
 * Every setting attacks the first `images` test images, the models in eval
 * mode, the perturbation measured in [0,1] image space, and is scored on the
 * PROTECTED model (`robust_accuracy_<setting>`, beside `clean_accuracy_<setting>`
 * on the same images). Settings (param `settings`, comma-separated):
 *  - whitebox: the key is known; the image perturbed is the ENCRYPTED one the
 *    model takes (an attacker who can feed the model any ciphertext);
 *  - whitebox_plain: the key is known; the PLAIN image is perturbed through
 *    T_true (kb_attack_transform01 / _vjp), then encrypted and scored. For the
 *    isometric transforms (shuffle, NP, block scrambling) this is the white
 *    box above seen from the plain side; for FFX it is weaker: table positions
 *    are quantised and mapped by the table, their gradient is BPDA;
 *  - plain: no key; PGD on the protected model fed plain images, scored on
 *    plain images (no transform at all);
 *  - surrogate: no key; the attacker draws a random key of its own, runs PGD
 *    on plain images through T_surrogate, and the adversarial plain images
 *    are encrypted with the TRUE key and scored (the transfer attack);
 *  - eot: no key; expectation over transformation: each step sums the
 *    gradient over `eot_keys` random keys (fresh every step, or one set for
 *    all steps with eot_resample: false); scored with the true key;
 *  - transfer: no key, no protected gradient; PGD on the public pretrained
 *    model with plain images, scored on the protected model with the true key.
 * Settings that encrypt perturbed plain images (whitebox_plain, surrogate,
 * eot, transfer: kb_attack_transform01, float in and out, no rounding to 8
 * bits) need the transform's key_layout op: refused at plan time (pgd_check)
 * without it.
 *
 * Every setting starts from the same random points and draws its keys from
 * the same stream (fresh per setting), so settings are paired: eot with one
 * key and eot_resample: false is exactly surrogate. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <keybench/attack.h>
#include <keybench/plugin.h>

#include "ka_util.h"

static const struct kb_param pgd_params[] = {
    { "eps", KB_PARAM_FLOAT, "0.0313725", 0, 1, NULL, "L-infinity radius in [0,1] image space (8/255)" },
    { "steps", KB_PARAM_INT, "50", 0, 100000, NULL, "PGD iterations" },
    { "step", KB_PARAM_FLOAT, "0.0078431", 0, 1, NULL, "step size in [0,1] image space (2/255)" },
    { "images", KB_PARAM_INT, "200", 1, 1000000, NULL, "test images attacked" },
    { "random_start", KB_PARAM_BOOL, "true", 0, 0, NULL, "start from a uniform point of the eps-ball" },
    { "batch_size", KB_PARAM_INT, "50", 1, 4096, NULL, "images per PGD batch" },
    { "settings", KB_PARAM_STRING, "whitebox,plain", 0, 0, NULL,
      "comma-separated: whitebox, whitebox_plain, plain, surrogate, eot, transfer" },
    { "eot_keys", KB_PARAM_INT, "4", 1, 1024, NULL, "eot: random keys per step (each a forward and backward pass)" },
    { "eot_resample", KB_PARAM_BOOL, "true", 0, 0, NULL,
      "eot: fresh keys every step (false: one set of eot_keys keys for the whole attack)" },
    { NULL, 0, NULL, 0, 0, NULL, NULL }
};

enum pgd_setting { S_WHITEBOX, S_WHITEBOX_PLAIN, S_PLAIN, S_SURROGATE, S_EOT, S_TRANSFER, S_COUNT };

/* What a setting perturbs, differentiates and scores. */
static const struct pgd_setting_def {
    const char *name;
    bool encrypted;      /* perturb the true key's ciphertext (else the plain image) */
    bool pretrained;     /* gradients from the public pretrained model */
    bool scored_keyed;   /* the adversarial plain image is encrypted with the true key
                            (kb_attack_transform01: needs the transform's key_layout) */
} pgd_settings[S_COUNT] = {
    [S_WHITEBOX] = { "whitebox", true, false, false },
    [S_WHITEBOX_PLAIN] = { "whitebox_plain", false, false, true },
    [S_PLAIN] = { "plain", false, false, false },
    [S_SURROGATE] = { "surrogate", false, false, true },
    [S_EOT] = { "eot", false, false, true },
    [S_TRANSFER] = { "transfer", false, true, true },
};

/* settings text -> which are on (each at most once; spaces around names ok). */
static int parse_settings(bool on[S_COUNT], const char *text, struct kb_error *err)
{
    memset(on, 0, S_COUNT * sizeof *on);
    if (!text || !text[strspn(text, " ")])
        return kb_error_set(err, "parameter 'settings' is empty (expected e.g. "
                            "\"whitebox,plain\")");
    for (const char *p = text;; p++) {
        size_t len = strcspn(p, ",");
        const char *word = p + strspn(p, " ");   /* stops at the ',' at the latest */
        size_t n = len - (size_t)(word - p);
        while (n && word[n - 1] == ' ')
            n--;
        int found = -1;
        for (int s = 0; s < S_COUNT; s++)
            if (n && strlen(pgd_settings[s].name) == n && !strncmp(word, pgd_settings[s].name, n))
                found = s;
        if (found < 0)
            return kb_error_set(err, "parameter 'settings': unknown setting '%.*s' in '%s' "
                                "(expected a comma-separated list of whitebox, whitebox_plain, "
                                "plain, surrogate, eot, transfer)", (int)n, word, text);
        if (on[found])
            return kb_error_set(err, "parameter 'settings': '%s' is listed twice in '%s'",
                                pgd_settings[found].name, text);
        on[found] = true;
        p += len;
        if (!*p)
            return 0;
    }
}

/* Plan time: the settings parse, and those that differentiate through the
 * transform have its key_layout. */
static int pgd_check(const struct kb_params *params, const struct kb_plugin *transform,
                     struct kb_error *err)
{
    bool on[S_COUNT];
    if (parse_settings(on, kb_params_str(params, "settings"), err) < 0)
        return -1;
    const struct kb_transform_ops *tops = transform->ops;
    for (int s = 0; s < S_COUNT; s++)
        if (on[s] && pgd_settings[s].scored_keyed && !KB_TRANSFORM_HAS(tops, key_layout))
            return kb_error_set(err, "setting '%s' encrypts perturbed plain images (and "
                                "differentiates through the transform), and transform '%s' "
                                "offers no key_layout (drop the setting, or give the transform "
                                "the op: plugins/GUIDE.md)",
                                pgd_settings[s].name, transform->name);
    return 0;
}

struct pgd_cfg {
    double eps, step;
    int64_t steps;
    bool random_start, eot_resample;
    size_t batch, eot_keys;
    uint64_t stream;     /* the settings' common random starts and keys */
};

/* One setting's run: buffers for a batch, the models, the gradient keys. */
struct pgd_ctx {
    struct kb_attack *a;
    const struct pgd_cfg *cfg;
    const struct pgd_setting_def *def;
    struct kb_model *scored, *grad;  /* the protected model; the one differentiated */
    struct kb_rng start_rng, key_rng;
    void **keys;                     /* gradient keys (attack-owned), nkeys of them */
    bool through_true_key;           /* whitebox_plain: the gradient key is the true key */
    size_t nkeys, px, n;             /* keys; values per image; images attacked */
    uint32_t classes;
    float *x0, *x, *xt, *dxt, *dk, *g;
    int32_t *y;
};

/* Correct answers of the protected model on x (through the true key when
 * the setting scores keyed). */
static int score(struct pgd_ctx *c, const float *x, size_t b, size_t *correct,
                 struct kb_error *err)
{
    size_t len = b * c->px;
    if (c->def->scored_keyed) {
        if (kb_attack_transform01(c->a, KB_ATTACK_TRUE_KEY, c->xt, x, b, err) < 0)
            return -1;
    } else {
        memcpy(c->xt, x, len * sizeof *c->xt);
    }
    kb_attack_normalize(c->a, c->xt, b);
    *correct += ka_count_correct(kb_model_forward(c->scored, c->xt, (int64_t)b, false), c->y, b,
                              c->classes);
    return 0;
}

/* The gradient keys of one step: whitebox_plain the true key; surrogate one
 * key for the whole run; eot eot_keys keys, fresh each step when resampling;
 * the others none (the model is differentiated at x itself). */
static void free_keys(struct pgd_ctx *c)
{
    for (size_t i = 0; i < c->nkeys; i++)
        kb_attack_key_free(c->a, c->keys[i]);
    c->nkeys = 0;
}

static int draw_keys(struct pgd_ctx *c, size_t n, struct kb_error *err)
{
    free_keys(c);
    for (; c->nkeys < n; c->nkeys++)
        if (!(c->keys[c->nkeys] = kb_attack_key_new_from(c->a, &c->key_rng)))
            return kb_error_set(err, "pgd: out of memory for a key");
    return 0;
}

/* c->g := the gradient of the loss at x w.r.t. x, summed over the keys
 * (the sign step does not need the mean). */
static int gradient(struct pgd_ctx *c, const float *x, size_t b, struct kb_error *err)
{
    size_t len = b * c->px, rounds = c->nkeys ? c->nkeys : 1;
    memset(c->g, 0, len * sizeof *c->g);
    for (size_t i = 0; i < rounds; i++) {
        const void *key = c->through_true_key ? KB_ATTACK_TRUE_KEY : c->nkeys ? c->keys[i] : NULL;
        if (key) {
            if (kb_attack_transform01(c->a, key, c->xt, x, b, err) < 0)
                return -1;
        } else {
            memcpy(c->xt, x, len * sizeof *c->xt);
        }
        kb_attack_normalize(c->a, c->xt, b);
        kb_model_forward(c->grad, c->xt, (int64_t)b, false);
        kb_model_loss(c->grad, c->y, 0.0f);
        kb_model_zero_grad(c->grad);
        kb_model_backward(c->grad, NULL, c->dxt);
        kb_attack_unnormalize_grad(c->a, c->dxt, b);
        const float *d = c->dxt;
        if (key) {
            if (kb_attack_transform01_vjp(c->a, key, c->dk, c->dxt, b, err) < 0)
                return -1;
            d = c->dk;
        }
        for (size_t k = 0; k < len; k++)
            c->g[k] += d[k];
    }
    return 0;
}

/* PGD on images [s, s+b): adds the correct answers before and after. */
static int pgd_batch(struct pgd_ctx *c, size_t s, size_t b, size_t *ok_clean, size_t *ok_adv,
                     struct kb_error *err)
{
    const struct pgd_cfg *cfg = c->cfg;
    size_t len = b * c->px;
    const float eps = (float)cfg->eps, step = (float)cfg->step;
    /* clean: exactly the runner's images (the true key's, or plain) */
    const void *clean_key = c->def->encrypted || c->def->scored_keyed ? KB_ATTACK_TRUE_KEY : NULL;
    if (kb_attack_batch01(c->a, c->x0, c->y, KB_ATTACK_SPLIT_TEST, clean_key, s, b, err) < 0)
        return -1;
    memcpy(c->xt, c->x0, len * sizeof *c->xt);
    kb_attack_normalize(c->a, c->xt, b);
    *ok_clean += ka_count_correct(kb_model_forward(c->scored, c->xt, (int64_t)b, false), c->y, b,
                               c->classes);
    if (clean_key && !c->def->encrypted &&
        kb_attack_batch01(c->a, c->x0, NULL, KB_ATTACK_SPLIT_TEST, NULL, s, b, err) < 0)
        return -1;
    for (size_t i = 0; i < len; i++) {
        float v = c->x0[i];
        if (cfg->random_start)
            v += eps * (float)(2.0 * kb_rng_double(&c->start_rng) - 1.0);
        c->x[i] = v < 0 ? 0 : v > 1 ? 1 : v;
    }
    for (int64_t t = 0; t < cfg->steps; t++) {
        if (c->def == &pgd_settings[S_EOT] && (cfg->eot_resample || c->nkeys == 0) &&
            draw_keys(c, cfg->eot_keys, err) < 0)
            return -1;
        if (gradient(c, c->x, b, err) < 0)
            return -1;
        for (size_t i = 0; i < len; i++) {
            float v = c->x[i] + (c->g[i] > 0 ? step : c->g[i] < 0 ? -step : 0.0f);
            float lo = c->x0[i] - eps, hi = c->x0[i] + eps;
            v = v < lo ? lo : v > hi ? hi : v;
            c->x[i] = v < 0 ? 0 : v > 1 ? 1 : v;
        }
        kb_attack_progress(c->a, c->def->name, (double)s * (double)cfg->steps +
                           (double)b * (double)(t + 1), (double)c->n * (double)cfg->steps);
    }
    return score(c, c->x, b, ok_adv, err);
}

static int pgd_setting_run(struct pgd_ctx *c, size_t n, double *robust, double *clean,
                           struct kb_error *err)
{
    size_t ok_adv = 0, ok_clean = 0;
    kb_rng_init_seed(&c->start_rng, c->cfg->stream, "pgd/start");
    kb_rng_init_seed(&c->key_rng, c->cfg->stream, "pgd/keys");
    int rc = 0;
    c->n = n;
    c->through_true_key = c->def == &pgd_settings[S_WHITEBOX_PLAIN];
    if (c->def == &pgd_settings[S_SURROGATE])
        rc = draw_keys(c, 1, err);
    for (size_t s = 0; rc == 0 && s < n; s += c->cfg->batch) {
        size_t b = n - s < c->cfg->batch ? n - s : c->cfg->batch;
        rc = pgd_batch(c, s, b, &ok_clean, &ok_adv, err);
    }
    free_keys(c);
    kb_rng_wipe(&c->start_rng);
    kb_rng_wipe(&c->key_rng);
    *robust = (double)ok_adv / (double)n;
    *clean = (double)ok_clean / (double)n;
    return rc;
}

static int pgd_report(struct kb_attack *a, const struct pgd_cfg *cfg, const char *setting,
                      double robust, double clean, size_t n, struct kb_error *err)
{
    char extra[512], eot[128] = "";
    if (!strcmp(setting, "eot"))
        snprintf(eot, sizeof eot, ", \"eot_keys\": %zu, \"eot_resample\": %s", cfg->eot_keys,
                 cfg->eot_resample ? "true" : "false");
    snprintf(extra, sizeof extra,
             "{\"setting\": \"%s\", \"eps\": %.7g, \"step\": %.7g, \"steps\": %lld, "
             "\"random_start\": %s, \"images\": %zu%s}",
             setting, cfg->eps, cfg->step, (long long)cfg->steps,
             cfg->random_start ? "true" : "false", n, eot);
    char name[64];
    snprintf(name, sizeof name, "clean_accuracy_%s", setting);
    if (kb_attack_metric(a, name, clean, n, extra, err) < 0)
        return -1;
    snprintf(name, sizeof name, "robust_accuracy_%s", setting);
    return kb_attack_metric(a, name, robust, n, extra, err);
}

static void ctx_free(struct pgd_ctx *c)
{
    free_keys(c);
    free(c->keys), free(c->x0), free(c->x), free(c->xt), free(c->dxt), free(c->dk), free(c->g);
    free(c->y);
    if (c->grad != c->scored)
        kb_model_free(c->grad);
    kb_model_free(c->scored);
}

static int ctx_init(struct pgd_ctx *c, struct kb_attack *a, const struct pgd_cfg *cfg,
                    const bool on[S_COUNT], struct kb_error *err)
{
    memset(c, 0, sizeof *c);
    c->a = a;
    c->cfg = cfg;
    uint32_t h, w, ch;
    kb_attack_shape(a, &h, &w, &ch, &c->classes);
    c->px = (size_t)h * w * ch;
    size_t len = cfg->batch * c->px;
    c->keys = calloc(cfg->eot_keys + 1, sizeof *c->keys);
    c->x0 = malloc(len * sizeof *c->x0), c->x = malloc(len * sizeof *c->x);
    c->xt = malloc(len * sizeof *c->xt), c->dxt = malloc(len * sizeof *c->dxt);
    c->dk = malloc(len * sizeof *c->dk), c->g = malloc(len * sizeof *c->g);
    c->y = malloc(cfg->batch * sizeof *c->y);
    if (!c->keys || !c->x0 || !c->x || !c->xt || !c->dxt || !c->dk || !c->g || !c->y)
        return kb_error_set(err, "pgd: out of memory for a batch of %zu images", cfg->batch);
    if (kb_attack_model(a, KB_ATTACK_MODEL_PROTECTED, &c->scored, err) < 0)
        return -1;
    c->grad = c->scored;
    if (on[S_TRANSFER] && kb_attack_model(a, KB_ATTACK_MODEL_PRETRAINED, &c->grad, err) < 0) {
        c->grad = c->scored;
        return -1;
    }
    return 0;
}

static int pgd_run(struct kb_attack *a, const struct kb_params *params, struct kb_error *err)
{
    bool on[S_COUNT];
    if (pgd_check(params, kb_attack_transform_plugin(a), err) < 0 ||
        parse_settings(on, kb_params_str(params, "settings"), err) < 0)
        return -1;
    struct pgd_cfg cfg = {
        .eps = kb_params_float(params, "eps"),
        .step = kb_params_float(params, "step"),
        .steps = kb_params_int(params, "steps"),
        .random_start = kb_params_bool(params, "random_start"),
        .batch = (size_t)kb_params_int(params, "batch_size"),
        .eot_keys = (size_t)kb_params_int(params, "eot_keys"),
        .eot_resample = kb_params_bool(params, "eot_resample"),
        .stream = kb_rng_u64(kb_attack_rng(a)),
    };
    size_t n = (size_t)kb_params_int(params, "images"), avail = kb_attack_split_size(a, KB_ATTACK_SPLIT_TEST);
    if (n > avail)
        n = avail;
    if (!n)
        return kb_error_set(err, "pgd: the test split is empty");
    struct pgd_ctx c;
    int rc = ctx_init(&c, a, &cfg, on, err);
    /* the pretrained model differentiates for transfer only */
    struct kb_model *pretrained = c.grad;
    for (int s = 0; rc == 0 && s < S_COUNT; s++) {
        if (!on[s])
            continue;
        double robust, clean;
        c.def = &pgd_settings[s];
        c.grad = c.def->pretrained ? pretrained : c.scored;
        rc = pgd_setting_run(&c, n, &robust, &clean, err);
        if (rc == 0)
            rc = pgd_report(a, &cfg, c.def->name, robust, clean, n, err);
    }
    c.grad = pretrained;
    ctx_free(&c);
    return rc;
}

static const struct kb_attack_ops pgd_ops = {
    .struct_size = sizeof pgd_ops,
    .run = pgd_run,
    .check = pgd_check,
};

static const struct kb_plugin pgd_plugin = {
    KB_PLUGIN_HEADER,
    .kind = KB_KIND_ATTACK,
    .name = "pgd",
    .version = "1.1.0",
    .summary = "L-infinity PGD against the protected model: white box (encrypted or plain side), "
               "plain images, surrogate key, EOT over keys, transfer from the pretrained model",
    .params = pgd_params,
    .caps = KB_ATTACK_NEEDS_INPUT_GRAD,
    .ops = &pgd_ops,
};

KB_PLUGIN_ENTRY(&pgd_plugin)

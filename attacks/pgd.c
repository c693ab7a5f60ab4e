/* pgd — L∞ projected gradient descent (Madry et al. 2018) against the
 * protected model; the TIFS setting is ε = 8/255, 50 steps of 2/255.
 *
 * Two settings, each on the first `images` test images, in the model's eval
 * mode, with the perturbation measured in [0,1] image space:
 *  - white box (`robust_accuracy_whitebox`): the attacker knows the key; the
 *    image it perturbs is the encrypted one the model takes
 *    (kb_attack_batch01 with KB_ATTACK_TRUE_KEY), gradients flow through the
 *    model to its normalised input and back to [0,1] space;
 *  - plain (`robust_accuracy_plain`): no key; PGD on the protected model fed
 *    plain images (what an attacker without the key can differentiate).
 * Clean accuracies on the same images are reported beside them.
 *
 * Not here (documented in docs/attacks.md): the transfer attack through a
 * surrogate key and EOT over random keys need the gradient of the transform
 * itself, which the transform ABI does not offer. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <keybench/attack.h>
#include <keybench/plugin.h>

static const struct kb_param pgd_params[] = {
    { "eps", KB_PARAM_FLOAT, "0.0313725", 0, 1, NULL, "L-infinity radius in [0,1] image space (8/255)" },
    { "steps", KB_PARAM_INT, "50", 0, 100000, NULL, "PGD iterations" },
    { "step", KB_PARAM_FLOAT, "0.0078431", 0, 1, NULL, "step size in [0,1] image space (2/255)" },
    { "images", KB_PARAM_INT, "200", 1, 1000000, NULL, "test images attacked" },
    { "random_start", KB_PARAM_BOOL, "true", 0, 0, NULL, "start from a uniform point of the eps-ball" },
    { "batch_size", KB_PARAM_INT, "50", 1, 4096, NULL, "images per PGD batch" },
    { NULL, 0, NULL, 0, 0, NULL, NULL }
};

struct pgd_cfg {
    double eps, step;
    int64_t steps;
    bool random_start;
    size_t batch;
};

static size_t count_correct(const float *logits, const int32_t *y, size_t n, uint32_t classes)
{
    size_t correct = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t best = 0;
        for (uint32_t k = 1; k < classes; k++)
            if (logits[i * classes + k] > logits[i * classes + best])
                best = k;
        correct += (int32_t)best == y[i];
    }
    return correct;
}

/* PGD on the first n test images transformed with `key`; *robust := accuracy
 * on the adversarial images, *clean := on the unperturbed ones. */
static int pgd_attack(struct kb_attack *a, struct kb_model *m, double *robust, double *clean,
                      const void *key, size_t n, const struct pgd_cfg *cfg, const char *what,
                      struct kb_error *err)
{
    uint32_t h, w, c, classes;
    kb_attack_shape(a, &h, &w, &c, &classes);
    size_t px = (size_t)h * w * c, B = cfg->batch;
    float *x0 = malloc(B * px * sizeof *x0), *x = malloc(B * px * sizeof *x);
    float *xn = malloc(B * px * sizeof *xn), *dx = malloc(B * px * sizeof *dx);
    int32_t *y = malloc(B * sizeof *y);
    if (!x0 || !x || !xn || !dx || !y) {
        free(x0), free(x), free(xn), free(dx), free(y);
        return kb_error_set(err, "pgd: out of memory for a batch of %zu images", B);
    }
    struct kb_rng *rng = kb_attack_rng(a);
    const float eps = (float)cfg->eps, step = (float)cfg->step;
    size_t ok_adv = 0, ok_clean = 0;
    int rc = 0;
    for (size_t s = 0; s < n; s += B) {
        size_t b = n - s < B ? n - s : B, len = b * px;
        if (kb_attack_batch01(a, x0, y, KB_ATTACK_SPLIT_TEST, key, s, b, err) < 0) {
            rc = -1;
            break;
        }
        memcpy(xn, x0, len * sizeof *xn);
        kb_attack_normalize(a, xn, b);
        ok_clean += count_correct(kb_model_forward(m, xn, (int64_t)b, false), y, b, classes);
        for (size_t i = 0; i < len; i++) {
            float v = x0[i];
            if (cfg->random_start)
                v += eps * (float)(2.0 * kb_rng_double(rng) - 1.0);
            x[i] = v < 0 ? 0 : v > 1 ? 1 : v;
        }
        for (int64_t t = 0; t < cfg->steps; t++) {
            memcpy(xn, x, len * sizeof *xn);
            kb_attack_normalize(a, xn, b);
            kb_model_forward(m, xn, (int64_t)b, false);
            kb_model_loss(m, y, 0.0f);
            kb_model_zero_grad(m);
            kb_model_backward(m, NULL, dx);
            kb_attack_unnormalize_grad(a, dx, b);
            for (size_t i = 0; i < len; i++) {
                float v = x[i] + (dx[i] > 0 ? step : dx[i] < 0 ? -step : 0.0f);
                float lo = x0[i] - eps, hi = x0[i] + eps;
                v = v < lo ? lo : v > hi ? hi : v;
                x[i] = v < 0 ? 0 : v > 1 ? 1 : v;
            }
            kb_attack_progress(a, what, (double)s * (double)cfg->steps + (double)b * (double)(t + 1),
                               (double)n * (double)cfg->steps);
        }
        memcpy(xn, x, len * sizeof *xn);
        kb_attack_normalize(a, xn, b);
        ok_adv += count_correct(kb_model_forward(m, xn, (int64_t)b, false), y, b, classes);
    }
    free(x0), free(x), free(xn), free(dx), free(y);
    *robust = (double)ok_adv / (double)n;
    *clean = (double)ok_clean / (double)n;
    return rc;
}

static int pgd_run(struct kb_attack *a, const struct kb_params *params, struct kb_error *err)
{
    struct pgd_cfg cfg = {
        .eps = kb_params_float(params, "eps"),
        .step = kb_params_float(params, "step"),
        .steps = kb_params_int(params, "steps"),
        .random_start = kb_params_bool(params, "random_start"),
        .batch = (size_t)kb_params_int(params, "batch_size"),
    };
    size_t n = (size_t)kb_params_int(params, "images"), avail = kb_attack_split_size(a, KB_ATTACK_SPLIT_TEST);
    if (n > avail)
        n = avail;
    if (!n)
        return kb_error_set(err, "pgd: the test split is empty");
    struct kb_model *m;
    if (kb_attack_model(a, KB_ATTACK_MODEL_PROTECTED, &m, err) < 0)
        return -1;
    double rob_wb = 0, clean_wb = 0, rob_pl = 0, clean_pl = 0;
    int rc = 0;
    if (pgd_attack(a, m, &rob_wb, &clean_wb, KB_ATTACK_TRUE_KEY, n, &cfg, "pgd: white box", err) < 0 ||
        pgd_attack(a, m, &rob_pl, &clean_pl, NULL, n, &cfg, "pgd: plain images", err) < 0)
        rc = -1;
    kb_model_free(m);
    if (rc < 0)
        return -1;
    char extra[256];
    snprintf(extra, sizeof extra,
             "{\"eps\": %.7g, \"step\": %.7g, \"steps\": %lld, \"random_start\": %s, \"images\": %zu}",
             cfg.eps, cfg.step, (long long)cfg.steps, cfg.random_start ? "true" : "false", n);
    if (kb_attack_metric(a, "clean_accuracy_whitebox", clean_wb, n, extra, err) < 0 ||
        kb_attack_metric(a, "robust_accuracy_whitebox", rob_wb, n, extra, err) < 0 ||
        kb_attack_metric(a, "clean_accuracy_plain", clean_pl, n, extra, err) < 0 ||
        kb_attack_metric(a, "robust_accuracy_plain", rob_pl, n, extra, err) < 0)
        return -1;
    return 0;
}

static const struct kb_attack_ops pgd_ops = {
    .struct_size = sizeof pgd_ops,
    .run = pgd_run,
};

static const struct kb_plugin pgd_plugin = {
    KB_PLUGIN_HEADER,
    .kind = KB_KIND_ATTACK,
    .name = "pgd",
    .version = "1.0.0",
    .summary = "L-infinity PGD against the protected model: white box with the key, and on plain images",
    .params = pgd_params,
    .caps = KB_ATTACK_NEEDS_INPUT_GRAD,
    .ops = &pgd_ops,
};

KB_PLUGIN_ENTRY(&pgd_plugin)

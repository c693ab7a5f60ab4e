/* A test attack that exercises the harness side of keybench/attack.h and
 * reports what it saw as metrics; tests/run/test_attack_api.c checks them
 * against the runner's own measurements. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <keybench/attack.h>
#include <keybench/plugin.h>

static int metric(struct kb_attack *a, const char *name, double v, struct kb_error *err)
{
    return kb_attack_metric(a, name, v, 1, NULL, err);
}

static int probe_run(struct kb_attack *a, const struct kb_params *params, struct kb_error *err)
{
    (void)params;
    struct kb_model *m = NULL, *s = NULL;
    void *k = NULL;
    float *x = NULL, *y01 = NULL;
    uint8_t *img = NULL;
    int32_t *lab = NULL;
    int rc = -1;
    uint32_t h, w, c, classes;
    kb_attack_shape(a, &h, &w, &c, &classes);
    size_t n_att = kb_attack_split_size(a, KB_ATTACK_SPLIT_ATTACKER);
    size_t n_test = kb_attack_split_size(a, KB_ATTACK_SPLIT_TEST);
    size_t per = (size_t)h * w * c;
    double acc_true, acc_plain, acc_random;
    if (kb_attack_model(a, KB_ATTACK_MODEL_PROTECTED, &m, err) < 0 ||
        kb_attack_evaluate(a, m, KB_ATTACK_SPLIT_TEST, KB_ATTACK_TRUE_KEY, 0, &acc_true, err) < 0 ||
        kb_attack_evaluate(a, m, KB_ATTACK_SPLIT_TEST, NULL, 0, &acc_plain, err) < 0)
        goto out;
    k = kb_attack_key_new(a);
    if (!k || kb_attack_evaluate(a, m, KB_ATTACK_SPLIT_TEST, k, 0, &acc_random, err) < 0)
        goto out;
    /* batch01 + normalize == batch; plain images round-trip exactly */
    size_t n = 8 < n_att ? 8 : n_att;
    x = malloc(n * per * sizeof *x);
    y01 = malloc(n * per * sizeof *y01);
    img = malloc(n * per);
    lab = malloc(n * sizeof *lab);
    if (!x || !y01 || !img || !lab)
        goto out;
    if (kb_attack_batch(a, x, lab, KB_ATTACK_SPLIT_ATTACKER, KB_ATTACK_TRUE_KEY, 0, n, err) < 0 ||
        kb_attack_batch01(a, y01, NULL, KB_ATTACK_SPLIT_ATTACKER, KB_ATTACK_TRUE_KEY, 0, n, err) < 0)
        goto out;
    kb_attack_normalize(a, y01, n);
    double diff = 0;
    for (size_t i = 0; i < n * per; i++)
        diff = fmax(diff, fabs((double)x[i] - (double)y01[i]));
    /* the first `classes` attacker images cover every class (stratified order) */
    uint32_t seen = 0;
    for (size_t i = 0; i < n && i < classes; i++)
        seen |= 1u << lab[i];
    if (kb_attack_images(a, img, NULL, KB_ATTACK_SPLIT_ATTACKER, NULL, 0, n, err) < 0)
        goto out;
    /* a scratch model trains on attacker images through the harness loop */
    struct kb_train_config tc = kb_attack_finetune_config(a);
    tc.epochs = 1;
    double acc_scratch;
    if (kb_attack_model(a, KB_ATTACK_MODEL_SCRATCH, &s, err) < 0 ||
        kb_attack_train(a, s, NULL, n_att, &tc, err) < 0 ||
        kb_attack_evaluate(a, s, KB_ATTACK_SPLIT_TEST, NULL, 0, &acc_scratch, err) < 0)
        goto out;
    kb_attack_progress(a, "probing", 1, 1);
    char extra[128];
    snprintf(extra, sizeof extra, "{\"attack_seed\": %llu}", (unsigned long long)kb_attack_seed(a));
    if (kb_attack_metric(a, "accuracy_true_key", acc_true, n_test, extra, err) < 0 ||
        metric(a, "accuracy_plain", acc_plain, err) < 0 ||
        metric(a, "accuracy_random_key", acc_random, err) < 0 ||
        metric(a, "agreement_true", kb_attack_key_agreement(a, KB_ATTACK_TRUE_KEY), err) < 0 ||
        metric(a, "agreement_random", kb_attack_key_agreement(a, k), err) < 0 ||
        metric(a, "batch01_vs_batch", diff, err) < 0 ||
        metric(a, "prefix_classes", (double)__builtin_popcount(seen), err) < 0 ||
        metric(a, "n_attacker", (double)n_att, err) < 0 ||
        metric(a, "accuracy_scratch", acc_scratch, err) < 0)
        goto out;
    /* bad input to the API is an error, not a crash */
    struct kb_error e2 = {0};
    if (kb_attack_batch(a, x, lab, KB_ATTACK_SPLIT_TEST, NULL, n_test, 1, &e2) == 0 ||
        kb_attack_metric(a, "x", 0, 0, "[1,2]", &e2) == 0) {
        kb_error_set(err, "probe: the API accepted bad input");
        goto out;
    }
    rc = 0;
out:
    kb_model_free(m);
    kb_model_free(s);
    kb_attack_key_free(a, k);
    free(x), free(y01), free(img), free(lab);
    return rc;
}

static const struct kb_attack_ops ops = { .struct_size = sizeof ops, .run = probe_run };
static const struct kb_plugin probe = {
    KB_PLUGIN_HEADER, .kind = KB_KIND_ATTACK, .name = "test_probe", .version = "1",
    .summary = "exercises the attack API (tests only)", .caps = KB_ATTACK_NEEDS_KEYED,
    .ops = &ops,
};
KB_PLUGIN_ENTRY(&probe)

/* attack_template — an out-of-tree keybench attack plugin (made by
 * `keybench new-attack`; rename nothing by hand: the command already did).
 *
 * What it does, as a starting point: it evaluates the stolen protected model
 * with `keys` random keys on the first `images` test images and reports
 * their mean accuracy (a wrong-key attack). Replace attack_template_run with
 * your attack; keybench/attack.h lists everything the harness gives you
 * (models, the transform with an opaque true key, the attacker's data,
 * training and evaluation the runner's way, a seeded RNG, progress, metrics).
 *
 * Use it in a spec:   attacks: [{name: attack_template, keys: 5}]
 * and run keybench with KEYBENCH_PLUGIN_PATH=<this build folder> (or the
 * spec's plugin_path). */
#include <stdio.h>

#include <keybench/attack.h>
#include <keybench/plugin.h>

/* Parameters: name, type, default, min, max, choices, help. The spec parser
 * checks every value against this schema before anything runs. */
static const struct kb_param attack_template_params[] = {
    { "keys", KB_PARAM_INT, "5", 1, 1000000, NULL, "random keys to evaluate" },
    { "images", KB_PARAM_INT, "0", 0, 1000000000, NULL, "test images per key (0: all)" },
    { NULL, 0, NULL, 0, 0, NULL, NULL }
};

/* Runs once per protected cell, after the cell is trained and evaluated.
 * Return 0, or -1 with err set (the attack fails, the run goes on). */
static int attack_template_run(struct kb_attack *a, const struct kb_params *params,
                               struct kb_error *err)
{
    int64_t keys = kb_params_int(params, "keys");
    size_t n = kb_attack_split_size(a, KB_ATTACK_SPLIT_TEST);
    size_t images = (size_t)kb_params_int(params, "images");
    if (images && images < n)
        n = images;

    struct kb_model *m;  /* our own copy of the stolen protected model */
    if (kb_attack_model(a, KB_ATTACK_MODEL_PROTECTED, &m, err) < 0)
        return -1;
    double sum = 0, best = 0, agreement = 0;
    int rc = 0;
    for (int64_t i = 0; i < keys && rc == 0; i++) {
        void *key = kb_attack_key_new(a);  /* uniform over the transform's keys */
        if (!key) {
            rc = kb_error_set(err, "attack_template: out of memory for a key");
            break;
        }
        double acc = 0;
        rc = kb_attack_evaluate(a, m, KB_ATTACK_SPLIT_TEST, key, n, &acc, err);
        agreement += kb_attack_key_agreement(a, key);  /* reporting only */
        kb_attack_key_free(a, key);                     /* wiped */
        sum += acc;
        if (acc > best)
            best = acc;
        kb_attack_progress(a, "random keys", (double)(i + 1), (double)keys);
    }
    kb_model_free(m);
    if (rc < 0)
        return -1;

    /* One journal record per metric (condition = the attack's name); extra
     * fields go in a JSON object. */
    char extra[160];
    snprintf(extra, sizeof extra, "{\"keys\": %lld, \"best\": %.6f, \"mean_key_agreement\": %.6f}",
             (long long)keys, best, agreement / (double)keys);
    return kb_attack_metric(a, "mean_random_key_accuracy", sum / (double)keys, n, extra, err);
}

static const struct kb_attack_ops attack_template_ops = {
    .struct_size = sizeof attack_template_ops,
    .run = attack_template_run,
};

static const struct kb_plugin attack_template_plugin = {
    KB_PLUGIN_HEADER,
    .kind = KB_KIND_ATTACK,
    .name = "attack_template",
    .version = "0.1.0",
    .summary = "mean accuracy of the protected model under random keys",
    .params = attack_template_params,
    /* What the attack needs; a cell that cannot give it is refused before
     * the run starts (here: a keyed transform, so `none` is refused). */
    .caps = KB_ATTACK_NEEDS_KEYED,
    .ops = &attack_template_ops,
};

KB_PLUGIN_ENTRY(&attack_template_plugin)

/* plain — the protected model on plain (untransformed) test images.
 *
 * The simplest attack of the authors' papers (attack 2): a thief who stole
 * the protected model and feeds it ordinary images. A good protection keeps
 * this accuracy low. Metric: `accuracy` on the whole test split (n = its
 * size). No params. */
#include <keybench/attack.h>

static int plain_run(struct kb_attack *a, const struct kb_params *params, struct kb_error *err)
{
    (void)params;
    struct kb_model *m;
    if (kb_attack_model(a, KB_ATTACK_MODEL_PROTECTED, &m, err) < 0)
        return -1;
    double acc;
    int rc = kb_attack_evaluate(a, m, KB_ATTACK_SPLIT_TEST, NULL, 0, &acc, err);
    kb_model_free(m);
    if (rc < 0)
        return -1;
    return kb_attack_metric(a, "accuracy", acc, kb_attack_split_size(a, KB_ATTACK_SPLIT_TEST),
                            NULL, err);
}

static const struct kb_param plain_params[] = {
    { NULL, 0, NULL, 0, 0, NULL, NULL }
};

static const struct kb_attack_ops plain_ops = {
    .struct_size = sizeof(struct kb_attack_ops),
    .run = plain_run,
};

static const struct kb_plugin plain_plugin = {
    KB_PLUGIN_HEADER,
    .kind = KB_KIND_ATTACK,
    .name = "plain",
    .version = "1.0.0",
    .summary = "the protected model on plain test images (accuracy)",
    .params = plain_params,
    .caps = 0,
    .ops = &plain_ops,
};

KB_PLUGIN_ENTRY(&plain_plugin)

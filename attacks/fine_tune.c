/* fine_tune — the fine-tuning attack (the authors' attack 4).
 *
 * For every n of `sizes` (clamped to the attacker split, which the extra
 * field says): the stolen protected model fine-tuned on the first n plain
 * labelled attacker images, then its accuracy on PLAIN test images. Beside
 * it, the same budget (same images, same schedule) spent from the public
 * pretrained weights and from a freshly initialised model: the attack only
 * matters where stealing the protected model beats those.
 *
 * Schedule: the cell's fine-tune schedule (kb_attack_finetune_config), with
 * `epochs` and `lr` overriding it when given.
 *
 * Metrics, each with extra {"train_images": n, ...}: accuracy_from_protected,
 * accuracy_from_pretrained, accuracy_from_scratch (n = test images), and
 * advantage_over_pretrained = from_protected − from_pretrained. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <keybench/attack.h>

#include "ka_util.h"

#define FT_MAX_SIZES 64

/* Parse "100,500,1000" into sizes (positive integers). */
static int ft_parse_sizes(size_t *out, size_t *count, const char *text, struct kb_error *err)
{
    *count = 0;
    const char *p = text;
    while (*p) {
        while (*p == ' ')
            p++;
        if (*p < '0' || *p > '9')
            return kb_error_set(err, "fine_tune: sizes '%s': expected a comma-separated list of "
                                "positive integers (e.g. \"100,500,1000\")", text);
        errno = 0;
        char *end;
        unsigned long long v = strtoull(p, &end, 10);
        if (errno || v == 0 || v > (unsigned long long)SIZE_MAX / 2)
            return kb_error_set(err, "fine_tune: sizes '%s': %.*s is not a positive image count",
                                text, (int)(end - p), p);
        if (*count == FT_MAX_SIZES)
            return kb_error_set(err, "fine_tune: sizes '%s': at most %d sizes", text,
                                FT_MAX_SIZES);
        out[(*count)++] = (size_t)v;
        p = end;
        while (*p == ' ')
            p++;
        if (*p == ',')
            p++;
        else if (*p)
            return kb_error_set(err, "fine_tune: sizes '%s': unexpected '%c' at offset %zu; "
                                "expected ','", text, *p, (size_t)(p - text));
    }
    if (*count == 0)
        return kb_error_set(err, "fine_tune: sizes is empty; expected e.g. \"100,500,1000\"");
    return 0;
}

/* Train a fresh copy of `which` on n plain attacker images, then its plain
 * test accuracy. */
static int ft_one(struct kb_attack *a, enum kb_attack_model which, size_t n,
                  const struct kb_train_config *cfg, double *acc, struct kb_error *err)
{
    struct kb_model *m;
    if (kb_attack_model(a, which, &m, err) < 0)
        return -1;
    int rc = kb_attack_train(a, m, NULL, n, cfg, err);
    if (rc == 0)
        rc = kb_attack_evaluate(a, m, KB_ATTACK_SPLIT_TEST, NULL, 0, acc, err);
    kb_model_free(m);
    return rc;
}

static int ft_run(struct kb_attack *a, const struct kb_params *params, struct kb_error *err)
{
    size_t req[FT_MAX_SIZES], nreq;
    if (ft_parse_sizes(req, &nreq, kb_params_str(params, "sizes"), err) < 0)
        return -1;
    size_t avail = kb_attack_split_size(a, KB_ATTACK_SPLIT_ATTACKER);
    if (avail < 2)
        return kb_error_set(err, "fine_tune: the attacker split holds %zu images; the attack "
                            "needs at least 2 (splits.attacker)", avail);
    struct kb_train_config cfg = kb_attack_finetune_config(a);
    if (kb_params_has(params, "epochs"))
        cfg.epochs = kb_params_int(params, "epochs");
    if (kb_params_has(params, "lr"))
        cfg.lr = kb_params_float(params, "lr");
    size_t n_test = kb_attack_split_size(a, KB_ATTACK_SPLIT_TEST);

    size_t done_n[FT_MAX_SIZES], ndone = 0;
    for (size_t s = 0; s < nreq; s++) {
        size_t n = req[s] < avail ? req[s] : avail;
        bool dup = false;
        for (size_t k = 0; k < ndone; k++)
            dup = dup || done_n[k] == n;
        if (dup)
            continue;   /* two sizes clamped to the same n: measured once */
        done_n[ndone++] = n;

        static const enum kb_attack_model from[3] = { KB_ATTACK_MODEL_PROTECTED,
                                                      KB_ATTACK_MODEL_PRETRAINED,
                                                      KB_ATTACK_MODEL_SCRATCH };
        static const char *const names[3] = { "accuracy_from_protected",
                                              "accuracy_from_pretrained",
                                              "accuracy_from_scratch" };
        double acc[3];
        for (int k = 0; k < 3; k++) {
            kb_attack_progress(a, names[k], (double)s, (double)nreq);
            if (ft_one(a, from[k], n, &cfg, &acc[k], err) < 0)
                return kb_error_prefix(err, "fine_tune: n=%zu, %s", n, names[k] + 9);
        }
        struct ka_buf b = {0};
        ka_printf(&b, "{\"variant\": \"n=%zu\", \"train_images\": %zu, \"requested\": %zu, \"clamped\": %s, \"attacker_images\": "
                  "%zu, \"epochs\": %lld, \"lr\": ", n, n, req[s], n < req[s] ? "true" : "false",
                  avail, (long long)cfg.epochs);
        ka_num(&b, cfg.lr);
        ka_printf(&b, "}");
        int rc = b.oom ? kb_error_set(err, "fine_tune: out of memory") : 0;
        for (int k = 0; k < 3 && rc == 0; k++)
            rc = kb_attack_metric(a, names[k], acc[k], n_test, b.s, err);
        if (rc == 0)
            rc = kb_attack_metric(a, "advantage_over_pretrained", acc[0] - acc[1], n_test, b.s,
                                  err);
        ka_buf_free(&b);
        if (rc < 0)
            return -1;
    }
    kb_attack_progress(a, "done", (double)nreq, (double)nreq);
    return 0;
}

static const struct kb_param ft_params[] = {
    { "sizes", KB_PARAM_STRING, "100,500,1000", 0, 0, NULL,
      "comma-separated numbers of plain labelled attacker images (clamped to splits.attacker)" },
    { "epochs", KB_PARAM_INT, NULL, 1, 100000, NULL, "epochs (default: the cell's fine-tune schedule)" },
    { "lr", KB_PARAM_FLOAT, NULL, 0, 1e3, NULL, "learning rate (default: the cell's fine-tune schedule)" },
    { NULL, 0, NULL, 0, 0, NULL, NULL }
};

static const struct kb_attack_ops ft_ops = {
    .struct_size = sizeof(struct kb_attack_ops),
    .run = ft_run,
};

static const struct kb_plugin ft_plugin = {
    KB_PLUGIN_HEADER,
    .kind = KB_KIND_ATTACK,
    .name = "fine_tune",
    .version = "1.0.0",
    .summary = "fine-tune the stolen protected model on n plain labelled images; compare with the same budget from pretrained weights and from scratch",
    .params = ft_params,
    .caps = KB_ATTACK_NEEDS_TRAINING,
    .ops = &ft_ops,
};

KB_PLUGIN_ENTRY(&ft_plugin)

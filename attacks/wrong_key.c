/* wrong_key — the protected model on test images transformed with random
 * wrong keys (the authors' "incorrect key" attack).
 *
 * Draws `keys` fresh random keys (never the true key: a key that agrees with
 * it on every component is redrawn when the key space holds more than one
 * key), evaluates the protected model on the whole test split with each.
 * Metrics: `accuracy` = the mean over keys (extra, named as in the runner's
 * own `evaluate.wrong_keys` record: trials, std, min, max, values (the
 * per-key accuracies), key_agreement, redraws), and `key_agreement` = the
 * mean fraction of key components the random keys share with the true key.
 * Where the key space holds one key (single_key: true) that key is used. */
#include <math.h>
#include <stdlib.h>

#include <keybench/attack.h>

#include "ka_util.h"

static int wk_run(struct kb_attack *a, const struct kb_params *params, struct kb_error *err)
{
    int64_t nkeys = kb_params_int(params, "keys");
    const void *tstate;
    const struct kb_transform_ops *tops = kb_attack_transform(a, &tstate);
    bool single = !(tops->keyspace_bits(tstate) > 0.0);
    size_t n_test = kb_attack_split_size(a, KB_ATTACK_SPLIT_TEST);
    struct kb_model *m;
    if (kb_attack_model(a, KB_ATTACK_MODEL_PROTECTED, &m, err) < 0)
        return -1;
    double *acc = calloc((size_t)nkeys, sizeof *acc);
    struct ka_buf b = {0};
    int rc = 0;
    double sum = 0, sum_agree = 0, mn = INFINITY, mx = -INFINITY;
    long long redraws = 0;
    if (!acc)
        rc = kb_error_set(err, "wrong_key: out of memory");
    for (int64_t i = 0; i < nkeys && rc == 0; i++) {
        void *key = NULL;
        double agree = 1.0;
        for (int tries = 0; tries < 10000; tries++) {
            kb_attack_key_free(a, key);
            if (!(key = kb_attack_key_new(a)))
                break;
            agree = kb_attack_key_agreement(a, key);
            if (single || agree < 1.0)
                break;
            redraws++;
        }
        if (!key) {
            rc = kb_error_set(err, "wrong_key: out of memory");
            break;
        }
        if (!single && agree >= 1.0) {
            kb_attack_key_free(a, key);
            rc = kb_error_set(err, "wrong_key: 10000 random keys all equal the true key; "
                              "the key space is too small for a wrong-key trial");
            break;
        }
        rc = kb_attack_evaluate(a, m, KB_ATTACK_SPLIT_TEST, key, 0, &acc[i], err);
        kb_attack_key_free(a, key);
        sum += acc[i];
        sum_agree += agree;
        mn = fmin(mn, acc[i]);
        mx = fmax(mx, acc[i]);
        kb_attack_progress(a, "wrong keys", (double)(i + 1), (double)nkeys);
    }
    kb_model_free(m);
    if (rc == 0) {
        double mean = sum / (double)nkeys, var = 0;
        for (int64_t i = 0; i < nkeys; i++)
            var += (acc[i] - mean) * (acc[i] - mean);
        double sd = nkeys > 1 ? sqrt(var / (double)(nkeys - 1)) : 0.0;
        /* the field names of the runner's own wrong-key evaluation */
        ka_printf(&b, "{\"keys\": %lld, \"trials\": %lld, \"std\": ", (long long)nkeys,
                  (long long)nkeys);
        ka_num(&b, sd);
        ka_printf(&b, ", \"min\": ");
        ka_num(&b, mn);
        ka_printf(&b, ", \"max\": ");
        ka_num(&b, mx);
        ka_printf(&b, ", \"key_agreement\": ");
        ka_num(&b, sum_agree / (double)nkeys);
        ka_printf(&b, ", \"redraws\": %lld, \"single_key\": %s, \"values\": [", redraws,
                  single ? "true" : "false");
        for (int64_t i = 0; i < nkeys; i++) {
            ka_printf(&b, i ? ", " : "");
            ka_num(&b, acc[i]);
        }
        ka_printf(&b, "]}");
        if (b.oom)
            rc = kb_error_set(err, "wrong_key: out of memory");
        else if (kb_attack_metric(a, "accuracy", mean, n_test, b.s, err) < 0)
            rc = -1;
        else {
            char extra[64];
            snprintf(extra, sizeof extra, "{\"keys\": %lld}", (long long)nkeys);
            rc = kb_attack_metric(a, "key_agreement", sum_agree / (double)nkeys, (uint64_t)nkeys,
                                  extra, err);
        }
    }
    ka_buf_free(&b);
    free(acc);
    return rc;
}

static const struct kb_param wk_params[] = {
    { "keys", KB_PARAM_INT, "10", 1, 100000, NULL, "number of random wrong keys to try" },
    { NULL, 0, NULL, 0, 0, NULL, NULL }
};

static const struct kb_attack_ops wk_ops = {
    .struct_size = sizeof(struct kb_attack_ops),
    .run = wk_run,
};

static const struct kb_plugin wk_plugin = {
    KB_PLUGIN_HEADER,
    .kind = KB_KIND_ATTACK,
    .name = "wrong_key",
    .version = "1.0.0",
    .summary = "the protected model on test images encrypted with N random wrong keys (mean, std, min, max)",
    .params = wk_params,
    .caps = KB_ATTACK_NEEDS_KEYED,
    .ops = &wk_ops,
};

KB_PLUGIN_ENTRY(&wk_plugin)

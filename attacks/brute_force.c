/* brute_force — the cost of exhaustive key search (the authors' attack 3,
 * "the key-space sizes"), measured rather than only stated.
 *
 * No training. Reads the key-space size in bits from the transform
 * (keyspace_bits), the expected number of trials of an exhaustive search
 * 2^(bits-1), and times what one trial costs here: the protected model on
 * ONE batch of `batch` attacker images encrypted with a random key (one
 * warm-up, then `repeats` timed evaluations; their mean). The expected wall
 * time is trials × that cost. Whether exhaustive search is practical is
 * said in the extra field (`practical`: expected hours below
 * `practical_hours`); where the key space is at most `max_bits` bits the
 * extra also names the search that does it (key_estimation mode=random with
 * a budget of K·ln 100 for K keys: drawn with replacement, that many random
 * keys include the true one with probability 0.99; same per-trial cost).
 *
 * Metrics: keyspace_bits, expected_trials_log2, seconds_per_trial,
 * expected_hours_log10 (log10 of hours: finite for any key space). */
#include <math.h>

#include <keybench/attack.h>

#include "ka_util.h"

static int bf_run(struct kb_attack *a, const struct kb_params *params, struct kb_error *err)
{
    int64_t batch = kb_params_int(params, "batch"), repeats = kb_params_int(params, "repeats");
    double max_bits = kb_params_float(params, "max_bits");
    double practical_hours = kb_params_float(params, "practical_hours");
    const void *tstate;
    const struct kb_transform_ops *tops = kb_attack_transform(a, &tstate);
    double bits = tops->keyspace_bits(tstate);

    enum kb_attack_split split = KB_ATTACK_SPLIT_ATTACKER;
    size_t avail = kb_attack_split_size(a, split);
    if (avail == 0) {
        split = KB_ATTACK_SPLIT_TEST;   /* no attacker images: time on test images */
        avail = kb_attack_split_size(a, split);
    }
    size_t nb = (size_t)batch < avail ? (size_t)batch : avail;
    if (nb == 0)
        return kb_error_set(err, "brute_force: no images to time an evaluation on "
                            "(attacker and test splits are empty)");

    struct kb_model *m;
    if (kb_attack_model(a, KB_ATTACK_MODEL_PROTECTED, &m, err) < 0)
        return -1;
    void *key = kb_attack_key_new(a);
    if (!key) {
        kb_model_free(m);
        return kb_error_set(err, "brute_force: out of memory");
    }
    double acc, t0 = 0, total = 0;
    int rc = kb_attack_evaluate(a, m, split, key, nb, &acc, err);   /* warm-up */
    for (int64_t r = 0; r < repeats && rc == 0; r++) {
        t0 = ka_now();
        rc = kb_attack_evaluate(a, m, split, key, nb, &acc, err);
        total += ka_now() - t0;
        kb_attack_progress(a, "timing", (double)(r + 1), (double)repeats);
    }
    kb_attack_key_free(a, key);
    kb_model_free(m);
    if (rc < 0)
        return -1;

    double sec = total / (double)repeats;
    double trials_log2 = bits > 0 ? bits - 1.0 : 0.0;   /* one key: found at once */
    double hours_log10 = trials_log2 * log10(2.0) + log10(sec > 0 ? sec : 1e-9) - log10(3600.0);
    double hours = hours_log10 < 300 ? pow(10.0, hours_log10) : INFINITY;
    bool practical = hours <= practical_hours;

    struct ka_buf b = {0};
    ka_printf(&b, "{\"batch\": %zu, \"repeats\": %lld, \"expected_trials_log2\": ", nb,
              (long long)repeats);
    ka_num(&b, trials_log2);
    ka_printf(&b, ", \"seconds_per_trial\": ");
    ka_num(&b, sec);
    ka_printf(&b, ", \"expected_hours\": ");
    ka_num(&b, hours);   /* null beyond 1e300 hours */
    ka_printf(&b, ", \"practical_hours\": ");
    ka_num(&b, practical_hours);
    ka_printf(&b, ", \"practical\": %s, \"max_bits\": ", practical ? "true" : "false");
    ka_num(&b, max_bits);
    if (bits <= max_bits)   /* random keys are drawn with replacement: K·ln 100 draws
                               * include any one key with probability 0.99 */
        ka_printf(&b, ", \"small_key_space\": true, \"exhaustive_search\": \"key_estimation "
                      "mode=random budget=%.0f (random keys are drawn with replacement: this "
                      "budget includes the true key with probability 0.99)\"",
                  ceil(exp2(bits) * log(100.0)));
    else
        ka_printf(&b, ", \"small_key_space\": false");
    ka_printf(&b, "}");
    if (b.oom)
        rc = kb_error_set(err, "brute_force: out of memory");
    if (rc == 0)
        rc = kb_attack_metric(a, "keyspace_bits", bits, 0, b.s, err);
    if (rc == 0)
        rc = kb_attack_metric(a, "expected_trials_log2", trials_log2, 0, NULL, err);
    if (rc == 0)
        rc = kb_attack_metric(a, "seconds_per_trial", sec, nb, NULL, err);
    if (rc == 0)
        rc = kb_attack_metric(a, "expected_hours_log10", hours_log10, 0, b.s, err);
    ka_buf_free(&b);
    return rc;
}

static const struct kb_param bf_params[] = {
    { "batch", KB_PARAM_INT, "128", 1, 1000000, NULL,
      "images in the one batch a trial evaluates (clamped to the attacker split)" },
    { "repeats", KB_PARAM_INT, "3", 1, 1000, NULL, "timed evaluations (after one warm-up)" },
    { "max_bits", KB_PARAM_FLOAT, "16", 0, 1e6, NULL,
      "key spaces up to this many bits are small: key_estimation mode=random with a budget of the key-space size searches them" },
    { "practical_hours", KB_PARAM_FLOAT, "24", 0, 1e300, NULL,
      "exhaustive search is called practical when its expected wall time is at most this" },
    { NULL, 0, NULL, 0, 0, NULL, NULL }
};

static const struct kb_attack_ops bf_ops = {
    .struct_size = sizeof(struct kb_attack_ops),
    .run = bf_run,
};

static const struct kb_plugin bf_plugin = {
    KB_PLUGIN_HEADER,
    .kind = KB_KIND_ATTACK,
    .name = "brute_force",
    .version = "1.0.0",
    .summary = "key-space size, expected trials 2^(bits-1) and the expected wall time at the measured cost of one trial",
    .params = bf_params,
    .caps = KB_ATTACK_NEEDS_KEYED,
    .ops = &bf_ops,
};

KB_PLUGIN_ENTRY(&bf_plugin)

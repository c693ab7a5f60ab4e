/* key_estimation — estimate the secret key from the stolen protected model
 * and ONE labelled batch of plain attacker images (the authors' attacks 5
 * and 6, plus a bit-flip variant for bit keys).
 *
 * A candidate key's score is the accuracy of the protected model on the
 * first `batch` attacker images encrypted with it (kb_attack_evaluate on
 * the attacker split, limit = batch). Modes:
 *  - random: draw `budget` random keys, keep the best (strict improvement:
 *    the first key reaching the best score). Stops early at a score of 1,
 *    which no key can beat.
 *  - heuristic (authors' code; needs key_swap): start from a random key; for
 *    `sweeps` sweeps try swapping every pair (i < j) of key positions, keep
 *    a swap unless the score drops (ties are kept). L(L-1)/2 evaluations a
 *    sweep (fewer for bit keys: swapping two equal bits is not scored). Stops early after a sweep in which no kept swap changed the key
 *    (the next sweep would repeat it exactly).
 *    `max_evals` (0: none) caps the evaluations of a local search: block
 *    scrambling at M=2 on 28x28 has 196 blocks, 19,110 pairs a sweep. A
 *    capped search reports `"capped": true` with the evaluations it spent.
 *  - bitflip (bit keys; needs key_flip): the same coordinate search with
 *    single-bit flips, L evaluations a sweep.
 *  - all (default): random, then every other mode the transform offers.
 *
 * Per mode M: accuracy_M (test accuracy with the estimated key; extra holds
 * the evaluations, the best batch score, the key agreement and the curve of
 * best batch score vs evaluations as [[evaluations, best], ...], at most 50
 * points), key_agreement_M (reporting only: kb_attack_key_agreement),
 * evaluations_M and batch_accuracy_M. Once per run: batch_accuracy_true_key,
 * the true key's score on the same batch (the target). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <keybench/attack.h>
#include <keybench/secret.h>

#include "ka_util.h"

#define KE_CURVE_POINTS 50

struct ke_point {
    uint64_t evals;
    double best;
};

struct ke {
    struct kb_attack *a;
    struct kb_model *m;
    const struct kb_transform_ops *tops;
    const void *ts;
    size_t batch, L;
    const char *mode;          /* progress label */
    uint64_t evals, total;     /* evaluations spent in this mode; expected total */
    uint64_t max_evals;        /* local searches stop here (0: no cap) */
    bool capped;               /* this mode stopped at max_evals */
    double best;
    struct ke_point *curve;
    size_t ncurve, capcurve;
    bool oom;
};

static void ke_curve_add(struct ke *k)
{
    if (k->ncurve == k->capcurve) {
        size_t cap = k->capcurve ? 2 * k->capcurve : 64;
        struct ke_point *c = realloc(k->curve, cap * sizeof *c);
        if (!c) {
            k->oom = true;
            return;
        }
        k->curve = c;
        k->capcurve = cap;
    }
    k->curve[k->ncurve++] = (struct ke_point){ k->evals, k->best };
}

/* Score a key: the protected model's accuracy on the one attacker batch. */
static int ke_score(struct ke *k, const void *key, double *s, struct kb_error *err)
{
    if (kb_attack_evaluate(k->a, k->m, KB_ATTACK_SPLIT_ATTACKER, key, k->batch, s, err) < 0)
        return -1;
    k->evals++;
    uint64_t step = k->total / 200 ? k->total / 200 : 1;
    if (k->evals % step == 0)
        kb_attack_progress(k->a, k->mode, (double)k->evals, (double)k->total);
    return 0;
}

/* Record a new best (the first score always is one). */
static void ke_improved(struct ke *k, double s)
{
    k->best = s;
    ke_curve_add(k);
}

static void ke_reset(struct ke *k, const char *mode, uint64_t total)
{
    k->mode = mode;
    k->evals = 0;
    k->total = total;
    k->best = -1;
    k->ncurve = 0;
    k->capped = false;
}

/* A local search may not spend another evaluation. */
static bool ke_out_of_budget(struct ke *k)
{
    if (k->max_evals && k->evals >= k->max_evals)
        k->capped = true;
    return k->capped;
}

/* best := the best of `budget` random keys. */
static int ke_random(struct ke *k, void *best, int64_t budget, struct kb_error *err)
{
    void *cand = kb_attack_key_new(k->a);
    uint8_t *secret = kb_secret_alloc();
    int rc = 0;
    if (!cand || !secret)
        rc = kb_error_set(err, "key_estimation: out of memory");
    for (int64_t t = 0; t < budget && rc == 0; t++) {
        kb_rng_bytes(kb_attack_rng(k->a), secret, KB_SECRET_BYTES);
        k->tops->key_make(k->ts, cand, secret);
        double s;
        if ((rc = ke_score(k, cand, &s, err)) < 0)
            break;
        if (s > k->best) {
            kb_attack_key_copy(k->a, best, cand);
            ke_improved(k, s);
        }
        if (k->best >= 1.0)
            break;   /* nothing can beat it */
    }
    kb_secret_free(secret);
    kb_attack_key_free(k->a, cand);
    return rc;
}

/* Coordinate search from a random key: swaps of every pair (flip = false)
 * or flips of every bit (flip = true), kept unless the score drops. */
static int ke_local(struct ke *k, void *key, int64_t sweeps, bool flip, struct kb_error *err)
{
    void *start = kb_attack_key_new(k->a);
    if (!start)
        return kb_error_set(err, "key_estimation: out of memory");
    kb_attack_key_copy(k->a, key, start);
    kb_attack_key_free(k->a, start);
    double s;
    if (ke_score(k, key, &s, err) < 0)
        return -1;
    ke_improved(k, s);
    size_t L = k->L, size = kb_attack_key_size(k->a);
    uint8_t *before = kb_secret_alloc_size(size ? size : 1);
    if (!before)
        return kb_error_set(err, "key_estimation: out of memory");
    int rc = 0;
    for (int64_t sw = 0; sw < sweeps && rc == 0; sw++) {
        bool changed = false;
        for (size_t i = 0; i < L && rc == 0 && !k->capped; i++) {
            for (size_t j = flip ? i : i + 1; j < (flip ? i + 1 : L) && rc == 0; j++) {
                memcpy(before, key, size);
                if (flip)
                    k->tops->key_flip(k->ts, key, i);
                else
                    k->tops->key_swap(k->ts, key, i, j);
                if (!memcmp(before, key, size))
                    continue;   /* two equal bits: nothing to score */
                if (ke_out_of_budget(k)) {
                    memcpy(key, before, size);
                    break;
                }
                if ((rc = ke_score(k, key, &s, err)) < 0)
                    break;
                if (s < k->best) {
                    memcpy(key, before, size);   /* undo: the score dropped */
                    continue;
                }
                changed = changed || memcmp(before, key, size) != 0;
                if (s > k->best)
                    ke_improved(k, s);
            }
        }
        if (!changed || k->capped)
            break;   /* the next sweep would repeat this one, or no budget is left */
    }
    kb_secret_free(before);
    return rc;
}

/* Write the mode's metrics: test accuracy with the estimated key, etc. */
static int ke_report(struct ke *k, const char *mode, const void *key, const struct kb_params *params,
                     struct kb_error *err)
{
    double acc;
    if (kb_attack_evaluate(k->a, k->m, KB_ATTACK_SPLIT_TEST, key, 0, &acc, err) < 0)
        return -1;
    double agree = kb_attack_key_agreement(k->a, key);
    if (k->ncurve == 0 || k->curve[k->ncurve - 1].evals != k->evals)
        ke_curve_add(k);   /* close the curve at the evaluations spent */
    size_t n_test = kb_attack_split_size(k->a, KB_ATTACK_SPLIT_TEST);

    struct ka_buf b = {0};
    ka_printf(&b, "{\"mode\": \"%s\", \"evaluations\": %llu, \"batch\": %zu, \"batch_accuracy\": ",
              mode, (unsigned long long)k->evals, k->batch);
    ka_num(&b, k->best);
    ka_printf(&b, ", \"key_agreement\": ");
    ka_num(&b, agree);
    if (!strcmp(mode, "random"))
        ka_printf(&b, ", \"budget\": %lld", (long long)kb_params_int(params, "budget"));
    else
        ka_printf(&b, ", \"sweeps\": %lld, \"max_evals\": %lld, \"capped\": %s",
                  (long long)kb_params_int(params, "sweeps"),
                  (long long)kb_params_int(params, "max_evals"), k->capped ? "true" : "false");
    ka_printf(&b, ", \"curve\": [");
    size_t np = k->ncurve < KE_CURVE_POINTS ? k->ncurve : KE_CURVE_POINTS;
    size_t last = SIZE_MAX;
    for (size_t p = 0; p < np; p++) {
        /* evenly spaced improvements, always the first and the last */
        size_t idx = np > 1 ? (size_t)llround((double)p * (double)(k->ncurve - 1) / (double)(np - 1))
                            : 0;
        if (idx == last)
            continue;
        ka_printf(&b, "%s[%llu, ", last == SIZE_MAX ? "" : ", ",
                  (unsigned long long)k->curve[idx].evals);
        ka_num(&b, k->curve[idx].best);
        ka_printf(&b, "]");
        last = idx;
    }
    ka_printf(&b, "]}");

    char name[64];
    int rc = (b.oom || k->oom) ? kb_error_set(err, "key_estimation: out of memory") : 0;
    if (rc == 0) {
        snprintf(name, sizeof name, "accuracy_%s", mode);
        rc = kb_attack_metric(k->a, name, acc, n_test, b.s, err);
    }
    ka_buf_free(&b);
    char extra[96];
    snprintf(extra, sizeof extra, "{\"mode\": \"%s\"}", mode);
    if (rc == 0) {
        snprintf(name, sizeof name, "key_agreement_%s", mode);
        rc = kb_attack_metric(k->a, name, agree, k->L, extra, err);
    }
    if (rc == 0) {
        snprintf(name, sizeof name, "evaluations_%s", mode);
        rc = kb_attack_metric(k->a, name, (double)k->evals, k->batch, extra, err);
    }
    if (rc == 0) {
        snprintf(name, sizeof name, "batch_accuracy_%s", mode);
        rc = kb_attack_metric(k->a, name, k->best, k->batch, extra, err);
    }
    return rc;
}

/* Plan time: a mode the transform cannot search is refused before anything
 * runs (ke_run checks again: a plugin may be run without a plan). */
static int ke_mode_check(const char *mode, const struct kb_transform_ops *tops, const char *tname,
                         struct kb_error *err)
{
    if (!strcmp(mode, "heuristic") && !KB_TRANSFORM_HAS(tops, key_swap))
        return kb_error_set(err, "key_estimation: mode=heuristic needs a transform with key_swap; "
                            "'%s' has none (use mode: random)", tname);
    if (!strcmp(mode, "bitflip") && !KB_TRANSFORM_HAS(tops, key_flip))
        return kb_error_set(err, "key_estimation: mode=bitflip needs a transform with bit keys "
                            "(key_flip); '%s' has none (use mode: random or heuristic)", tname);
    return 0;
}

static int ke_check(const struct kb_params *params, const struct kb_plugin *transform,
                    struct kb_error *err)
{
    return ke_mode_check(kb_params_str(params, "mode"), transform->ops, transform->name, err);
}

static int ke_run(struct kb_attack *a, const struct kb_params *params, struct kb_error *err)
{
    const char *mode = kb_params_str(params, "mode");
    int64_t budget = kb_params_int(params, "budget"), sweeps = kb_params_int(params, "sweeps");
    struct ke k = { .a = a, .max_evals = (uint64_t)kb_params_int(params, "max_evals") };
    k.tops = kb_attack_transform(a, &k.ts);
    k.L = k.tops->key_length(k.ts);
    bool has_swap = KB_TRANSFORM_HAS(k.tops, key_swap);
    bool has_flip = KB_TRANSFORM_HAS(k.tops, key_flip);
    const char *tname = kb_attack_transform_plugin(a)->name;
    bool all = !strcmp(mode, "all");
    if (ke_mode_check(mode, k.tops, tname, err) < 0)
        return -1;
    bool do_random = all || !strcmp(mode, "random");
    bool do_heur = (all && has_swap && k.L >= 2) || !strcmp(mode, "heuristic");
    bool do_flip = (all && has_flip) || !strcmp(mode, "bitflip");

    size_t avail = kb_attack_split_size(a, KB_ATTACK_SPLIT_ATTACKER);
    if (avail == 0)
        return kb_error_set(err, "key_estimation: the attacker split is empty; the attack scores "
                            "keys on a batch of attacker images (splits.attacker)");
    int64_t batch = kb_params_int(params, "batch");
    k.batch = (size_t)batch < avail ? (size_t)batch : avail;

    if (kb_attack_model(a, KB_ATTACK_MODEL_PROTECTED, &k.m, err) < 0)
        return -1;
    void *key = kb_attack_key_new(a);
    int rc = key ? 0 : kb_error_set(err, "key_estimation: out of memory");

    double target;
    if (rc == 0)
        rc = kb_attack_evaluate(a, k.m, KB_ATTACK_SPLIT_ATTACKER, KB_ATTACK_TRUE_KEY, k.batch,
                                &target, err);
    if (rc == 0)
        rc = kb_attack_metric(a, "batch_accuracy_true_key", target, k.batch, NULL, err);

    /* each mode draws from its own stream: its result does not depend on
     * which other modes ran before it */
    if (rc == 0 && do_random) {
        kb_rng_init_seed(kb_attack_rng(a), kb_attack_seed(a), "key_estimation/random");
        ke_reset(&k, "random search", (uint64_t)budget);
        rc = ke_random(&k, key, budget, err);
        if (rc == 0)
            rc = ke_report(&k, "random", key, params, err);
    }
    if (rc == 0 && do_heur) {
        uint64_t per = (uint64_t)k.L * (k.L - 1) / 2;
        kb_rng_init_seed(kb_attack_rng(a), kb_attack_seed(a), "key_estimation/heuristic");
        uint64_t total = 1 + per * (uint64_t)sweeps;
        ke_reset(&k, "heuristic search", k.max_evals && k.max_evals < total ? k.max_evals : total);
        rc = ke_local(&k, key, sweeps, false, err);
        if (rc == 0)
            rc = ke_report(&k, "heuristic", key, params, err);
    }
    if (rc == 0 && do_flip) {
        kb_rng_init_seed(kb_attack_rng(a), kb_attack_seed(a), "key_estimation/bitflip");
        uint64_t total = 1 + (uint64_t)k.L * (uint64_t)sweeps;
        ke_reset(&k, "bit-flip search", k.max_evals && k.max_evals < total ? k.max_evals : total);
        rc = ke_local(&k, key, sweeps, true, err);
        if (rc == 0)
            rc = ke_report(&k, "bitflip", key, params, err);
    }
    kb_attack_key_free(a, key);
    kb_model_free(k.m);
    free(k.curve);
    return rc;
}

static const struct kb_param ke_params[] = {
    { "mode", KB_PARAM_CHOICE, "all", 0, 0, "all|random|heuristic|bitflip",
      "search: random keys, pair swaps (authors' heuristic), bit flips, or all the transform supports" },
    { "budget", KB_PARAM_INT, "20000", 1, 1e12, NULL, "random search: number of random keys" },
    { "sweeps", KB_PARAM_INT, "10", 1, 1000000, NULL, "heuristic and bitflip: sweeps over the key positions" },
    { "max_evals", KB_PARAM_INT, "0", 0, 1e12, NULL,
      "heuristic and bitflip: stop after this many evaluations (0: no cap)" },
    { "batch", KB_PARAM_INT, "128", 1, 1000000, NULL,
      "images in the ONE labelled attacker batch that scores keys (clamped to splits.attacker)" },
    { NULL, 0, NULL, 0, 0, NULL, NULL }
};

static const struct kb_attack_ops ke_ops = {
    .struct_size = sizeof(struct kb_attack_ops),
    .run = ke_run,
    .check = ke_check,
};

static const struct kb_plugin ke_plugin = {
    KB_PLUGIN_HEADER,
    .kind = KB_KIND_ATTACK,
    .name = "key_estimation",
    .version = "1.0.0",
    .summary = "estimate the key from the protected model and one labelled batch: random search, pair-swap heuristic, bit flips",
    .params = ke_params,
    .caps = KB_ATTACK_NEEDS_KEYED,
    .ops = &ke_ops,
};

KB_PLUGIN_ENTRY(&ke_plugin)

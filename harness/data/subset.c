/* Seeded stratified subsets (algorithm in docs/datasets.md, "Subsets"):
 *  1. a_k := available (not taken) indices of class k, A := Σ a_k;
 *  2. quota q_k := floor(count·a_k / A); the count − Σ q_k leftover picks go
 *     one each to the classes with the largest remainders (count·a_k mod A),
 *     ties to the lower class index (largest-remainder / Hamilton rounding);
 *  3. one ChaCha20 stream kb_rng_init_seed(seed, domain); for k = 0..K−1 the
 *     available indices of class k, in ascending order, are Fisher–Yates
 *     shuffled with it and the first q_k are taken;
 *  4. the picked indices are sorted ascending. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <keybench/dataset.h>
#include <keybench/rng.h>

size_t kb_subset_count(size_t n, double fraction)
{
    if (!(fraction > 0))
        return 0;
    if (fraction >= 1)
        return n;
    double v = floor(fraction * (double)n + 0.5);
    if (v >= (double)n)
        return n;
    return (size_t)v;
}

struct rem {
    uint64_t r;
    uint32_t k;
};

static int cmp_rem(const void *a, const void *b)
{
    const struct rem *x = a, *y = b;
    if (x->r != y->r)
        return x->r > y->r ? -1 : 1;
    return x->k < y->k ? -1 : x->k > y->k;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

int kb_labels_subset(uint32_t *idx, const uint32_t *labels, uint8_t *taken, size_t count,
                     uint64_t seed, const char *domain, size_t n, uint32_t n_classes,
                     struct kb_error *err)
{
    if (n > UINT32_MAX)
        return kb_error_set(err, "subset: %zu labels; expected at most %u", n, UINT32_MAX);
    if (n_classes == 0)
        return kb_error_set(err, "subset: 0 classes; expected at least 1");
    if (!domain)
        domain = "";
    uint64_t *avail = calloc(n_classes, sizeof *avail);
    uint64_t *quota = calloc(n_classes, sizeof *quota);
    uint64_t *start = calloc((size_t)n_classes + 1, sizeof *start);
    struct rem *rems = calloc(n_classes, sizeof *rems);
    uint32_t *pool = malloc((n ? n : 1) * sizeof *pool);
    int rc = -1;
    if (!avail || !quota || !start || !rems || !pool) {
        kb_error_set(err, "subset: out of memory");
        goto out;
    }
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (labels[i] >= n_classes) {
            kb_error_set(err, "subset: label %u at index %zu; expected 0..%u", labels[i], i,
                         n_classes - 1);
            goto out;
        }
        if (!taken || !taken[i]) {
            avail[labels[i]]++;
            total++;
        }
    }
    if (count > total) {
        kb_error_set(err, "subset '%s': %zu indices requested but only %llu of %zu are available "
                     "(not already taken); expected at most %llu", domain, count,
                     (unsigned long long)total, n, (unsigned long long)total);
        goto out;
    }
    /* Largest-remainder quotas. count, a_k <= 2^32, so count·a_k fits in 64 bits. */
    uint64_t assigned = 0;
    for (uint32_t k = 0; k < n_classes; k++) {
        uint64_t num = (uint64_t)count * avail[k];
        quota[k] = total ? num / total : 0;
        rems[k].r = total ? num % total : 0;
        rems[k].k = k;
        assigned += quota[k];
    }
    qsort(rems, n_classes, sizeof *rems, cmp_rem);
    for (uint64_t j = 0; assigned < count; j++, assigned++)
        quota[rems[j].k]++;
    /* Bucket available indices by class (ascending within each class). */
    for (uint32_t k = 0; k < n_classes; k++)
        start[k + 1] = start[k] + avail[k];
    memset(avail, 0, n_classes * sizeof *avail);  /* reuse as fill cursor */
    for (size_t i = 0; i < n; i++)
        if (!taken || !taken[i]) {
            uint32_t k = labels[i];
            pool[start[k] + avail[k]++] = (uint32_t)i;
        }
    struct kb_rng rng;
    kb_rng_init_seed(&rng, seed, domain);
    size_t out_n = 0;
    for (uint32_t k = 0; k < n_classes; k++) {
        uint32_t *cls = pool + start[k];
        uint32_t m = (uint32_t)(start[k + 1] - start[k]);
        if (quota[k] == 0 || m == 0)
            continue;
        kb_rng_shuffle(&rng, cls, m);
        memcpy(idx + out_n, cls, (size_t)quota[k] * sizeof *idx);
        out_n += (size_t)quota[k];
    }
    kb_rng_wipe(&rng);
    qsort(idx, out_n, sizeof *idx, cmp_u32);
    if (taken)
        for (size_t j = 0; j < out_n; j++)
            taken[idx[j]] = 1;
    rc = 0;
out:
    free(avail);
    free(quota);
    free(start);
    free(rems);
    free(pool);
    return rc;
}

int kb_dataset_subset(uint32_t *idx, const struct kb_dataset *ds, size_t count, uint8_t *taken,
                      uint64_t seed, const char *domain, struct kb_error *err)
{
    return kb_labels_subset(idx, ds->labels, taken, count, seed, domain, ds->n, ds->n_classes,
                            err);
}

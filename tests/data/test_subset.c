/* Seeded stratified subsets and gather. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include <keybench/dataset.h>

#define ASSERT_MSG(err, s) \
    cr_assert(strstr((err).msg, (s)), "message lacks '%s': %s", (s), (err).msg)

/* An unbalanced dataset: class k has 10 + 7k images (k < 5): 10,17,24,31,38 = 120. */
static void make(struct kb_dataset *ds)
{
    struct kb_error err = {0};
    cr_assert_eq(kb_dataset_alloc(ds, 120, 2, 2, 1, 5, &err), 0, "%s", err.msg);
    uint32_t i = 0;
    for (uint32_t k = 0; k < 5; k++)
        for (uint32_t j = 0; j < 10 + 7 * k; j++, i++) {
            ds->labels[(i * 37) % 120] = k; /* interleave: 37 is coprime to 120 */
        }
    for (uint32_t q = 0; q < 120; q++)
        memset(ds->images + q * 4, (int)q, 4);
}

static void counts_of(uint64_t *cnt, const struct kb_dataset *ds, const uint32_t *idx, size_t n)
{
    memset(cnt, 0, 5 * sizeof *cnt);
    for (size_t j = 0; j < n; j++)
        cnt[ds->labels[idx[j]]]++;
}

Test(subset, exact_total_and_proportions)
{
    struct kb_dataset ds = {0};
    make(&ds);
    uint64_t full[5];
    kb_dataset_class_counts(full, &ds);
    cr_assert_eq(full[0], 10);
    cr_assert_eq(full[4], 38);
    struct kb_error err = {0};
    for (size_t count = 0; count <= 120; count += 7) {
        uint32_t idx[120];
        cr_assert_eq(kb_dataset_subset(idx, &ds, count, NULL, 1, "t", &err), 0, "%s", err.msg);
        uint64_t cnt[5];
        counts_of(cnt, &ds, idx, count);
        uint64_t sum = 0;
        for (int k = 0; k < 5; k++) {
            double exact = (double)count * (double)full[k] / 120.0;
            cr_assert(cnt[k] + 1 > exact && (double)cnt[k] < exact + 1,
                      "count %zu class %d: %llu vs %.2f", count, k,
                      (unsigned long long)cnt[k], exact);
            sum += cnt[k];
        }
        cr_assert_eq(sum, count);
        for (size_t j = 1; j < count; j++)
            cr_assert_lt(idx[j - 1], idx[j], "ascending and distinct");
    }
    /* 25% of 120 = 30: quotas 2.5, 4.25, 6, 7.75, 9.5 -> 2/3, 4, 6, 8, 9/10 (sum 30) */
    uint32_t idx[30];
    cr_assert_eq(kb_subset_count(120, 0.25), 30);
    cr_assert_eq(kb_dataset_subset(idx, &ds, 30, NULL, 1, "t", &err), 0);
    uint64_t cnt[5];
    counts_of(cnt, &ds, idx, 30);
    cr_assert_eq(cnt[1], 4);
    cr_assert_eq(cnt[2], 6);
    cr_assert_eq(cnt[3], 8);
    /* remainders .5 (class 0) and .5 (class 4) tie: lower class index wins */
    cr_assert_eq(cnt[0], 3);
    cr_assert_eq(cnt[4], 9);
    kb_dataset_free(&ds);
}

Test(subset, deterministic_and_seed_dependent)
{
    struct kb_dataset ds = {0};
    make(&ds);
    struct kb_error err = {0};
    uint32_t a[40], b[40], c[40], d[40];
    cr_assert_eq(kb_dataset_subset(a, &ds, 40, NULL, 7, "pretrain", &err), 0);
    cr_assert_eq(kb_dataset_subset(b, &ds, 40, NULL, 7, "pretrain", &err), 0);
    cr_assert_eq(kb_dataset_subset(c, &ds, 40, NULL, 8, "pretrain", &err), 0);
    cr_assert_eq(kb_dataset_subset(d, &ds, 40, NULL, 7, "finetune", &err), 0);
    cr_assert_eq(memcmp(a, b, sizeof a), 0);
    cr_assert_neq(memcmp(a, c, sizeof a), 0, "different seeds give different subsets");
    cr_assert_neq(memcmp(a, d, sizeof a), 0, "different domains give different subsets");
    kb_dataset_free(&ds);
}

Test(subset, disjoint_with_taken)
{
    struct kb_dataset ds = {0};
    make(&ds);
    struct kb_error err = {0};
    uint8_t taken[120] = {0};
    uint32_t a[60], b[30], c[30];
    cr_assert_eq(kb_dataset_subset(a, &ds, 60, taken, 1, "pretrain", &err), 0, "%s", err.msg);
    cr_assert_eq(kb_dataset_subset(b, &ds, 30, taken, 1, "finetune", &err), 0, "%s", err.msg);
    cr_assert_eq(kb_dataset_subset(c, &ds, 30, taken, 1, "attacker", &err), 0, "%s", err.msg);
    uint8_t seen[120] = {0};
    for (int j = 0; j < 60; j++)
        seen[a[j]]++;
    for (int j = 0; j < 30; j++)
        seen[b[j]]++, seen[c[j]]++;
    for (int i = 0; i < 120; i++) {
        cr_assert_eq(seen[i], 1, "index %d picked %u times", i, seen[i]);
        cr_assert_eq(taken[i], 1);
    }
    /* nothing is left */
    uint32_t x[1];
    cr_assert_eq(kb_dataset_subset(x, &ds, 1, taken, 1, "more", &err), -1);
    ASSERT_MSG(err, "subset 'more': 1 indices requested but only 0 of 120 are available");
    kb_dataset_free(&ds);
}

Test(subset, count_and_labels_errors)
{
    cr_assert_eq(kb_subset_count(60000, 0.1), 6000);
    cr_assert_eq(kb_subset_count(10, 0.05), 1);   /* 0.5 rounds up */
    cr_assert_eq(kb_subset_count(10, 0.0), 0);
    cr_assert_eq(kb_subset_count(10, 1.5), 10);
    uint32_t labels[4] = {0, 1, 2, 1}, idx[4];
    struct kb_error err = {0};
    cr_assert_eq(kb_labels_subset(idx, labels, NULL, 2, 0, "x", 4, 2, &err), -1);
    ASSERT_MSG(err, "label 2 at index 2");
    cr_assert_eq(kb_labels_subset(idx, labels, NULL, 5, 0, "x", 4, 3, &err), -1);
    ASSERT_MSG(err, "5 indices requested but only 4");
}

Test(subset, gather_copies)
{
    struct kb_dataset ds = {0}, out = {0};
    make(&ds);
    struct kb_error err = {0};
    uint32_t idx[3] = {5, 0, 119};
    cr_assert_eq(kb_dataset_gather(&out, &ds, idx, 3, &err), 0, "%s", err.msg);
    cr_assert_eq(out.n, 3);
    cr_assert_eq(out.n_classes, 5);
    cr_assert_str_eq(out.class_names[4], "4");
    for (int j = 0; j < 3; j++) {
        cr_assert_eq(out.labels[j], ds.labels[idx[j]]);
        cr_assert_eq(kb_dataset_image(&out, (size_t)j)[3], (uint8_t)idx[j]);
    }
    cr_assert_neq(out.images, ds.images);
    kb_dataset_free(&out);
    idx[1] = 120;
    cr_assert_eq(kb_dataset_gather(&out, &ds, idx, 3, &err), -1);
    ASSERT_MSG(err, "index 120 at position 1; expected < 120");
    kb_dataset_free(&ds);
}

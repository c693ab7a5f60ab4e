/* The real Fashion-MNIST (skipped when /usr/share/datasets/fashion-mnist is absent). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <keybench/dataset.h>

Test(fmnist, load_real_files, .timeout = 120)
{
    char path[4096];
    cr_assert_eq(kb_dataset_default_path(path, sizeof path, "fashion-mnist"), 0);
    char probe[4200];
    snprintf(probe, sizeof probe, "%s/train-images-idx3-ubyte.gz", path);
    char probe2[4200];
    snprintf(probe2, sizeof probe2, "%s/train-images-idx3-ubyte", path);
    if (access(probe, R_OK) != 0 && access(probe2, R_OK) != 0)
        cr_skip_test("Fashion-MNIST not found under %s", path);
    struct kb_dataset tr = {0}, te = {0};
    struct kb_error err = {0};
    cr_assert_eq(kb_dataset_open(&tr, &te, "fashion-mnist", NULL, &err), 0, "%s", err.msg);
    cr_assert_eq(tr.n, 60000);
    cr_assert_eq(te.n, 10000);
    cr_assert_eq(tr.h, 28);
    cr_assert_eq(tr.w, 28);
    cr_assert_eq(tr.c, 1);
    cr_assert_eq(tr.n_classes, 10);
    cr_assert_str_eq(tr.class_names[9], "Ankle boot");
    uint64_t cnt[10];
    kb_dataset_class_counts(cnt, &tr);
    for (int k = 0; k < 10; k++)
        cr_assert_eq(cnt[k], 6000, "train class %d has %llu", k, (unsigned long long)cnt[k]);
    kb_dataset_class_counts(cnt, &te);
    for (int k = 0; k < 10; k++)
        cr_assert_eq(cnt[k], 1000);
    /* images are not blank: mean pixel of the training set ~ 72.9 (0.286 × 255) */
    uint64_t sum = 0;
    size_t nb = (size_t)tr.n * 784;
    for (size_t i = 0; i < nb; i++)
        sum += tr.images[i];
    double mean = (double)sum / (double)nb;
    cr_assert(mean > 70 && mean < 76, "mean pixel %.2f", mean);
    /* a 10% stratified subset has exactly 600 per class */
    uint32_t *idx = malloc(6000 * sizeof *idx);
    cr_assert_eq(kb_dataset_subset(idx, &tr, kb_subset_count(tr.n, 0.1), NULL, 1, "t", &err), 0);
    uint32_t per[10] = {0};
    for (int j = 0; j < 6000; j++)
        per[tr.labels[idx[j]]]++;
    for (int k = 0; k < 10; k++)
        cr_assert_eq(per[k], 600);
    free(idx);
    kb_dataset_free(&tr);
    kb_dataset_free(&te);
}

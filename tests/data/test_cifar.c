/* CIFAR-10/100 binary loaders on batches written by the test. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <keybench/dataset.h>

#include "data_helpers.h"

static char *dir;

static void setup(void)
{
    dir = td_tmpdir();
}

static void teardown(void)
{
    td_rmtree(dir);
    free(dir);
}

TestSuite(cifar, .init = setup, .fini = teardown);

#define ASSERT_MSG(err, s) \
    cr_assert(strstr((err).msg, (s)), "message lacks '%s': %s", (s), (err).msg)

/* Pixel value of record r (global index g), channel ch, position q. */
static uint8_t px(uint32_t g, uint32_t ch, uint32_t q)
{
    return (uint8_t)(g * 13 + ch * 101 + q * 7);
}

/* n records starting at global index g0; label of g = g % k (fine), coarse g % 20. */
static uint8_t *records(size_t *len, uint32_t g0, uint32_t n, unsigned lb, uint32_t k)
{
    size_t rec = lb + 3072;
    *len = rec * n;
    uint8_t *b = malloc(*len);
    for (uint32_t i = 0; i < n; i++) {
        uint8_t *p = b + i * rec;
        uint32_t g = g0 + i;
        if (lb == 2)
            p[0] = (uint8_t)(g % 20);
        p[lb - 1] = (uint8_t)(g % k);
        for (uint32_t ch = 0; ch < 3; ch++)
            for (uint32_t q = 0; q < 1024; q++)
                p[lb + ch * 1024 + q] = px(g, ch, q);
    }
    return b;
}

static void check(const struct kb_dataset *ds, uint32_t g0, uint32_t n, uint32_t k)
{
    cr_assert_eq(ds->n, n);
    cr_assert_eq(ds->h, 32);
    cr_assert_eq(ds->w, 32);
    cr_assert_eq(ds->c, 3);
    cr_assert_eq(ds->n_classes, k);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t g = g0 + i;
        cr_assert_eq(ds->labels[i], g % k);
        const uint8_t *im = kb_dataset_image(ds, i);
        for (uint32_t q = 0; q < 1024; q += 37)
            for (uint32_t ch = 0; ch < 3; ch++)
                cr_assert_eq(im[3 * q + ch], px(g, ch, q), "image %u pos %u ch %u", i, q, ch);
    }
}

Test(cifar, cifar10_folder)
{
    td_mkdir(dir, "cifar-10-batches-bin");
    char *sub = td_path(dir, "cifar-10-batches-bin");
    size_t len;
    for (int b = 0; b < 5; b++) {
        char name[32];
        snprintf(name, sizeof name, "data_batch_%d.bin", b + 1);
        uint8_t *r = records(&len, (uint32_t)b * 4, 4, 1, 10);
        free(td_write(sub, name, r, len));
        free(r);
    }
    uint8_t *r = records(&len, 100, 3, 1, 10);
    free(td_write(sub, "test_batch.bin", r, len));
    free(r);
    const char *meta = "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n";
    free(td_write(sub, "batches.meta.txt", meta, strlen(meta)));
    struct kb_dataset tr = {0}, te = {0};
    struct kb_error err = {0};
    /* the parent folder and the batches folder both work */
    cr_assert_eq(kb_dataset_open(&tr, &te, "cifar10", dir, &err), 0, "%s", err.msg);
    check(&tr, 0, 20, 10);
    check(&te, 100, 3, 10);
    cr_assert_str_eq(tr.class_names[9], "truck");
    cr_assert_str_eq(te.class_names[0], "airplane");
    kb_dataset_free(&tr);
    kb_dataset_free(&te);
    cr_assert_eq(kb_dataset_open(&tr, &te, "cifar10", sub, &err), 0, "%s", err.msg);
    kb_dataset_free(&tr);
    kb_dataset_free(&te);
    free(sub);
}

Test(cifar, cifar100_fine_labels_and_names)
{
    size_t len;
    uint8_t *r = records(&len, 0, 150, 2, 100);
    free(td_write(dir, "train.bin", r, len));
    free(r);
    r = records(&len, 7, 5, 2, 100);
    free(td_write_gz(dir, "test.bin", r, len)); /* gzipped batches work too */
    free(r);
    char names[2000] = "";
    for (int k = 0; k < 100; k++) {
        char line[32];
        snprintf(line, sizeof line, "class_%02d\r\n", k);
        strcat(names, line);
    }
    free(td_write(dir, "fine_label_names.txt", names, strlen(names)));
    struct kb_dataset tr = {0}, te = {0};
    struct kb_error err = {0};
    cr_assert_eq(kb_dataset_open(&tr, &te, "cifar100", dir, &err), 0, "%s", err.msg);
    check(&tr, 0, 150, 100);
    check(&te, 7, 5, 100);
    cr_assert_str_eq(tr.class_names[42], "class_42");
    kb_dataset_free(&tr);
    kb_dataset_free(&te);
}

static void expect_fail(const void *data, size_t len, unsigned lb, uint32_t k,
                        struct kb_error *err)
{
    char *p = td_write(dir, "batch.bin", data, len);
    const char *paths[] = { p };
    struct kb_dataset ds = {0};
    cr_assert_eq(kb_dataset_load_cifar(&ds, paths, 1, lb, k, err), -1);
    cr_assert_null(ds.images);
    free(p);
}

Test(cifar, size_not_multiple_of_record)
{
    size_t len;
    uint8_t *r = records(&len, 0, 3, 1, 10);
    struct kb_error err = {0};
    expect_fail(r, len - 1, 1, 10, &err);
    ASSERT_MSG(err, "batch.bin: 9218 bytes is not a whole number of 3073-byte records");
    expect_fail(r, 0, 1, 10, &err);
    ASSERT_MSG(err, "batch.bin: 0 bytes");
    free(r);
}

Test(cifar, label_out_of_range)
{
    size_t len;
    uint8_t *r = records(&len, 0, 3, 1, 10);
    r[2 * 3073] = 10;
    struct kb_error err = {0};
    expect_fail(r, len, 1, 10, &err);
    ASSERT_MSG(err, "batch.bin: record 2 (byte offset 6146): label 10 is out of range; "
                    "expected 0..9");
    free(r);
    r = records(&len, 0, 2, 2, 100);
    r[3074] = 20; /* coarse label of record 1 */
    expect_fail(r, len, 2, 100, &err);
    ASSERT_MSG(err, "coarse label 20 is out of range; expected 0..19");
    free(r);
}

Test(cifar, bad_names_file_and_missing_batch)
{
    size_t len;
    uint8_t *r = records(&len, 0, 2, 1, 10);
    for (int b = 1; b <= 5; b++) {
        char name[32];
        snprintf(name, sizeof name, "data_batch_%d.bin", b);
        free(td_write(dir, name, r, len));
    }
    struct kb_dataset tr = {0}, te = {0};
    struct kb_error err = {0};
    cr_assert_eq(kb_dataset_open(&tr, &te, "cifar10", dir, &err), -1);
    ASSERT_MSG(err, "test_batch.bin: cannot open");
    free(td_write(dir, "test_batch.bin", r, len));
    const char *meta = "a\nb\nc\n";
    free(td_write(dir, "batches.meta.txt", meta, strlen(meta)));
    cr_assert_eq(kb_dataset_open(&tr, &te, "cifar10", dir, &err), -1);
    ASSERT_MSG(err, "batches.meta.txt: 3 class names; expected exactly 10");
    cr_assert_null(tr.images);
    /* without the names file, CIFAR-10's own names */
    char *m = td_path(dir, "batches.meta.txt");
    remove(m);
    free(m);
    cr_assert_eq(kb_dataset_open(&tr, &te, "cifar10", dir, &err), 0, "%s", err.msg);
    cr_assert_str_eq(tr.class_names[1], "automobile");
    cr_assert_eq(tr.n, 10);
    kb_dataset_free(&tr);
    kb_dataset_free(&te);
    free(r);
}

/* IDX loader: round trips (plain and gzipped) and corrupt/inconsistent files. */
#include <criterion/criterion.h>
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

TestSuite(idx, .init = setup, .fini = teardown);

#define ASSERT_MSG(err, s) \
    cr_assert(strstr((err).msg, (s)), "message lacks '%s': %s", (s), (err).msg)

static void check_pattern(const struct kb_dataset *ds, uint32_t n, uint32_t h, uint32_t w,
                          uint32_t k)
{
    cr_assert_eq(ds->n, n);
    cr_assert_eq(ds->h, h);
    cr_assert_eq(ds->w, w);
    cr_assert_eq(ds->c, 1);
    cr_assert_eq(ds->n_classes, k);
    for (uint32_t i = 0; i < n; i++) {
        cr_assert_eq(ds->labels[i], i % k);
        const uint8_t *im = kb_dataset_image(ds, i);
        for (uint32_t y = 0; y < h; y++)
            for (uint32_t x = 0; x < w; x++)
                cr_assert_eq(im[y * w + x], (uint8_t)((i * 7 + y * 3 + x) & 255),
                             "pixel (%u,%u,%u)", i, y, x);
    }
}

Test(idx, roundtrip_plain)
{
    size_t li, ll;
    uint8_t *im = td_idx_images(&li, 13, 5, 4), *lb = td_idx_labels(&ll, 13, 10);
    char *pi = td_write(dir, "i", im, li), *pl = td_write(dir, "l", lb, ll);
    struct kb_dataset ds = {0};
    struct kb_error err = {0};
    cr_assert_eq(kb_dataset_load_idx(&ds, pi, pl, 10, &err), 0, "%s", err.msg);
    check_pattern(&ds, 13, 5, 4, 10);
    cr_assert_str_eq(ds.class_names[3], "3");
    kb_dataset_free(&ds);
    cr_assert_null(ds.images);
    free(im), free(lb), free(pi), free(pl);
}

Test(idx, roundtrip_gzip_and_inferred_classes)
{
    size_t li, ll;
    uint8_t *im = td_idx_images(&li, 300, 7, 9), *lb = td_idx_labels(&ll, 300, 4);
    char *pi = td_write_gz(dir, "i.gz", im, li), *pl = td_write_gz(dir, "l.gz", lb, ll);
    struct kb_dataset ds = {0};
    struct kb_error err = {0};
    cr_assert_eq(kb_dataset_load_idx(&ds, pi, pl, 0, &err), 0, "%s", err.msg);
    check_pattern(&ds, 300, 7, 9, 4);
    kb_dataset_free(&ds);
    free(im), free(lb), free(pi), free(pl);
}

/* open("mnist" / "idx", DIR) with the standard file names, mixed gz/plain. */
Test(idx, open_named_folder)
{
    size_t a, b, c, d;
    uint8_t *ti = td_idx_images(&a, 50, 6, 6), *tl = td_idx_labels(&b, 50, 10);
    uint8_t *vi = td_idx_images(&c, 20, 6, 6), *vl = td_idx_labels(&d, 20, 10);
    free(td_write_gz(dir, "train-images-idx3-ubyte.gz", ti, a));
    free(td_write(dir, "train-labels-idx1-ubyte", tl, b));
    free(td_write(dir, "t10k-images-idx3-ubyte", vi, c));
    free(td_write_gz(dir, "t10k-labels-idx1-ubyte.gz", vl, d));
    struct kb_dataset tr = {0}, te = {0};
    struct kb_error err = {0};
    cr_assert_eq(kb_dataset_open(&tr, &te, "mnist", dir, &err), 0, "%s", err.msg);
    check_pattern(&tr, 50, 6, 6, 10);
    check_pattern(&te, 20, 6, 6, 10);
    kb_dataset_free(&tr);
    kb_dataset_free(&te);
    cr_assert_eq(kb_dataset_open(&tr, &te, "idx", dir, &err), 0, "%s", err.msg);
    cr_assert_eq(tr.n_classes, 10);
    kb_dataset_free(&tr);
    kb_dataset_free(&te);
    /* fashion-mnist names */
    cr_assert_eq(kb_dataset_open(&tr, &te, "fashion-mnist", dir, &err), 0, "%s", err.msg);
    cr_assert_str_eq(tr.class_names[0], "T-shirt/top");
    cr_assert_str_eq(te.class_names[9], "Ankle boot");
    kb_dataset_free(&tr);
    kb_dataset_free(&te);
    free(ti), free(tl), free(vi), free(vl);
}

Test(idx, open_missing_file_and_unknown_name)
{
    struct kb_dataset tr = {0}, te = {0};
    struct kb_error err = {0};
    cr_assert_eq(kb_dataset_open(&tr, &te, "mnist", dir, &err), -1);
    ASSERT_MSG(err, "train-images-idx3-ubyte");
    cr_assert_eq(kb_dataset_open(&tr, &te, "fashion_mnist", dir, &err), -1);
    ASSERT_MSG(err, "unknown dataset 'fashion_mnist'");
    ASSERT_MSG(err, "fashion-mnist");
    cr_assert_eq(kb_dataset_open(&tr, &te, "idx", NULL, &err), -1);
    ASSERT_MSG(err, "path is required");
    cr_assert_null(tr.images);
}

/* Load images+labels written from the given bytes; expect failure. */
static void expect_fail(const void *im, size_t li, const void *lb, size_t ll, bool gz,
                        uint32_t k, struct kb_error *err)
{
    char *pi = gz ? td_write_gz(dir, "imgs.gz", im, li) : td_write(dir, "imgs", im, li);
    char *pl = td_write(dir, "labs", lb, ll);
    struct kb_dataset ds = {0};
    cr_assert_eq(kb_dataset_load_idx(&ds, pi, pl, k, err), -1, "loaded a bad file");
    cr_assert_null(ds.images);
    cr_assert_eq(ds.n, 0);
    free(pi), free(pl);
}

Test(idx, truncated_header)
{
    size_t li, ll;
    uint8_t *im = td_idx_images(&li, 3, 2, 2), *lb = td_idx_labels(&ll, 3, 2);
    struct kb_error err = {0};
    expect_fail(im, 10, lb, ll, false, 0, &err);
    ASSERT_MSG(err, "imgs: truncated");
    ASSERT_MSG(err, "IDX dimensions");
    free(im), free(lb);
}

Test(idx, truncated_data_plain)
{
    size_t li, ll;
    uint8_t *im = td_idx_images(&li, 3, 2, 2), *lb = td_idx_labels(&ll, 3, 2);
    struct kb_error err = {0};
    expect_fail(im, li - 1, lb, ll, false, 0, &err);
    ASSERT_MSG(err, "imgs: file has 27 bytes; expected 28");
    ASSERT_MSG(err, "3 images of 2x2 pixels");
    free(im), free(lb);
}

Test(idx, extra_data_plain)
{
    size_t li, ll;
    uint8_t *im = td_idx_images(&li, 3, 2, 2), *lb = td_idx_labels(&ll, 3, 2);
    uint8_t *big = calloc(1, li + 5);
    memcpy(big, im, li);
    struct kb_error err = {0};
    expect_fail(big, li + 5, lb, ll, false, 0, &err);
    ASSERT_MSG(err, "extra data");
    free(im), free(lb), free(big);
}

Test(idx, truncated_data_gzip)
{
    size_t li, ll;
    uint8_t *im = td_idx_images(&li, 40, 8, 8), *lb = td_idx_labels(&ll, 40, 2);
    struct kb_error err = {0};
    expect_fail(im, li - 100, lb, ll, true, 0, &err);
    ASSERT_MSG(err, "imgs.gz: truncated");
    ASSERT_MSG(err, "expected 2560 bytes of 40 images of 8x8 pixels");
    free(im), free(lb);
}

Test(idx, truncated_gzip_stream)
{
    size_t li, ll;
    uint8_t *im = td_idx_images(&li, 40, 8, 8), *lb = td_idx_labels(&ll, 40, 2);
    char *pg = td_write_gz(dir, "full.gz", im, li);
    uint8_t *gzb = NULL;
    size_t gzn = 0;
    struct kb_error err = {0};
    cr_assert_eq(kb_file_read_all(pg, 1 << 20, &gzb, &gzn, &err), 0);
    char *pi = td_write(dir, "cut.gz", gzb, gzn / 2);
    char *pl = td_write(dir, "labs", lb, ll);
    struct kb_dataset ds = {0};
    cr_assert_eq(kb_dataset_load_idx(&ds, pi, pl, 0, &err), -1);
    ASSERT_MSG(err, "cut.gz: ");
    cr_assert(strstr(err.msg, "truncated"), "%s", err.msg);
    free(im), free(lb), free(pg), free(gzb), free(pi), free(pl);
}

Test(idx, wrong_magic)
{
    size_t li, ll;
    uint8_t *im = td_idx_images(&li, 3, 2, 2), *lb = td_idx_labels(&ll, 3, 2);
    struct kb_error err = {0};
    /* the labels file given as images */
    expect_fail(lb, ll, lb, ll, false, 0, &err);
    ASSERT_MSG(err, "imgs: wrong magic number 0x00000801");
    ASSERT_MSG(err, "expected 0x00000803");
    /* not an IDX file at all */
    expect_fail("hello, world, this is text", 26, lb, ll, false, 0, &err);
    ASSERT_MSG(err, "not an IDX file");
    /* element type float (0x0D) */
    im[2] = 0x0d;
    expect_fail(im, li, lb, ll, false, 0, &err);
    ASSERT_MSG(err, "not unsigned byte");
    free(im), free(lb);
}

Test(idx, wrong_dimension_count)
{
    size_t li, ll;
    uint8_t *im = td_idx_images(&li, 3, 2, 2), *lb = td_idx_labels(&ll, 3, 2);
    im[3] = 2;
    struct kb_error err = {0};
    expect_fail(im, li, lb, ll, false, 0, &err);
    ASSERT_MSG(err, "wrong number of IDX dimensions");
    ASSERT_MSG(err, "3 dimensions");
    free(im), free(lb);
}

Test(idx, label_count_mismatch)
{
    size_t li, ll;
    uint8_t *im = td_idx_images(&li, 60, 2, 2), *lb = td_idx_labels(&ll, 59, 2);
    struct kb_error err = {0};
    expect_fail(im, li, lb, ll, true, 0, &err);
    ASSERT_MSG(err, "labs: 59 labels but 60 images in");
    ASSERT_MSG(err, "imgs.gz");
    free(im), free(lb);
}

Test(idx, label_out_of_range)
{
    size_t li, ll;
    uint8_t *im = td_idx_images(&li, 12, 2, 2), *lb = td_idx_labels(&ll, 12, 11);
    struct kb_error err = {0};
    expect_fail(im, li, lb, ll, false, 10, &err);
    ASSERT_MSG(err, "labs: label 10 at index 10");
    ASSERT_MSG(err, "expected 0..9");
    free(im), free(lb);
}

Test(idx, gzip_garbage)
{
    uint8_t junk[200];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (uint8_t)(i * 37 + 11);
    junk[0] = 0x1f;
    junk[1] = 0x8b;
    size_t ll;
    uint8_t *lb = td_idx_labels(&ll, 3, 2);
    struct kb_error err = {0};
    expect_fail(junk, sizeof junk, lb, ll, false, 0, &err);
    ASSERT_MSG(err, "imgs: ");
    ASSERT_MSG(err, "gzip");
    free(lb);
}

/* A header that claims a huge set in a tiny file fails before allocating. */
Test(idx, huge_header_small_file)
{
    size_t li, ll;
    uint8_t *im = td_idx_images(&li, 1, 2, 2), *lb = td_idx_labels(&ll, 1, 2);
    im[4] = 0x7f; /* N = 0x7f000001 */
    struct kb_error err = {0};
    expect_fail(im, li, lb, ll, false, 0, &err);
    ASSERT_MSG(err, "expected 1..2000000000 images");
    im[4] = 0;
    im[8] = 0x01; /* H = 0x01000002 */
    expect_fail(im, li, lb, ll, false, 0, &err);
    ASSERT_MSG(err, "sides 1..16384");
    im[8] = 0;
    im[5] = 0x10; /* N = 0x00100001 (1M), file has 1 image */
    expect_fail(im, li, lb, ll, true, 0, &err);
    cr_assert(strstr(err.msg, "truncated") || strstr(err.msg, "more than"), "%s", err.msg);
    im[5] = 0;
    im[7] = 0; /* N = 0 */
    expect_fail(im, 16, lb, ll, false, 0, &err);
    ASSERT_MSG(err, "0 images");
    free(im), free(lb);
}

Test(idx, not_a_file)
{
    size_t ll;
    uint8_t *lb = td_idx_labels(&ll, 3, 2);
    char *pl = td_write(dir, "labs", lb, ll);
    struct kb_dataset ds = {0};
    struct kb_error err = {0};
    cr_assert_eq(kb_dataset_load_idx(&ds, dir, pl, 0, &err), -1);
    ASSERT_MSG(err, "not a regular file");
    char *missing = td_path(dir, "nope");
    cr_assert_eq(kb_dataset_load_idx(&ds, missing, pl, 0, &err), -1);
    ASSERT_MSG(err, "nope: cannot open");
    free(lb), free(pl), free(missing);
}

Test(idx, corrupt_deflate_data)
{
    size_t li, ll;
    uint8_t *im = td_idx_images(&li, 400, 16, 16), *lb = td_idx_labels(&ll, 400, 2);
    for (size_t i = 16; i < li; i++)
        im[i] = (uint8_t)(i * 2654435761u >> 13); /* poorly compressible */
    char *pg = td_write_gz(dir, "full.gz", im, li);
    uint8_t *gzb = NULL;
    size_t gzn = 0;
    struct kb_error err = {0};
    cr_assert_eq(kb_file_read_all(pg, 1 << 24, &gzb, &gzn, &err), 0);
    for (size_t i = gzn / 2; i < gzn / 2 + 64; i++)
        gzb[i] ^= 0xa5;
    char *pi = td_write(dir, "bad.gz", gzb, gzn);
    char *pl = td_write(dir, "labs", lb, ll);
    struct kb_dataset ds = {0};
    cr_assert_eq(kb_dataset_load_idx(&ds, pi, pl, 0, &err), -1);
    ASSERT_MSG(err, "bad.gz: ");
    ASSERT_MSG(err, "gzip");
    cr_assert_null(ds.images);
    free(im), free(lb), free(pg), free(gzb), free(pi), free(pl);
}

/* `idx` infers the class count; when train and test disagree (test holds only
 * labels 0 and 1) both get the larger count and names "0".."9". Replacing the
 * smaller set's names once freed the old array with the new count (ASan). */
Test(idx, inferred_class_counts_differ_between_train_and_test)
{
    size_t a, b, c, d;
    uint8_t *ti = td_idx_images(&a, 30, 4, 4), *tl = td_idx_labels(&b, 30, 10);
    uint8_t *vi = td_idx_images(&c, 6, 4, 4), *vl = td_idx_labels(&d, 6, 2);
    free(td_write(dir, "train-images-idx3-ubyte", ti, a));
    free(td_write(dir, "train-labels-idx1-ubyte", tl, b));
    free(td_write(dir, "t10k-images-idx3-ubyte", vi, c));
    free(td_write(dir, "t10k-labels-idx1-ubyte", vl, d));
    struct kb_dataset tr = {0}, te = {0};
    struct kb_error err = {0};
    cr_assert_eq(kb_dataset_open(&tr, &te, "idx", dir, &err), 0, "%s", err.msg);
    cr_assert_eq(tr.n_classes, 10);
    cr_assert_eq(te.n_classes, 10);
    cr_assert_str_eq(te.class_names[9], "9");
    cr_assert_str_eq(te.class_names[1], "1");
    kb_dataset_free(&tr);
    kb_dataset_free(&te);
    free(ti), free(tl), free(vi), free(vl);
}

/* PNG read/write (image.h) and PNG-folder datasets. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include <keybench/dataset.h>
#include <keybench/image.h>

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

TestSuite(png, .init = setup, .fini = teardown);
TestSuite(pngdir, .init = setup, .fini = teardown);

#define ASSERT_MSG(err, s) \
    cr_assert(strstr((err).msg, (s)), "message lacks '%s': %s", (s), (err).msg)

static uint8_t *pattern(uint32_t h, uint32_t w, uint32_t c, uint32_t seed)
{
    uint8_t *p = malloc((size_t)h * w * c);
    for (size_t i = 0; i < (size_t)h * w * c; i++)
        p[i] = (uint8_t)(i * 31 + seed * 17 + (i >> 5));
    return p;
}

Test(png, roundtrip_gray_rgb)
{
    struct kb_error err = {0};
    for (uint32_t c = 1; c <= 3; c += 2) {
        uint8_t *p = pattern(17, 23, c, c);
        char *path = td_path(dir, c == 1 ? "g.png" : "rgb.png");
        cr_assert_eq(kb_png_write(path, p, 17, 23, c, &err), 0, "%s", err.msg);
        struct kb_image img = {0};
        cr_assert_eq(kb_png_read(&img, path, &err), 0, "%s", err.msg);
        cr_assert_eq(img.h, 17);
        cr_assert_eq(img.w, 23);
        cr_assert_eq(img.c, c);
        cr_assert_eq(memcmp(img.pixels, p, 17 * 23 * c), 0);
        kb_image_free(&img);
        cr_assert_null(img.pixels);
        free(p);
        free(path);
    }
    /* atomic: no temp files left behind, only the two PNGs */
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    cr_assert_eq(n, 2);
}

Test(png, write_errors)
{
    struct kb_error err = {0};
    uint8_t px[12] = {0};
    cr_assert_eq(kb_png_write("/nonexistent-dir/x.png", px, 2, 2, 3, &err), -1);
    ASSERT_MSG(err, "/nonexistent-dir/x.png");
    char *p = td_path(dir, "four.png");
    cr_assert_eq(kb_png_write(p, px, 1, 3, 4, &err), -1);
    ASSERT_MSG(err, "expected 1 (gray) or 3 (RGB)");
    free(p);
}

Test(png, rgba_gray_alpha_palette_interlaced)
{
    struct kb_error err = {0};
    struct kb_image img = {0};
    /* RGBA 3×2: alpha is dropped */
    uint8_t rgba[2 * 3 * 4];
    for (int i = 0; i < 24; i++)
        rgba[i] = (uint8_t)(i * 10);
    char *p = td_path(dir, "rgba.png");
    td_png_raw(p, 3, 2, 8, PNG_COLOR_TYPE_RGB_ALPHA, 0, rgba, 12, NULL, 0);
    cr_assert_eq(kb_png_read(&img, p, &err), 0, "%s", err.msg);
    cr_assert_eq(img.c, 3);
    for (int q = 0; q < 6; q++)
        for (int ch = 0; ch < 3; ch++)
            cr_assert_eq(img.pixels[3 * q + ch], rgba[4 * q + ch]);
    kb_image_free(&img);
    free(p);
    /* gray + alpha */
    uint8_t ga[2 * 2 * 2] = {1, 255, 2, 0, 3, 9, 4, 9};
    p = td_path(dir, "ga.png");
    td_png_raw(p, 2, 2, 8, PNG_COLOR_TYPE_GRAY_ALPHA, 0, ga, 4, NULL, 0);
    cr_assert_eq(kb_png_read(&img, p, &err), 0, "%s", err.msg);
    cr_assert_eq(img.c, 1);
    cr_assert_eq(memcmp(img.pixels, (uint8_t[]){1, 2, 3, 4}, 4), 0);
    kb_image_free(&img);
    free(p);
    /* 4-bit palette, 3×1: indices 0,1,2 packed two per byte */
    uint8_t pal[9] = {10, 20, 30, 40, 50, 60, 70, 80, 90};
    uint8_t prow[2] = {0x01, 0x20};
    p = td_path(dir, "pal.png");
    td_png_raw(p, 3, 1, 4, PNG_COLOR_TYPE_PALETTE, 0, prow, 2, pal, 3);
    cr_assert_eq(kb_png_read(&img, p, &err), 0, "%s", err.msg);
    cr_assert_eq(img.c, 3);
    cr_assert_eq(img.w, 3);
    cr_assert_eq(memcmp(img.pixels, pal, 9), 0);
    kb_image_free(&img);
    free(p);
    /* interlaced RGB 19×13 */
    uint8_t *rgb = pattern(13, 19, 3, 5);
    p = td_path(dir, "inter.png");
    td_png_raw(p, 19, 13, 8, PNG_COLOR_TYPE_RGB, 1, rgb, 19 * 3, NULL, 0);
    cr_assert_eq(kb_png_read(&img, p, &err), 0, "%s", err.msg);
    cr_assert_eq(img.h, 13);
    cr_assert_eq(memcmp(img.pixels, rgb, 13 * 19 * 3), 0);
    kb_image_free(&img);
    free(p);
    free(rgb);
}

Test(png, refuses_16bit_and_low_bit_gray)
{
    struct kb_error err = {0};
    struct kb_image img = {0};
    uint8_t rows[64] = {0};
    char *p = td_path(dir, "deep.png");
    td_png_raw(p, 2, 2, 16, PNG_COLOR_TYPE_RGB, 0, rows, 12, NULL, 0);
    cr_assert_eq(kb_png_read(&img, p, &err), -1);
    ASSERT_MSG(err, "deep.png: 16-bit samples");
    ASSERT_MSG(err, "expected 8-bit");
    cr_assert_null(img.pixels);
    free(p);
    p = td_path(dir, "bits.png");
    td_png_raw(p, 8, 2, 1, PNG_COLOR_TYPE_GRAY, 0, rows, 1, NULL, 0);
    cr_assert_eq(kb_png_read(&img, p, &err), -1);
    ASSERT_MSG(err, "bits.png: 1-bit grayscale");
    free(p);
}

Test(png, not_png_truncated_corrupt)
{
    struct kb_error err = {0};
    struct kb_image img = {0};
    char *p = td_write(dir, "text.png", "just some text, not a png", 25);
    cr_assert_eq(kb_png_read(&img, p, &err), -1);
    ASSERT_MSG(err, "text.png: not a PNG file");
    ASSERT_MSG(err, "PNG signature");
    free(p);
    /* a good PNG, cut in half */
    uint8_t *rgb = pattern(20, 20, 3, 1);
    p = td_path(dir, "good.png");
    cr_assert_eq(kb_png_write(p, rgb, 20, 20, 3, &err), 0, "%s", err.msg);
    uint8_t *bytes = NULL;
    size_t n = 0;
    cr_assert_eq(kb_file_read_all(p, 1 << 20, &bytes, &n, &err), 0);
    char *cut = td_write(dir, "cut.png", bytes, n / 2);
    cr_assert_eq(kb_png_read(&img, cut, &err), -1);
    ASSERT_MSG(err, "cut.png: corrupt PNG");
    ASSERT_MSG(err, "truncated");
    /* a header claiming 60000x60000 (CRC fixed up) in a small file: refused before allocating */
    {
        uint8_t *big = malloc(n);
        memcpy(big, bytes, n);
        uint8_t dim[4] = {0, 0, 0xea, 0x60};
        memcpy(big + 16, dim, 4);
        memcpy(big + 20, dim, 4);
        uLong crc = crc32(0, big + 12, 17);
        big[29] = (uint8_t)(crc >> 24), big[30] = (uint8_t)(crc >> 16);
        big[31] = (uint8_t)(crc >> 8), big[32] = (uint8_t)crc;
        char *hp = td_write(dir, "huge.png", big, n);
        cr_assert_eq(kb_png_read(&img, hp, &err), -1);
        ASSERT_MSG(err, "huge.png: header claims 60000x60000 pixels");
        free(hp), free(big);
    }
    /* flip a byte inside the IHDR: CRC error */
    bytes[20] ^= 0x55;
    char *bad = td_write(dir, "crc.png", bytes, n);
    cr_assert_eq(kb_png_read(&img, bad, &err), -1);
    ASSERT_MSG(err, "crc.png: corrupt PNG");
    cr_assert_null(img.pixels);
    free(p), free(cut), free(bad), free(bytes), free(rgb);
}

/* Write DIR/sub/cls/name.png as c-channel h×w via kb_png_write. */
static void put(const char *root, const char *cls, const char *name, uint32_t h, uint32_t w,
                uint32_t c, uint32_t seed)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", root, cls);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/%s/%s", root, cls, name);
    uint8_t *p = pattern(h, w, c, seed);
    struct kb_error err = {0};
    cr_assert_eq(kb_png_write(path, p, h, w, c, &err), 0, "%s", err.msg);
    free(p);
}

Test(pngdir, classes_sorted_labels_and_pixels)
{
    put(dir, "zebra", "b.png", 4, 6, 3, 1);
    put(dir, "zebra", "a.png", 4, 6, 3, 2);
    put(dir, "ant", "x.png", 4, 6, 3, 3);
    put(dir, "mole", "y.PNG", 4, 6, 3, 4);
    free(td_write(dir, "README.txt", "hi", 2));
    char *zdir = td_path(dir, "zebra");
    free(td_write(zdir, "notes.txt", "ignored", 7));
    free(zdir);
    /* a palette RGB image via libpng directly counts as 3 channels */
    char *pp = td_path(dir, "mole/z.png");
    uint8_t pal[6] = {1, 2, 3, 4, 5, 6};
    uint8_t idxs[4 * 6];
    for (int i = 0; i < 24; i++)
        idxs[i] = (uint8_t)(i & 1);
    td_png_raw(pp, 6, 4, 8, PNG_COLOR_TYPE_PALETTE, 0, idxs, 6, pal, 2);
    free(pp);
    struct kb_dataset ds = {0};
    struct kb_error err = {0};
    cr_assert_eq(kb_dataset_load_png_dir(&ds, dir, &err), 0, "%s", err.msg);
    cr_assert_eq(ds.n, 5);
    cr_assert_eq(ds.n_classes, 3);
    cr_assert_str_eq(ds.class_names[0], "ant");
    cr_assert_str_eq(ds.class_names[1], "mole");
    cr_assert_str_eq(ds.class_names[2], "zebra");
    uint32_t want[5] = {0, 1, 1, 2, 2};
    for (int i = 0; i < 5; i++)
        cr_assert_eq(ds.labels[i], want[i]);
    /* zebra/a.png (seed 2) comes before zebra/b.png (seed 1) */
    uint8_t *p2 = pattern(4, 6, 3, 2);
    cr_assert_eq(memcmp(kb_dataset_image(&ds, 3), p2, 72), 0);
    cr_assert_eq(kb_dataset_image(&ds, 2)[3], 4); /* palette entry 1 = (4,5,6) */
    free(p2);
    kb_dataset_free(&ds);
}

Test(pngdir, gray_and_gray_alpha_mix_is_fine)
{
    put(dir, "a", "1.png", 5, 5, 1, 1);
    char *pp = td_path(dir, "a/2.png");
    uint8_t ga[50] = {0};
    td_png_raw(pp, 5, 5, 8, PNG_COLOR_TYPE_GRAY_ALPHA, 0, ga, 10, NULL, 0);
    free(pp);
    put(dir, "b", "1.png", 5, 5, 1, 2);
    struct kb_dataset ds = {0};
    struct kb_error err = {0};
    cr_assert_eq(kb_dataset_load_png_dir(&ds, dir, &err), 0, "%s", err.msg);
    cr_assert_eq(ds.c, 1);
    cr_assert_eq(ds.n, 3);
    kb_dataset_free(&ds);
}

Test(pngdir, mixed_sizes)
{
    put(dir, "a", "1.png", 8, 8, 3, 1);
    put(dir, "b", "1.png", 8, 8, 3, 1);
    put(dir, "b", "2.png", 8, 7, 3, 1);
    struct kb_dataset ds = {0};
    struct kb_error err = {0};
    cr_assert_eq(kb_dataset_load_png_dir(&ds, dir, &err), -1);
    ASSERT_MSG(err, "b/2.png: image is 8x7x3 (HxWxC); expected 8x8x3 like ");
    ASSERT_MSG(err, "a/1.png");
    cr_assert_null(ds.images);
}

Test(pngdir, mixed_channels)
{
    put(dir, "a", "1.png", 8, 8, 3, 1);
    put(dir, "a", "2.png", 8, 8, 1, 1);
    struct kb_dataset ds = {0};
    struct kb_error err = {0};
    cr_assert_eq(kb_dataset_load_png_dir(&ds, dir, &err), -1);
    ASSERT_MSG(err, "a/2.png: image is 8x8x1");
}

Test(pngdir, empty_class_and_no_classes)
{
    struct kb_dataset ds = {0};
    struct kb_error err = {0};
    cr_assert_eq(kb_dataset_load_png_dir(&ds, dir, &err), -1);
    ASSERT_MSG(err, "no class sub-folders");
    put(dir, "a", "1.png", 4, 4, 1, 1);
    td_mkdir(dir, "empty");
    cr_assert_eq(kb_dataset_load_png_dir(&ds, dir, &err), -1);
    ASSERT_MSG(err, "/empty: class folder 'empty' has no .png files");
}

Test(pngdir, bad_png_inside)
{
    put(dir, "a", "1.png", 4, 4, 1, 1);
    char *cdir = td_path(dir, "a");
    free(td_write(cdir, "2.png", "GIF89a....", 10));
    struct kb_dataset ds = {0};
    struct kb_error err = {0};
    cr_assert_eq(kb_dataset_load_png_dir(&ds, dir, &err), -1);
    ASSERT_MSG(err, "a/2.png: not a PNG file");
    free(cdir);
}

Test(pngdir, open_train_test_layout)
{
    td_mkdir(dir, "train");
    td_mkdir(dir, "test");
    char *tr = td_path(dir, "train"), *te = td_path(dir, "test");
    put(tr, "cat", "1.png", 6, 6, 3, 1);
    put(tr, "cat", "2.png", 6, 6, 3, 2);
    put(tr, "dog", "1.png", 6, 6, 3, 3);
    put(te, "cat", "1.png", 6, 6, 3, 4);
    put(te, "dog", "1.png", 6, 6, 3, 5);
    struct kb_dataset a = {0}, b = {0};
    struct kb_error err = {0};
    cr_assert_eq(kb_dataset_open(&a, &b, "png", dir, &err), 0, "%s", err.msg);
    cr_assert_eq(a.n, 3);
    cr_assert_eq(b.n, 2);
    cr_assert_str_eq(b.class_names[1], "dog");
    kb_dataset_free(&a);
    kb_dataset_free(&b);
    /* test classes differ from train's */
    put(te, "emu", "1.png", 6, 6, 3, 5);
    cr_assert_eq(kb_dataset_open(&a, &b, "png", dir, &err), -1);
    ASSERT_MSG(err, "3 classes but");
    cr_assert_null(a.images);
    free(tr), free(te);
}

Test(pngdir, open_flat_layout)
{
    put(dir, "cat", "1.png", 6, 6, 1, 1);
    put(dir, "dog", "1.png", 6, 6, 1, 2);
    struct kb_dataset a = {0}, b = {0};
    struct kb_error err = {0};
    cr_assert_eq(kb_dataset_open(&a, &b, "png", dir, &err), 0, "%s", err.msg);
    cr_assert_eq(a.n, 2);
    cr_assert_eq(b.n, 0);
    cr_assert_eq(b.n_classes, 2);
    cr_assert_eq(b.h, 6);
    cr_assert_str_eq(b.class_names[1], "dog");
    kb_dataset_free(&a);
    kb_dataset_free(&b);
}

#include <criterion/criterion.h>
#include <ftw.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "data_helpers.h"

char *td_tmpdir(void)
{
    char *t = strdup("/tmp/kb_data_test_XXXXXX");
    cr_assert_not_null(mkdtemp(t), "mkdtemp failed");
    return t;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(p);
}

void td_rmtree(const char *dir)
{
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

char *td_path(const char *dir, const char *name)
{
    char *p = NULL;
    cr_assert(asprintf(&p, "%s/%s", dir, name) > 0);
    return p;
}

char *td_write(const char *dir, const char *name, const void *data, size_t n)
{
    char *p = td_path(dir, name);
    FILE *f = fopen(p, "wb");
    cr_assert_not_null(f, "cannot write %s", p);
    if (n)
        cr_assert_eq(fwrite(data, 1, n, f), n);
    fclose(f);
    return p;
}

char *td_write_gz(const char *dir, const char *name, const void *data, size_t n)
{
    char *p = td_path(dir, name);
    gzFile g = gzopen(p, "wb6");
    cr_assert_not_null(g);
    cr_assert_eq(gzwrite(g, data, (unsigned)n), (int)n);
    gzclose(g);
    return p;
}

void td_mkdir(const char *dir, const char *name)
{
    char *p = td_path(dir, name);
    cr_assert_eq(mkdir(p, 0755), 0, "mkdir %s", p);
    free(p);
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

uint8_t *td_idx_images(size_t *len, uint32_t n, uint32_t h, uint32_t w)
{
    *len = 16 + (size_t)n * h * w;
    uint8_t *b = malloc(*len);
    put32(b, 0x803);
    put32(b + 4, n);
    put32(b + 8, h);
    put32(b + 12, w);
    uint8_t *px = b + 16;
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t y = 0; y < h; y++)
            for (uint32_t x = 0; x < w; x++)
                *px++ = (uint8_t)((i * 7 + y * 3 + x) & 255);
    return b;
}

uint8_t *td_idx_labels(size_t *len, uint32_t n, uint32_t n_classes)
{
    *len = 8 + (size_t)n;
    uint8_t *b = malloc(*len);
    put32(b, 0x801);
    put32(b + 4, n);
    for (uint32_t i = 0; i < n; i++)
        b[8 + i] = (uint8_t)(i % n_classes);
    return b;
}

void td_png_raw(const char *path, uint32_t w, uint32_t h, int bit_depth, int color_type,
                int interlace, const uint8_t *rows, size_t rowbytes, const uint8_t *palette,
                int n_pal)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "cannot write %s", path);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    cr_assert(png && info);
    if (setjmp(png_jmpbuf(png)))
        cr_assert_fail("libpng failed writing %s", path);
    png_init_io(png, f);
    png_set_IHDR(png, info, w, h, bit_depth, color_type,
                 interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (color_type == PNG_COLOR_TYPE_PALETTE) {
        png_color pal[256];
        for (int i = 0; i < n_pal; i++) {
            pal[i].red = palette[3 * i];
            pal[i].green = palette[3 * i + 1];
            pal[i].blue = palette[3 * i + 2];
        }
        png_set_PLTE(png, info, pal, n_pal);
    }
    png_write_info(png, info);
    png_bytep *rp = malloc(h * sizeof *rp);
    for (uint32_t y = 0; y < h; y++)
        rp[y] = (png_bytep)(uintptr_t)(rows + y * rowbytes);
    png_write_image(png, rp);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(rp);
    fclose(f);
}

/* tests/data/data_helpers.h — fixture writers shared by the data tests. */
#ifndef KB_TEST_DATA_HELPERS_H
#define KB_TEST_DATA_HELPERS_H

#include <stddef.h>
#include <stdint.h>

/* A fresh temp dir under /tmp (malloc'd path); aborts the test on failure. */
char *td_tmpdir(void);
/* Remove a directory tree. */
void td_rmtree(const char *dir);
/* "dir/name" in a malloc'd string. */
char *td_path(const char *dir, const char *name);
/* Write bytes to dir/name (plain or gzip); returns the malloc'd path. */
char *td_write(const char *dir, const char *name, const void *data, size_t n);
char *td_write_gz(const char *dir, const char *name, const void *data, size_t n);
void td_mkdir(const char *dir, const char *name);

/* IDX file bytes (malloc'd; *len set): images N×H×W with pixel (i,y,x) =
 * (i*7 + y*3 + x) & 255, or labels label[i] = i % n_classes. */
uint8_t *td_idx_images(size_t *len, uint32_t n, uint32_t h, uint32_t w);
uint8_t *td_idx_labels(size_t *len, uint32_t n, uint32_t n_classes);

/* A PNG written with libpng directly: any bit depth / color type. `rows`
 * holds h rows of packed samples as libpng expects them; palette (n_pal RGB
 * entries) used for PNG_COLOR_TYPE_PALETTE. */
void td_png_raw(const char *path, uint32_t w, uint32_t h, int bit_depth, int color_type,
                int interlace, const uint8_t *rows, size_t rowbytes, const uint8_t *palette,
                int n_pal);

#endif

/* Sample-image grids (keybench/samples.h): the part of `keybench samples` that
 * the runner shares, so the report can show every cell's images from its run
 * dir alone. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <keybench/samples.h>
#include <keybench/secret.h>

size_t kb_samples_pick(size_t *idx, const struct kb_dataset *ds, size_t n)
{
    if (n > ds->n)
        n = ds->n;
    uint8_t *used = calloc(ds->n ? ds->n : 1, 1);
    if (!used)
        return 0;
    for (size_t r = 0; r < n; r++) {
        uint32_t want = (uint32_t)(r % (ds->n_classes ? ds->n_classes : 1));
        size_t pick = ds->n;
        for (size_t i = 0; i < ds->n && pick == ds->n; i++)
            if (!used[i] && ds->labels[i] == want)
                pick = i;
        for (size_t i = 0; i < ds->n && pick == ds->n; i++) /* class exhausted: any unused */
            if (!used[i])
                pick = i;
        used[pick] = 1;
        idx[r] = pick;
    }
    free(used);
    return n;
}

void kb_samples_to_u8(uint8_t *out, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = !(x[i] > 0.0f) ? 0 : x[i] >= 1.0f ? 255 : (uint8_t)lrintf(x[i] * 255.0f);
}

uint32_t kb_samples_scale(const struct kb_image_shape *shape)
{
    return shape->h < 64 && shape->w < 64 ? 2u : 1u;
}

/* One grid cell: image `img` (h×w×c) magnified by `s` at row r, column col. */
static void put_cell(uint8_t *grid, uint32_t gw, const uint8_t *img,
                     const struct kb_image_shape *sh, uint32_t s, size_t r, size_t col)
{
    uint32_t ch = sh->h * s, cw = sh->w * s, C = sh->c;
    size_t y0 = KB_SAMPLES_PAD + r * (ch + KB_SAMPLES_PAD);
    size_t x0 = KB_SAMPLES_PAD + col * (cw + KB_SAMPLES_PAD);
    for (uint32_t y = 0; y < ch; y++)
        for (uint32_t x = 0; x < cw; x++)
            memcpy(grid + ((y0 + y) * gw + x0 + x) * C,
                   img + ((size_t)(y / s) * sh->w + x / s) * C, C);
}

int kb_samples_grid(struct kb_image *out, const uint8_t *const *strips, size_t n_strips,
                    size_t per_strip, bool strips_are_columns,
                    const struct kb_image_shape *shape, uint32_t scale, struct kb_error *err)
{
    size_t ncols = strips_are_columns ? n_strips : per_strip;
    size_t nrows = strips_are_columns ? per_strip : n_strips;
    uint64_t gw = KB_SAMPLES_PAD + (uint64_t)ncols * ((uint64_t)shape->w * scale + KB_SAMPLES_PAD);
    uint64_t gh = KB_SAMPLES_PAD + (uint64_t)nrows * ((uint64_t)shape->h * scale + KB_SAMPLES_PAD);
    if (gw > 65535 || gh > 65535)
        return kb_error_set(err, "a %llux%llu sample grid is too large; use fewer images or "
                            "scale 1", (unsigned long long)gw, (unsigned long long)gh);
    size_t image = (size_t)shape->h * shape->w * shape->c;
    uint8_t *grid = malloc((size_t)(gw * gh) * shape->c);
    if (!grid)
        return kb_error_set(err, "out of memory for a %llux%llu sample grid",
                            (unsigned long long)gw, (unsigned long long)gh);
    memset(grid, 255, (size_t)(gw * gh) * shape->c);
    for (size_t s = 0; s < n_strips; s++)
        for (size_t i = 0; i < per_strip; i++)
            put_cell(grid, (uint32_t)gw, strips[s] + i * image, shape, scale,
                     strips_are_columns ? i : s, strips_are_columns ? s : i);
    *out = (struct kb_image){ (uint32_t)gh, (uint32_t)gw, shape->c, grid };
    return 0;
}

/* A random key other than `key` (tiny key spaces: NP at M=2 on gray images
 * has 4 keys); false when 100 draws found none. */
static bool draw_wrong_key(const struct kb_transform_ops *ops, const void *state, void *wkey,
                           const void *key, size_t key_size, uint8_t *secret, struct kb_rng *rng)
{
    for (int tries = 0; tries < 100; tries++) {
        kb_rng_bytes(rng, secret, KB_SECRET_BYTES);
        ops->key_make(state, wkey, secret);
        if (memcmp(wkey, key, key_size) != 0)
            return true;
    }
    return false;
}

int kb_samples_cell(const char *path, const struct kb_dataset *ds,
                    const struct kb_plugin *transform, const void *state, const void *key,
                    size_t key_size, size_t n, struct kb_rng *rng, struct kb_error *err)
{
    const struct kb_transform_ops *ops = transform->ops;
    struct kb_image_shape shape = { ds->h, ds->w, ds->c };
    size_t image = kb_dataset_image_size(ds);
    size_t *idx = calloc(n ? n : 1, sizeof *idx);
    uint8_t *rows = NULL, *secret = kb_secret_alloc();
    void *wkey = kb_secret_alloc_size(key_size);
    float *y = NULL;
    struct kb_image grid = {0};
    int rc = -1;
    if (!idx || !secret || !wkey) {
        kb_error_set(err, "%s: out of memory", path);
        goto out;
    }
    n = kb_samples_pick(idx, ds, n);
    rows = malloc(3 * n * image + 1);
    y = malloc((n * image + 1) * sizeof *y);
    if (!rows || !y) {
        kb_error_set(err, "%s: out of memory", path);
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        memcpy(rows + i * image, kb_dataset_image(ds, idx[i]), image);
    ops->encrypt(state, key, y, rows, n);
    kb_samples_to_u8(rows + n * image, y, n * image);
    size_t n_rows = 2;
    if ((transform->caps & KB_CAP_KEYED) && ops->keyspace_bits(state) > 0 &&
        draw_wrong_key(ops, state, wkey, key, key_size, secret, rng)) {
        ops->decrypt(state, wkey, rows + 2 * n * image, y, n);
        n_rows = 3;
    }
    const uint8_t *strips[3] = { rows, rows + n * image, rows + 2 * n * image };
    if (kb_samples_grid(&grid, strips, n_rows, n, false, &shape, kb_samples_scale(&shape), err) < 0) {
        kb_error_prefix(err, "%s", path);
        goto out;
    }
    if (kb_png_write(path, grid.pixels, grid.h, grid.w, grid.c, err) < 0)
        goto out;
    rc = 0;
out:
    kb_image_free(&grid);
    kb_secret_free(secret);
    kb_secret_free(wkey);
    free(rows);
    free(y);
    free(idx);
    return rc;
}

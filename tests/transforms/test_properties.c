/* Structural properties of each transform, key-space sizes and the
 * block-size error. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <keybench/params.h>

#include "tx_helpers.h"

static uint8_t u8(float x) { return (uint8_t)lrintf(x * 255.0f); }

static int cmp_u8(const void *a, const void *b)
{
    return (int)*(const uint8_t *)a - (int)*(const uint8_t *)b;
}

/* v[0..L) := block b of img in in-block order k = (r·M + c)·C + ch. */
static void get_block(uint8_t *v, const uint8_t *img, uint32_t W, uint32_t C, uint32_t M, size_t b)
{
    size_t bw = W / M, by = b / bw, bx = b % bw, k = 0;
    for (uint32_t r = 0; r < M; r++)
        for (uint32_t c = 0; c < M; c++)
            for (uint32_t ch = 0; ch < C; ch++)
                v[k++] = img[((by * M + r) * W + bx * M + c) * C + ch];
}

static void encrypt_u8(const struct tx *t, const uint8_t *key, uint8_t *out, const uint8_t *in, size_t n)
{
    float *y = malloc(n * t->image * sizeof *y);
    t->ops->encrypt(t->state, key, y, in, n);
    for (size_t i = 0; i < n * t->image; i++) {
        out[i] = u8(y[i]);
        cr_assert_float_eq(y[i], (float)out[i] / 255.0f, 0, "values must be exactly k/255");
    }
    free(y);
}

Test(properties, none_is_x_over_255)
{
    struct tx t;
    struct kb_error err = {0};
    cr_assert_eq(tx_open(&t, "none", "", 28, 28, 1, &err), 0, "%s", err.msg);
    uint8_t *x = tx_images(&t, 1, 3), *k = tx_key(&t, 0);
    float y[784];
    t.ops->encrypt(t.state, k, y, x, 1);
    for (int i = 0; i < 784; i++)
        cr_assert_eq(y[i], (float)x[i] / 255.0f);
    cr_assert_eq(t.ops->keyspace_bits(t.state), 0.0);
    cr_assert_eq(t.plugin->caps & KB_CAP_KEYED, 0u);
    free(x);
    tx_key_free(k);
    tx_close(&t);
}

Test(properties, pixel_shuffle_rule_and_block_multiset)
{
    struct tx t;
    struct kb_error err = {0};
    cr_assert_eq(tx_open(&t, "pixel_shuffle", "block_size=4", 32, 32, 3, &err), 0, "%s", err.msg);
    uint8_t *x = tx_images(&t, 1, 5), *k = tx_key(&t, 4), *y = malloc(t.image);
    encrypt_u8(&t, k, y, x, 1);
    uint32_t K[48];
    memcpy(K, k, sizeof K);
    bool seen[48] = { false };
    for (int i = 0; i < 48; i++) {
        cr_assert(K[i] < 48 && !seen[K[i]], "key is a permutation");
        seen[K[i]] = true;
    }
    for (size_t b = 0; b < 64; b++) {
        uint8_t vi[48], vo[48];
        get_block(vi, x, 32, 3, 4, b);
        get_block(vo, y, 32, 3, 4, b);
        for (int j = 0; j < 48; j++)
            cr_assert_eq(vo[j], vi[K[j]], "block %zu index %d: out[k] = in[K[k]]", b, j);
        qsort(vi, 48, 1, cmp_u8);
        qsort(vo, 48, 1, cmp_u8);
        cr_assert_arr_eq(vi, vo, 48, "block %zu keeps its multiset", b);
    }
    free(x); free(y);
    tx_key_free(k);
    tx_close(&t);
}

Test(properties, negpos_rule_and_involution)
{
    const char *modes[] = { "block_size=4,bits=fixed", "block_size=2,bits=uniform" };
    for (int m = 0; m < 2; m++) {
        struct tx t;
        struct kb_error err = {0};
        cr_assert_eq(tx_open(&t, "negpos", modes[m], 32, 32, 3, &err), 0, "%s", err.msg);
        size_t L = t.ops->key_length(t.state);
        uint8_t *x = tx_images(&t, 2, 8), *k = tx_key(&t, 6);
        uint8_t *y = malloc(2 * t.image), *z = malloc(2 * t.image);
        encrypt_u8(&t, k, y, x, 2);
        encrypt_u8(&t, k, z, y, 2);
        cr_assert_arr_eq(z, x, 2 * t.image, "%s: NP∘NP = id on uint8", modes[m]);
        uint32_t M = m == 0 ? 4 : 2;
        for (size_t b = 0; b < (32 / M) * (32 / M); b++) {
            uint8_t vi[48], vo[48];
            get_block(vi, x, 32, 3, M, b);
            get_block(vo, y, 32, 3, M, b);
            for (size_t j = 0; j < L; j++)
                cr_assert_eq(vo[j], k[j] ? 255 - vi[j] : vi[j]);
        }
        cr_assert(t.plugin->caps & KB_CAP_INVOLUTION);
        free(x); free(y); free(z);
        tx_key_free(k);
        tx_close(&t);
    }
}

/* Whether block `o` equals block `in` under some dihedral op (when `geo`),
 * negation (when `neg`) and channel permutation (when `chan`, C = 3). */
static bool block_matches(const uint8_t *o, const uint8_t *in, uint32_t M, uint32_t C, bool geo,
                          bool neg, bool chan)
{
    static const uint8_t perms[6][3] = { {0,1,2}, {0,2,1}, {1,0,2}, {1,2,0}, {2,0,1}, {2,1,0} };
    int nperm = chan && C == 3 ? 6 : 1;
    for (int d = 0; d < (geo ? 8 : 1); d++)
        for (int ng = 0; ng < (neg ? 2 : 1); ng++)
            for (int p = 0; p < nperm; p++) {
                bool ok = true;
                for (uint32_t r = 0; r < M && ok; r++)
                    for (uint32_t c = 0; c < M && ok; c++) {
                        /* the 8 symmetries of the square: transpose? then flips */
                        uint32_t rr = r, cc = c;
                        if (d & 4) { uint32_t t = rr; rr = cc; cc = t; }
                        if (d & 2) rr = M - 1 - rr;
                        if (d & 1) cc = M - 1 - cc;
                        for (uint32_t ch = 0; ch < C && ok; ch++) {
                            uint32_t sch = C == 3 ? perms[p][ch] : ch;
                            uint8_t v = in[(rr * M + cc) * C + sch];
                            if (ng)
                                v ^= 0xFF;
                            ok = o[(r * M + c) * C + ch] == v;
                        }
                    }
                if (ok)
                    return true;
            }
    return false;
}

static void check_scramble(const char *settings, uint32_t H, uint32_t C, uint32_t M, bool geo,
                           bool neg, bool chan)
{
    struct tx t;
    struct kb_error err = {0};
    cr_assert_eq(tx_open(&t, "block_scramble", settings, H, H, C, &err), 0, "%s", err.msg);
    size_t n = (size_t)(H / M) * (H / M), L = (size_t)M * M * C;
    cr_assert_eq(t.ops->key_length(t.state), n);
    uint8_t *x = tx_images(&t, 1, 21), *k = tx_key(&t, 12), *y = malloc(t.image);
    encrypt_u8(&t, k, y, x, 1);
    uint8_t *vi = malloc(L), *vo = malloc(L);
    bool *used = calloc(n, 1);
    size_t moved = 0;
    for (size_t j = 0; j < n; j++) {
        get_block(vo, y, H, C, M, j);
        size_t found = n;
        for (size_t b = 0; b < n && found == n; b++) {
            if (used[b])
                continue;
            get_block(vi, x, H, C, M, b);
            if (block_matches(vo, vi, M, C, geo, neg, chan))
                found = b;
        }
        cr_assert(found < n, "%s: output block %zu is no input block (up to the enabled ops)",
                  settings, j);
        used[found] = true;
        moved += found != j;
    }
    cr_assert(moved > n / 2, "%s: most blocks move (%zu of %zu)", settings, moved, n);
    free(vi); free(vo); free(used); free(x); free(y);
    tx_key_free(k);
    tx_close(&t);
}

Test(properties, block_scramble_moves_whole_blocks)
{
    check_scramble("block_size=4", 28, 1, 4, false, false, false);
    check_scramble("block_size=4", 32, 3, 4, false, false, false);
    check_scramble("block_size=8,rotate=true,flip=true", 32, 3, 8, true, false, false);
    check_scramble("block_size=4,negpos=true,channel_shuffle=true", 32, 3, 4, false, true, true);
    check_scramble("block_size=4,rotate=true,flip=true,negpos=true,channel_shuffle=true", 32, 3, 4,
                   true, true, true);
}

static double keyspace(const char *name, const char *settings, uint32_t h, uint32_t c)
{
    struct tx t;
    struct kb_error err = {0};
    cr_assert_eq(tx_open(&t, name, settings, h, h, c, &err), 0, "%s", err.msg);
    double bits = t.ops->keyspace_bits(t.state);
    tx_close(&t);
    return bits;
}

Test(properties, keyspace_bits)
{
    cr_assert_float_eq(keyspace("pixel_shuffle", "block_size=4", 32, 3), 202.94957202970025, 1e-6);
    cr_assert_float_eq(keyspace("pixel_shuffle", "block_size=4", 28, 1), 44.25014046988262, 1e-6);
    cr_assert_float_eq(keyspace("negpos", "block_size=4", 32, 3), 44.81536350244578, 1e-6);
    cr_assert_float_eq(keyspace("negpos", "block_size=4,bits=uniform", 32, 3), 48.0, 1e-9);
    cr_assert_float_eq(keyspace("negpos", "block_size=4", 28, 1), 13.481799431665753, 1e-6);
    cr_assert_float_eq(keyspace("ffx", "block_size=4,bits=uniform,password=password", 32, 3), 48.0, 1e-9);
    cr_assert_float_eq(keyspace("block_scramble", "block_size=4", 28, 1), 208.56428187381545, 1e-6);
    cr_assert_float_eq(keyspace("block_scramble",
                                "block_size=4,rotate=true,flip=true,negpos=true,channel_shuffle=true",
                                32, 3),
                       295.99514394172405 + 64 * (2 + 1 + 1 + log2(6.0)), 1e-6);
    /* rotation/flip of a 1x1 block change nothing: they add no key space */
    cr_assert_float_eq(keyspace("block_scramble", "block_size=1,rotate=true,flip=true", 2, 1), log2(24.0), 1e-9);
    cr_assert_eq(keyspace("none", "block_size=4", 32, 3), 0.0);
}

Test(properties, block_size_must_divide)
{
    const char *names[] = { "none", "pixel_shuffle", "negpos", "ffx", "block_scramble" };
    for (int i = 0; i < 5; i++) {
        struct tx t;
        struct kb_error err = {0};
        cr_assert_eq(tx_open(&t, names[i], "block_size=5", 28, 28, 1, &err), -1, "%s", names[i]);
        cr_assert(strstr(err.msg, names[i]) && strstr(err.msg, "block_size=5") &&
                  strstr(err.msg, "28x28") && strstr(err.msg, "1, 2, 4, 7, 14, 28"),
                  "unclear error: %s", err.msg);
        tx_close(&t);
        cr_assert_eq(tx_open(&t, names[i], "block_size=64", 32, 32, 3, &err), -1);
        cr_assert(strstr(err.msg, "block_size=64") && strstr(err.msg, "32x32"), "%s", err.msg);
        tx_close(&t);
        cr_assert_eq(tx_open(&t, names[i], "block_size=0", 32, 32, 3, &err), -1,
                     "block_size=0 is out of the schema's range");
        tx_close(&t);
    }
}

Test(properties, caps_are_honest)
{
    cr_assert_eq(tx_plugin("pixel_shuffle")->caps, KB_CAP_KEYED | KB_CAP_KEY_PERMUTATION);
    cr_assert_eq(tx_plugin("block_scramble")->caps, KB_CAP_KEYED | KB_CAP_KEY_PERMUTATION | KB_CAP_BLOCK_PERMUTATION);
    cr_assert_eq(tx_plugin("negpos")->caps, KB_CAP_KEYED | KB_CAP_KEY_BITS | KB_CAP_INVOLUTION);
    cr_assert_eq(tx_plugin("ffx")->caps, KB_CAP_KEYED | KB_CAP_KEY_BITS);
    cr_assert_eq(tx_plugin("none")->caps & KB_CAP_KEYED, 0u);
}

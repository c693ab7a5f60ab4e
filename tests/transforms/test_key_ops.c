/* The key moves added for attacks: key_swap (every keyed transform) and
 * key_flip (bit keys), KB_TRANSFORM_HAS and KB_CAP_BLOCK_PERMUTATION. */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <keybench/params.h>

#include "tx_helpers.h"

static void open_or_die(struct tx *t, const char *name, const char *settings, uint32_t h,
                        uint32_t w, uint32_t c)
{
    struct kb_error err = {0};
    cr_assert_eq(tx_open(t, name, settings, h, w, c, &err), 0, "%s", err.msg);
}

static double agree(const struct tx *t, const uint8_t *a, const uint8_t *b)
{
    return t->ops->key_agreement(t->state, a, b);
}

/* Swapping two distinct components that differ lowers the agreement with
 * the original by exactly 2/length; swapping back restores the key byte for
 * byte; the encryption changes and comes back too. */
static void check_swap(const char *name, const char *settings, uint32_t h, uint32_t w, uint32_t c)
{
    struct tx t;
    open_or_die(&t, name, settings, h, w, c);
    cr_assert(KB_TRANSFORM_HAS(t.ops, key_swap), "%s lacks key_swap", name);
    size_t L = t.ops->key_length(t.state), size = t.ops->key_size(t.state);
    cr_assert_geq(L, 4);
    uint8_t *k = tx_key(&t, 7), *orig = tx_key(&t, 7);
    uint8_t *x = tx_images(&t, 2, 11);
    float *y0 = malloc(2 * t.image * sizeof *y0), *y1 = malloc(2 * t.image * sizeof *y1);
    t.ops->encrypt(t.state, orig, y0, x, 2);

    int tried = 0;
    for (size_t i = 0; i < L; i++)
        for (size_t j = i + 1; j < L; j++) {
            t.ops->key_swap(t.state, k, i, j);
            double a = agree(&t, k, orig);
            bool same = !memcmp(k, orig, size);
            if (!same) {
                /* two components moved: agreement drops by 2/L */
                cr_assert_float_eq(a, 1.0 - 2.0 / (double)L, 1e-12,
                                   "%s swap(%zu,%zu): agreement %g", name, i, j, a);
                if (tried < 8) {
                    t.ops->encrypt(t.state, k, y1, x, 2);
                    cr_assert(memcmp(y0, y1, 2 * t.image * sizeof *y0),
                              "%s swap(%zu,%zu) left the encryption unchanged", name, i, j);
                }
                tried++;
            } else {
                cr_assert_float_eq(a, 1.0, 1e-12);
            }
            t.ops->key_swap(t.state, k, i, j);   /* involution */
            cr_assert(!memcmp(k, orig, size), "%s swap(%zu,%zu) twice is not the identity",
                      name, i, j);
        }
    cr_assert_gt(tried, 0, "%s: no swap changed the key", name);
    /* a swap with itself or out of range changes nothing */
    t.ops->key_swap(t.state, k, 1, 1);
    t.ops->key_swap(t.state, k, 0, L);
    cr_assert(!memcmp(k, orig, size));
    /* encrypting with the restored key is the original encryption */
    t.ops->encrypt(t.state, k, y1, x, 2);
    cr_assert(!memcmp(y0, y1, 2 * t.image * sizeof *y0));
    free(y0);
    free(y1);
    free(x);
    tx_key_free(k);
    tx_key_free(orig);
    tx_close(&t);
}

Test(key_ops, swap_pixel_shuffle) { check_swap("pixel_shuffle", "block_size=2", 8, 8, 3); }
Test(key_ops, swap_block_scramble) { check_swap("block_scramble", "block_size=4", 16, 16, 1); }
Test(key_ops, swap_block_scramble_with_steps)
{
    check_swap("block_scramble", "block_size=2,rotate=true,negpos=true", 8, 8, 3);
}
Test(key_ops, swap_negpos) { check_swap("negpos", "block_size=4", 8, 8, 1); }
Test(key_ops, swap_ffx) { check_swap("ffx", "block_size=2,password=abc", 8, 8, 3); }

/* A permutation key stays a permutation after any sequence of swaps. */
Test(key_ops, swaps_keep_a_permutation)
{
    struct tx t;
    open_or_die(&t, "pixel_shuffle", "block_size=4", 8, 8, 1);
    size_t L = t.ops->key_length(t.state);
    uint8_t *k = tx_key(&t, 3);
    for (size_t s = 0; s < 100; s++)
        t.ops->key_swap(t.state, k, (s * 7) % L, (s * 13 + 5) % L);
    uint8_t *seen = calloc(L, 1);
    for (size_t i = 0; i < L; i++) {
        uint32_t v;
        memcpy(&v, k + 4 * i, 4);
        cr_assert_lt(v, L);
        cr_assert_eq(seen[v], 0, "entry %u twice", v);
        seen[v] = 1;
    }
    free(seen);
    tx_key_free(k);
    tx_close(&t);
}

/* Swapping bits keeps the number of ones: the fixed-count key space. */
Test(key_ops, bit_swap_keeps_the_count)
{
    struct tx t;
    open_or_die(&t, "negpos", "block_size=4,bits=fixed", 8, 8, 1);
    size_t L = t.ops->key_length(t.state);
    uint8_t *k = tx_key(&t, 9);
    size_t ones0 = 0, ones1 = 0;
    for (size_t i = 0; i < L; i++)
        ones0 += k[i];
    for (size_t s = 0; s < 50; s++)
        t.ops->key_swap(t.state, k, s % L, (s * 5 + 3) % L);
    for (size_t i = 0; i < L; i++)
        ones1 += k[i];
    cr_assert_eq(ones0, 7u);   /* ceil(16/2) - 1 */
    cr_assert_eq(ones1, ones0);
    tx_key_free(k);
    tx_close(&t);
}

/* key_flip changes exactly one component, and twice is the identity. */
static void check_flip(const char *name, const char *settings, uint32_t c)
{
    struct tx t;
    open_or_die(&t, name, settings, 8, 8, c);
    cr_assert(KB_TRANSFORM_HAS(t.ops, key_flip), "%s lacks key_flip", name);
    cr_assert(t.plugin->caps & KB_CAP_KEY_BITS);
    size_t L = t.ops->key_length(t.state), size = t.ops->key_size(t.state);
    uint8_t *k = tx_key(&t, 21), *orig = tx_key(&t, 21);
    uint8_t *x = tx_images(&t, 1, 5);
    float *y0 = malloc(t.image * sizeof *y0), *y1 = malloc(t.image * sizeof *y1);
    t.ops->encrypt(t.state, orig, y0, x, 1);
    for (size_t i = 0; i < L; i++) {
        t.ops->key_flip(t.state, k, i);
        cr_assert_float_eq(agree(&t, k, orig), 1.0 - 1.0 / (double)L, 1e-12,
                           "%s flip(%zu)", name, i);
        size_t diff = 0;
        for (size_t b = 0; b < size; b++)
            diff += k[b] != orig[b];
        cr_assert_eq(diff, 1u, "%s flip(%zu) changed %zu bytes", name, i, diff);
        t.ops->encrypt(t.state, k, y1, x, 1);
        cr_assert(memcmp(y0, y1, t.image * sizeof *y0), "%s flip(%zu): same output", name, i);
        t.ops->key_flip(t.state, k, i);
        cr_assert(!memcmp(k, orig, size));
    }
    t.ops->key_flip(t.state, k, L);   /* out of range: nothing */
    cr_assert(!memcmp(k, orig, size));
    free(y0);
    free(y1);
    free(x);
    tx_key_free(k);
    tx_key_free(orig);
    tx_close(&t);
}

Test(key_ops, flip_negpos) { check_flip("negpos", "block_size=2,bits=uniform", 3); }
Test(key_ops, flip_ffx) { check_flip("ffx", "block_size=2,password=pw", 1); }

/* Which transform offers which op, and the block-permutation capability. */
Test(key_ops, has_and_caps)
{
    static const struct { const char *name; bool swap, flip, block_perm; } want[] = {
        { "none", false, false, false },
        { "pixel_shuffle", true, false, false },
        { "negpos", true, true, false },
        { "block_scramble", true, false, true },
        { "ffx", true, true, false },
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const struct kb_plugin *p = tx_plugin(want[i].name);
        const struct kb_transform_ops *ops = p->ops;
        cr_assert_eq(KB_TRANSFORM_HAS(ops, key_swap), want[i].swap, "%s key_swap", want[i].name);
        cr_assert_eq(KB_TRANSFORM_HAS(ops, key_flip), want[i].flip, "%s key_flip", want[i].name);
        cr_assert_eq(!!(p->caps & KB_CAP_BLOCK_PERMUTATION), want[i].block_perm, "%s caps",
                     want[i].name);
    }
    /* an older, shorter table does not "have" the grown ops */
    struct kb_transform_ops old = *(const struct kb_transform_ops *)tx_plugin("negpos")->ops;
    old.struct_size = (uint32_t)offsetof(struct kb_transform_ops, key_swap);
    cr_assert(!KB_TRANSFORM_HAS(&old, key_swap));
    cr_assert(!KB_TRANSFORM_HAS(&old, key_flip));
    old.struct_size = (uint32_t)offsetof(struct kb_transform_ops, key_flip);
    cr_assert(KB_TRANSFORM_HAS(&old, key_swap));
    cr_assert(!KB_TRANSFORM_HAS(&old, key_flip));
}

/* FFX with a password derived from the key: a key whose bits all agree but
 * whose password differs encrypts differently, so it must not count as the
 * same key (it once did: agreement compared the bits only). */
Test(key_ops, ffx_agreement_counts_a_derived_password)
{
    struct tx t;
    open_or_die(&t, "ffx", "block_size=1", 4, 4, 1); /* L = 1: bits fixed (0 ones) */
    uint8_t *a = tx_key(&t, 1), *b = tx_key(&t, 77);
    cr_assert_float_eq(agree(&t, a, a), 1.0, 1e-12);
    cr_assert_lt(agree(&t, a, b), 1.0, "same bits, other password: not the same key");
    cr_assert_float_eq(agree(&t, a, b), 0.5, 1e-12, "1 bit agrees, the password does not");
    tx_key_free(a);
    tx_key_free(b);
    tx_close(&t);
    /* with a given password, the password is not part of the key */
    open_or_die(&t, "ffx", "block_size=1,password=pw", 4, 4, 1);
    a = tx_key(&t, 1);
    b = tx_key(&t, 77);
    cr_assert_float_eq(agree(&t, a, b), 1.0, 1e-12);
    tx_key_free(a);
    tx_key_free(b);
    tx_close(&t);
}

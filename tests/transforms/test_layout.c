/* key_layout (the op gradient attacks differentiate through): for random keys
 * and random uint8 images, the layout reproduces every shipped transform's
 * own encrypt exactly — copied and negated positions bit for bit, FFX's
 * table positions through the key's own table — and src is a permutation. */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <keybench/params.h>

#include "ffx_core.h"
#include "tx_helpers.h"

#define KEYS 6
#define IMAGES 3

struct layout {
    uint32_t *src;
    int8_t *sign;
    float *denom;
};

static void check_permutation(const char *name, const uint32_t *src, size_t n)
{
    uint8_t *seen = calloc(n, 1);
    cr_assert_not_null(seen);
    for (size_t k = 0; k < n; k++) {
        cr_assert_lt(src[k], n, "%s: src[%zu] = %u is outside the image", name, k, src[k]);
        cr_assert_not(seen[src[k]], "%s: input %u is used twice (not a permutation)", name,
                      src[k]);
        seen[src[k]] = 1;
    }
    free(seen);
}

/* The value key_layout predicts at k for image x (table: the FFX key's). */
static float predicted(const struct layout *l, size_t k, const uint8_t *x, const uint8_t *key,
                       bool ffx)
{
    unsigned p = x[l->src[k]];
    if (l->sign[k] < 0)
        p = 255 - p;
    else if (l->sign[k] == 0) {
        cr_assert(ffx, "sign 0 (a table) from a transform without one");
        uint16_t code;
        memcpy(&code, key + KBT_FFX_OFF_TABLE + 2 * p, sizeof code);
        p = code;
    }
    return (float)p / l->denom[k];
}

/* Returns the number of table (sign 0) positions seen over all keys. */
static size_t check_layout(const char *name, const char *settings, uint32_t h, uint32_t w,
                           uint32_t c)
{
    struct tx t;
    struct kb_error err = {0};
    cr_assert_eq(tx_open(&t, name, settings, h, w, c, &err), 0, "%s", err.msg);
    cr_assert(KB_TRANSFORM_HAS(t.ops, key_layout), "%s lacks key_layout", name);
    bool ffx = !strcmp(name, "ffx");
    struct layout l = { malloc(t.image * sizeof *l.src), malloc(t.image * sizeof *l.sign),
                        malloc(t.image * sizeof *l.denom) };
    float *y = malloc(IMAGES * t.image * sizeof *y);
    cr_assert(l.src && l.sign && l.denom && y);
    size_t tables = 0;
    for (uint8_t s = 0; s < KEYS; s++) {
        uint8_t *key = tx_key(&t, (uint8_t)(17 * s + 3));
        uint8_t *x = tx_images(&t, IMAGES, 100u + s);
        t.ops->key_layout(t.state, key, l.src, l.sign, l.denom);
        check_permutation(name, l.src, t.image);
        t.ops->encrypt(t.state, key, y, x, IMAGES);
        for (size_t i = 0; i < IMAGES; i++)
            for (size_t k = 0; k < t.image; k++) {
                cr_assert(l.sign[k] >= -1 && l.sign[k] <= 1, "%s: sign[%zu] = %d", name, k,
                          l.sign[k]);
                float want = predicted(&l, k, x + i * t.image, key, ffx);
                cr_assert(y[i * t.image + k] == want,
                          "%s (%s) key %u image %zu value %zu: encrypt %.9g, layout %.9g", name,
                          settings, s, i, k, (double)y[i * t.image + k], (double)want);
            }
        for (size_t k = 0; k < t.image; k++)
            tables += l.sign[k] == 0;
        free(x);
        tx_key_free(key);
    }
    free(l.src), free(l.sign), free(l.denom), free(y);
    tx_close(&t);
    return tables;
}

Test(layout, none_is_the_identity)
{
    cr_assert_eq(check_layout("none", "block_size=4", 8, 8, 3), 0);
}

Test(layout, pixel_shuffle)
{
    check_layout("pixel_shuffle", "block_size=4", 16, 16, 3);
    check_layout("pixel_shuffle", "block_size=2", 8, 12, 1);
    check_layout("pixel_shuffle", "block_size=1", 4, 4, 3);
}

Test(layout, negpos)
{
    check_layout("negpos", "block_size=4", 16, 16, 3);
    check_layout("negpos", "block_size=2,bits=uniform", 8, 8, 1);
}

Test(layout, block_scramble_with_every_step)
{
    check_layout("block_scramble", "block_size=4", 16, 16, 3);
    check_layout("block_scramble",
                 "block_size=4,rotate=true,flip=true,negpos=true,channel_shuffle=true", 16, 16, 3);
    check_layout("block_scramble", "block_size=2,rotate=true,flip=true,negpos=true", 8, 6, 1);
    check_layout("block_scramble", "block_size=1,negpos=true,channel_shuffle=true", 4, 4, 3);
}

/* FFX: table positions are where the bits say, and they are there. */
Test(layout, ffx_tables_where_the_bits_say)
{
    cr_assert_gt(check_layout("ffx", "block_size=4", 8, 8, 3), 0);
    cr_assert_gt(check_layout("ffx", "block_size=2,password=abc", 8, 8, 1), 0);
    cr_assert_gt(check_layout("ffx", "block_size=2,bits=uniform", 4, 4, 3), 0);
}

static void dummy_layout(const void *state, const void *key, uint32_t *src, int8_t *sign,
                         float *denom)
{
    (void)state, (void)key, (void)src, (void)sign, (void)denom;
}

/* An older plugin's table ends before the op: KB_TRANSFORM_HAS says it has
 * none, whatever lies past its end. */
Test(layout, has_is_false_for_a_short_table)
{
    struct kb_transform_ops ops;
    memset(&ops, 0, sizeof ops);
    ops.struct_size = (uint32_t)offsetof(struct kb_transform_ops, key_layout);
    ops.key_layout = dummy_layout;
    cr_assert_not(KB_TRANSFORM_HAS(&ops, key_layout));
    ops.struct_size = sizeof ops;
    cr_assert(KB_TRANSFORM_HAS(&ops, key_layout));
}

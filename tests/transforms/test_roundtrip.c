/* Every transform × gray 28×28×1 and RGB 32×32×3 × several block sizes:
 * exact inverse, determinism, key dependence, range, mutate/agreement. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <keybench/params.h>

#include "tx_helpers.h"

struct shape { uint32_t h, w, c; int blocks[6]; };

static const struct shape shapes[] = {
    { 28, 28, 1, { 1, 2, 4, 7, 28, 0 } },
    { 32, 32, 3, { 1, 2, 4, 8, 32, 0 } },
};

static void check_one(const char *name, const char *settings, const struct shape *sh, int m)
{
    char conf[256];
    snprintf(conf, sizeof conf, "block_size=%d%s%s", m, settings[0] ? "," : "", settings);
    struct tx t;
    struct kb_error err = {0};
    cr_assert_eq(tx_open(&t, name, conf, sh->h, sh->w, sh->c, &err), 0, "%s %s: %s", name, conf,
                 err.msg);
    const char *what = name;
    const size_t n = 3, total = n * t.image;
    bool keyed = (t.plugin->caps & KB_CAP_KEYED) != 0;
    double bits = t.ops->keyspace_bits(t.state);
    cr_assert(bits >= 0.0 && isfinite(bits), "%s %s: keyspace %f", what, conf, bits);
    if (!keyed)
        cr_assert_eq(bits, 0.0);

    uint8_t *x = tx_images(&t, n, 7);
    uint8_t *ka = tx_key(&t, 1), *ka2 = tx_key(&t, 1), *kb = tx_key(&t, 77);
    size_t ks = t.ops->key_size(t.state);
    cr_assert_eq(memcmp(ka, ka2, ks), 0, "%s %s: key_make is not deterministic", what, conf);

    float *y = malloc(total * sizeof *y), *y2 = malloc(total * sizeof *y2);
    float *yb = malloc(total * sizeof *yb);
    uint8_t *back = malloc(total), *wrong = malloc(total);
    t.ops->encrypt(t.state, ka, y, x, n);
    t.ops->encrypt(t.state, ka, y2, x, n);
    cr_assert_eq(memcmp(y, y2, total * sizeof *y), 0, "%s %s: encrypt not deterministic", what, conf);
    for (size_t i = 0; i < total; i++)
        cr_assert(y[i] >= 0.0f && y[i] <= 1.0f, "%s %s: value %g at %zu outside [0,1]", what,
                  conf, (double)y[i], i);
    t.ops->decrypt(t.state, ka, back, y, n);
    for (size_t i = 0; i < total; i++)
        cr_assert_eq(back[i], x[i], "%s %s: decrypt(encrypt(x)) differs at %zu: %u vs %u", what,
                     conf, i, back[i], x[i]);
    /* One image at a time gives the same values as the batch. */
    t.ops->encrypt(t.state, ka, y2 + t.image, x + t.image, 1);
    cr_assert_eq(memcmp(y, y2, total * sizeof *y), 0);

    cr_assert_float_eq(t.ops->key_agreement(t.state, ka, ka2), 1.0, 1e-12);
    double ag = t.ops->key_agreement(t.state, ka, kb);
    cr_assert(ag >= 0.0 && ag <= 1.0);

    if (keyed && bits >= 20.0) {
        cr_assert(memcmp(ka, kb, ks) != 0, "%s %s: two secrets gave one key", what, conf);
        t.ops->encrypt(t.state, kb, yb, x, n);
        cr_assert(memcmp(y, yb, total * sizeof *y) != 0, "%s %s: keys give the same output",
                  what, conf);
        t.ops->decrypt(t.state, kb, wrong, y, n);
        cr_assert(memcmp(wrong, x, total) != 0, "%s %s: wrong key decrypts", what, conf);
    }
    if (keyed && bits > 0.0) {
        struct kb_rng r;
        kb_rng_init_seed(&r, 5, "test");
        memcpy(ka2, ka, ks);
        t.ops->key_mutate(t.state, ka2, &r);
        double am = t.ops->key_agreement(t.state, ka, ka2);
        cr_assert(am < 1.0 && am >= 0.0, "%s %s: mutate gave agreement %f", what, conf, am);
        /* a mutated key is still a valid key: exact round trip */
        t.ops->encrypt(t.state, ka2, y2, x, n);
        t.ops->decrypt(t.state, ka2, wrong, y2, n);
        cr_assert_eq(memcmp(wrong, x, total), 0, "%s %s: mutated key not invertible", what, conf);
    }
    size_t len = t.ops->key_length(t.state);
    cr_assert(keyed ? len > 0 : len == 0);

    free(y); free(y2); free(yb); free(back); free(wrong); free(x);
    tx_key_free(ka); tx_key_free(ka2); tx_key_free(kb);
    tx_close(&t);
}

static void check_all(const char *name, const char *settings)
{
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int b = 0; shapes[s].blocks[b]; b++)
            check_one(name, settings, &shapes[s], shapes[s].blocks[b]);
}

Test(roundtrip, none) { check_all("none", ""); }
Test(roundtrip, pixel_shuffle) { check_all("pixel_shuffle", ""); }
Test(roundtrip, negpos_fixed) { check_all("negpos", "bits=fixed"); }
Test(roundtrip, negpos_uniform) { check_all("negpos", "bits=uniform"); }
Test(roundtrip, ffx_password) { check_all("ffx", "password=password"); }
Test(roundtrip, ffx_derived_password) { check_all("ffx", ""); }
Test(roundtrip, ffx_uniform) { check_all("ffx", "bits=uniform,password=secret-key"); }
Test(roundtrip, block_scramble) { check_all("block_scramble", ""); }
Test(roundtrip, block_scramble_all_steps)
{
    check_all("block_scramble", "rotate=true,flip=true,negpos=true,channel_shuffle=true");
}
Test(roundtrip, block_scramble_rotate) { check_all("block_scramble", "rotate=true"); }
Test(roundtrip, block_scramble_channels) { check_all("block_scramble", "channel_shuffle=true"); }

/* Every uint8 value survives every transform (a 16x16 image holding 0..255). */
Test(roundtrip, all_byte_values)
{
    const char *cases[][2] = { { "none", "" }, { "pixel_shuffle", "" }, { "negpos", "bits=uniform" },
                               { "ffx", "bits=uniform" }, { "block_scramble", "negpos=true,rotate=true" } };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        struct tx t;
        struct kb_error err = {0};
        cr_assert_eq(tx_open(&t, cases[c][0], cases[c][1], 16, 16, 1, &err), 0, "%s", err.msg);
        uint8_t x[256], back[256];
        float y[256];
        for (int i = 0; i < 256; i++)
            x[i] = (uint8_t)i;
        for (uint8_t s = 0; s < 8; s++) {
            uint8_t *k = tx_key(&t, (uint8_t)(s * 31));
            t.ops->encrypt(t.state, k, y, x, 1);
            t.ops->decrypt(t.state, k, back, y, 1);
            cr_assert_arr_eq(back, x, 256, "%s key %u", cases[c][0], s);
            tx_key_free(k);
        }
        tx_close(&t);
    }
}

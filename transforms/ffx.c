/* ffx — block-wise FFX encryption with the authors' lookup table and rescaling.
 *
 * A lookup table maps every 8-bit value to a distinct 3-digit decimal with
 * FFX (radix 10, 3 digits, split 1/2, 10 rounds, HMAC-SHA1 keyed with the
 * password; pyffx 0.3-compatible, see ffx_core.h). Key: a bit vector of
 * length L = M·M·C (drawn like negpos, param `bits`) plus the password.
 *
 * Encrypt, as the authors' code does: q = p (trunc(x·255) of an 8-bit input);
 * at in-block indices with bit 1, q = table[q]; output q / max(table) at
 * EVERY position (untouched positions are rescaled too). Decrypt:
 * q = round(x·max) (rounding, not the authors' truncation, which float32 can
 * land one below q); at bit-1 indices q = inverse[q]; output q as uint8.
 *
 * Param `password`: when given it is fixed (reproduces the authors' configs;
 * the key space counts only the bits). When absent the password is derived
 * from the secret: 16 bytes of kb_rng stream 1 written as 32 lowercase hex
 * characters (the key space adds 128 bits). */
#include <stdlib.h>
#include <string.h>

#include <keybench/rng.h>

#include "block.h"
#include "ffx_core.h"

struct ffx_state {
    struct kbt_geom g;
    enum kbt_bits_mode mode;
    bool fixed_password;
    size_t password_len;
    char password[KBT_FFX_PASSWORD_MAX + 1];
    uint16_t table[256];   /* fixed password: precomputed once */
};

static const struct kb_param ffx_params[] = {
    { "block_size", KB_PARAM_INT, "4", 1, 1024, NULL, "block side M in pixels; must divide H and W" },
    { "bits", KB_PARAM_CHOICE, "fixed", 0, 0, "fixed|uniform",
      "how the key bits are drawn: fixed = the authors' (perm > L/2, ceil(L/2)-1 ones), uniform = independent bits" },
    { "password", KB_PARAM_STRING, NULL, 0, 0, NULL,
      "FFX password (at most 255 bytes); absent: derived from the key's secret (32 hex characters)" },
    { NULL, 0, NULL, 0, 0, NULL, NULL }
};

static int ffx_create(void **state, const struct kb_params *params,
                      const struct kb_image_shape *shape, struct kb_error *err)
{
    struct ffx_state *s = calloc(1, sizeof *s);
    if (!s)
        return kb_error_set(err, "ffx: out of memory");
    if (kbt_geom_init(&s->g, params, shape, "ffx", err) < 0) {
        free(s);
        return -1;
    }
    s->mode = kbt_bits_mode(params);
    const char *pw = kb_params_has(params, "password") ? kb_params_str(params, "password") : NULL;
    if (pw) {
        size_t len = strlen(pw);
        if (len > KBT_FFX_PASSWORD_MAX) {
            kbt_geom_free(&s->g);
            free(s);
            return kb_error_set(err, "ffx: password is %zu bytes; at most %u are allowed", len,
                                KBT_FFX_PASSWORD_MAX);
        }
        s->fixed_password = true;
        s->password_len = len;
        memcpy(s->password, pw, len);
        if (kbt_ffx_table(s->table, (const uint8_t *)s->password, len) < 0) {
            kbt_geom_free(&s->g);
            free(s);
            return kb_error_set(err, "ffx: HMAC-SHA1 failed (OpenSSL libcrypto)");
        }
    }
    *state = s;
    return 0;
}

static void ffx_destroy(void *state)
{
    struct ffx_state *s = state;
    if (!s)
        return;
    kbt_geom_free(&s->g);
    free(s);
}

static size_t ffx_key_size(const void *state)
{
    return KBT_FFX_OFF_BITS + ((const struct ffx_state *)state)->g.L;
}

static double ffx_keyspace_bits(const void *state)
{
    const struct ffx_state *s = state;
    if (s->mode == KBT_BITS_FIXED && kbt_bits_fixed_ones(s->g.L) == 0)
        return 0.0; /* L <= 2: no position is ever encrypted; the table is unused */
    return kbt_bits_keyspace(s->g.L, s->mode) + (s->fixed_password ? 0.0 : 128.0);
}

static size_t ffx_key_length(const void *state)
{
    return ((const struct ffx_state *)state)->g.L;
}

static void ffx_key_make(const void *state, void *key, const uint8_t secret[32])
{
    const struct ffx_state *s = state;
    uint8_t *k = key;
    memset(k, 0, KBT_FFX_OFF_BITS);
    struct kb_rng r;
    kb_rng_init(&r, secret, 0);
    kbt_bits_draw(k + KBT_FFX_OFF_BITS, s->g.L, s->mode, &r);
    kb_rng_wipe(&r);

    uint16_t table[256];
    char *pw = (char *)k + KBT_FFX_OFF_PASSWORD;
    size_t pw_len;
    if (s->fixed_password) {
        memcpy(pw, s->password, s->password_len);
        pw_len = s->password_len;
        memcpy(table, s->table, sizeof table);
    } else {
        static const char hex[] = "0123456789abcdef";
        uint8_t raw[16];
        kb_rng_init(&r, secret, 1);
        kb_rng_bytes(&r, raw, sizeof raw);
        kb_rng_wipe(&r);
        for (size_t i = 0; i < sizeof raw; i++) {
            pw[2 * i] = hex[raw[i] >> 4];
            pw[2 * i + 1] = hex[raw[i] & 15];
        }
        pw_len = 2 * sizeof raw;
        memset(raw, 0, sizeof raw);
        /* An HMAC failure (never seen with libcrypto) leaves an all-zero table,
         * which the round-trip tests would catch. */
        if (kbt_ffx_table(table, (const uint8_t *)pw, pw_len) < 0)
            memset(table, 0, sizeof table);
    }
    uint16_t max = 0;
    for (size_t i = 0; i < 1000; i++)
        kbt_st16(k + KBT_FFX_OFF_INVERSE + 2 * i, KBT_FFX_NO_VALUE);
    for (unsigned v = 0; v < 256; v++) {
        kbt_st16(k + KBT_FFX_OFF_TABLE + 2 * v, table[v]);
        if (table[v] < 1000)
            kbt_st16(k + KBT_FFX_OFF_INVERSE + 2 * (size_t)table[v], (uint16_t)v);
        if (table[v] > max)
            max = table[v];
    }
    kbt_st16(k + KBT_FFX_OFF_MAX, max ? max : 1);
    memset(table, 0, sizeof table);
}

static void ffx_key_mutate(const void *state, void *key, struct kb_rng *rng)
{
    const struct ffx_state *s = state;
    kbt_bits_mutate((uint8_t *)key + KBT_FFX_OFF_BITS, s->g.L, s->mode, rng);
}

/* The bits, plus (when the password is part of the key, i.e. derived from
 * its secret) the password as one more component: a key with every bit right
 * but another password encrypts differently and must not count as found. */
static double ffx_key_agreement(const void *state, const void *a, const void *b)
{
    const struct ffx_state *s = state;
    double bits = kbt_bytes_agreement((const uint8_t *)a + KBT_FFX_OFF_BITS,
                                      (const uint8_t *)b + KBT_FFX_OFF_BITS, s->g.L);
    if (s->fixed_password)
        return bits;
    bool same_pw = memcmp((const uint8_t *)a + KBT_FFX_OFF_PASSWORD,
                          (const uint8_t *)b + KBT_FFX_OFF_PASSWORD, KBT_FFX_PASSWORD_MAX) == 0;
    return (bits * (double)s->g.L + (same_pw ? 1.0 : 0.0)) / (double)(s->g.L + 1);
}

static void ffx_encrypt(const void *state, const void *key, float *out, const uint8_t *in,
                        size_t n)
{
    const struct ffx_state *s = state;
    const struct kbt_geom *g = &s->g;
    const uint8_t *k = key;
    const uint8_t *bits = k + KBT_FFX_OFF_BITS;
    uint16_t table[256];
    memcpy(table, k + KBT_FFX_OFF_TABLE, sizeof table);
    float max = (float)kbt_ld16(k + KBT_FFX_OFF_MAX);
    for (size_t i = 0; i < n; i++) {
        const uint8_t *src = in + i * g->image;
        float *dst = out + i * g->image;
        for (size_t b = 0; b < g->nblocks; b++) {
            size_t base = kbt_block_base(g, b);
            for (size_t j = 0; j < g->L; j++) {
                size_t o = base + g->off[j];
                unsigned q = src[o];
                if (bits[j])
                    q = table[q];
                dst[o] = (float)q / max;
            }
        }
    }
    memset(table, 0, sizeof table);
}

static void ffx_decrypt(const void *state, const void *key, uint8_t *out, const float *in,
                        size_t n)
{
    const struct ffx_state *s = state;
    const struct kbt_geom *g = &s->g;
    const uint8_t *k = key;
    const uint8_t *bits = k + KBT_FFX_OFF_BITS;
    uint16_t inverse[1000];
    memcpy(inverse, k + KBT_FFX_OFF_INVERSE, sizeof inverse);
    float max = (float)kbt_ld16(k + KBT_FFX_OFF_MAX);
    for (size_t i = 0; i < n; i++) {
        const float *src = in + i * g->image;
        uint8_t *dst = out + i * g->image;
        for (size_t b = 0; b < g->nblocks; b++) {
            size_t base = kbt_block_base(g, b);
            for (size_t j = 0; j < g->L; j++) {
                size_t o = base + g->off[j];
                float y = src[o] * max;
                unsigned q = !(y > 0.0f) ? 0u : y >= 999.0f ? 999u : (unsigned)(y + 0.5f);
                if (bits[j]) {
                    unsigned v = inverse[q];
                    dst[o] = v == KBT_FFX_NO_VALUE ? 0 : (uint8_t)v; /* not a code: 0 */
                } else {
                    dst[o] = q > 255 ? 255 : (uint8_t)q;
                }
            }
        }
    }
    memset(inverse, 0, sizeof inverse);
}

/* Exchange bits i and j of the bit vector (the password is untouched). */
static void ffx_key_swap(const void *state, void *key, size_t i, size_t j)
{
    const struct ffx_state *s = state;
    uint8_t *bits = (uint8_t *)key + KBT_FFX_OFF_BITS;
    if (i >= s->g.L || j >= s->g.L)
        return;
    uint8_t t = bits[i];
    bits[i] = bits[j];
    bits[j] = t;
}

/* Flip bit i (see negpos: in fixed mode the count of ones changes by one). */
static void ffx_key_flip(const void *state, void *key, size_t i)
{
    const struct ffx_state *s = state;
    uint8_t *bits = (uint8_t *)key + KBT_FFX_OFF_BITS;
    if (i < s->g.L)
        bits[i] ^= 1;
}

/* Values stay where they are, every one divided by the table's max; bit-1
 * positions go through the FFX table (sign 0: not differentiable). */
static void ffx_key_layout(const void *state, const void *key, uint32_t *src, int8_t *sign,
                           float *denom)
{
    const struct kbt_geom *g = &((const struct ffx_state *)state)->g;
    const uint8_t *k = key;
    const uint8_t *bits = k + KBT_FFX_OFF_BITS;
    kbt_layout_identity(g, src, sign, denom, (float)kbt_ld16(k + KBT_FFX_OFF_MAX));
    for (size_t b = 0; b < g->nblocks; b++) {
        size_t base = kbt_block_base(g, b);
        for (size_t j = 0; j < g->L; j++)
            sign[base + g->off[j]] = bits[j] ? 0 : 1;
    }
}

static const struct kb_transform_ops ffx_ops = {
    .struct_size = sizeof(struct kb_transform_ops),
    .create = ffx_create,
    .destroy = ffx_destroy,
    .key_size = ffx_key_size,
    .keyspace_bits = ffx_keyspace_bits,
    .key_length = ffx_key_length,
    .key_make = ffx_key_make,
    .key_mutate = ffx_key_mutate,
    .key_agreement = ffx_key_agreement,
    .encrypt = ffx_encrypt,
    .decrypt = ffx_decrypt,
    .key_swap = ffx_key_swap,
    .key_flip = ffx_key_flip,
    .key_layout = ffx_key_layout,
};

static const struct kb_plugin ffx_plugin = {
    KB_PLUGIN_HEADER,
    .kind = KB_KIND_TRANSFORM,
    .name = "ffx",
    .version = "1.0.0",
    .summary = "block-wise FFX: 8-bit values -> 3-digit FFX codes (pyffx-compatible) where key bits say so, scaled by the table max",
    .params = ffx_params,
    .caps = KB_CAP_KEYED | KB_CAP_KEY_BITS,
    .ops = &ffx_ops,
};

KB_PLUGIN_ENTRY(&ffx_plugin)

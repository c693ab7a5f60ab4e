/* negpos — block-wise negative/positive transformation (NP; "bit flipping").
 *
 * Key: a bit vector of length L = M·M·C, one byte (0 or 1) per bit. In every
 * block, at in-block index k with bit 1: p' = 255 − p (= p XOR 0xFF), then
 * x = p' / 255. It is its own inverse on uint8 images.
 *
 * Param `bits`:
 *  - fixed (default; what the authors' code does): bits = (random permutation
 *    of 0..L-1) > L/2, so exactly ceil(L/2)-1 ones (23 of 48 for M=4, C=3);
 *    key space log2(C(L, ones)); a mutation moves a 1-bit (swaps a 1 and a 0).
 *  - uniform: independent uniform bits; key space L bits; a mutation flips a bit. */
#include <stdlib.h>

#include <keybench/rng.h>

#include "block.h"

struct np_state {
    struct kbt_geom g;
    enum kbt_bits_mode mode;
};

static const struct kb_param np_params[] = {
    { "block_size", KB_PARAM_INT, "4", 1, 1024, NULL, "block side M in pixels; must divide H and W" },
    { "bits", KB_PARAM_CHOICE, "fixed", 0, 0, "fixed|uniform",
      "how the key bits are drawn: fixed = the authors' (perm > L/2, ceil(L/2)-1 ones), uniform = independent bits" },
    { NULL, 0, NULL, 0, 0, NULL, NULL }
};

static int np_create(void **state, const struct kb_params *params,
                     const struct kb_image_shape *shape, struct kb_error *err)
{
    struct np_state *s = calloc(1, sizeof *s);
    if (!s)
        return kb_error_set(err, "negpos: out of memory");
    if (kbt_geom_init(&s->g, params, shape, "negpos", err) < 0) {
        free(s);
        return -1;
    }
    s->mode = kbt_bits_mode(params);
    *state = s;
    return 0;
}

static void np_destroy(void *state)
{
    struct np_state *s = state;
    if (!s)
        return;
    kbt_geom_free(&s->g);
    free(s);
}

static size_t np_key_size(const void *state)
{
    return ((const struct np_state *)state)->g.L;
}

static double np_keyspace_bits(const void *state)
{
    const struct np_state *s = state;
    return kbt_bits_keyspace(s->g.L, s->mode);
}

static size_t np_key_length(const void *state)
{
    return ((const struct np_state *)state)->g.L;
}

static void np_key_make(const void *state, void *key, const uint8_t secret[32])
{
    const struct np_state *s = state;
    struct kb_rng r;
    kb_rng_init(&r, secret, 0);
    kbt_bits_draw(key, s->g.L, s->mode, &r);
    kb_rng_wipe(&r);
}

static void np_key_mutate(const void *state, void *key, struct kb_rng *rng)
{
    const struct np_state *s = state;
    kbt_bits_mutate(key, s->g.L, s->mode, rng);
}

static double np_key_agreement(const void *state, const void *a, const void *b)
{
    const struct np_state *s = state;
    return kbt_bytes_agreement(a, b, s->g.L);
}

static void np_encrypt(const void *state, const void *key, float *out, const uint8_t *in,
                       size_t n)
{
    const struct np_state *s = state;
    const struct kbt_geom *g = &s->g;
    const uint8_t *bits = key;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *src = in + i * g->image;
        float *dst = out + i * g->image;
        for (size_t b = 0; b < g->nblocks; b++) {
            size_t base = kbt_block_base(g, b);
            for (size_t k = 0; k < g->L; k++) {
                size_t o = base + g->off[k];
                uint8_t mask = bits[k] ? 0xFF : 0x00;
                dst[o] = g->unit[src[o] ^ mask];
            }
        }
    }
}

static void np_decrypt(const void *state, const void *key, uint8_t *out, const float *in,
                       size_t n)
{
    const struct np_state *s = state;
    const struct kbt_geom *g = &s->g;
    const uint8_t *bits = key;
    for (size_t i = 0; i < n; i++) {
        const float *src = in + i * g->image;
        uint8_t *dst = out + i * g->image;
        for (size_t b = 0; b < g->nblocks; b++) {
            size_t base = kbt_block_base(g, b);
            for (size_t k = 0; k < g->L; k++) {
                size_t o = base + g->off[k];
                uint8_t mask = bits[k] ? 0xFF : 0x00;
                dst[o] = kbt_u8(src[o]) ^ mask;
            }
        }
    }
}

/* Exchange bits i and j (keeps the number of ones: stays in the fixed key
 * space). Out of range: nothing. */
static void np_key_swap(const void *state, void *key, size_t i, size_t j)
{
    const struct np_state *s = state;
    uint8_t *bits = key;
    if (i >= s->g.L || j >= s->g.L)
        return;
    uint8_t t = bits[i];
    bits[i] = bits[j];
    bits[j] = t;
}

/* Flip bit i. In `bits: fixed` mode the result has one 1 more or fewer than
 * the fixed count: a key of the uniform superset (still a valid key). */
static void np_key_flip(const void *state, void *key, size_t i)
{
    const struct np_state *s = state;
    uint8_t *bits = key;
    if (i < s->g.L)
        bits[i] ^= 1;
}

/* Values stay where they are; bit-1 positions are negated. */
static void np_key_layout(const void *state, const void *key, uint32_t *src, int8_t *sign,
                          float *denom)
{
    const struct kbt_geom *g = &((const struct np_state *)state)->g;
    const uint8_t *bits = key;
    kbt_layout_identity(g, src, sign, denom, 255.0f);
    for (size_t b = 0; b < g->nblocks; b++) {
        size_t base = kbt_block_base(g, b);
        for (size_t k = 0; k < g->L; k++)
            sign[base + g->off[k]] = bits[k] ? -1 : 1;
    }
}

static const struct kb_transform_ops np_ops = {
    .struct_size = sizeof(struct kb_transform_ops),
    .create = np_create,
    .destroy = np_destroy,
    .key_size = np_key_size,
    .keyspace_bits = np_keyspace_bits,
    .key_length = np_key_length,
    .key_make = np_key_make,
    .key_mutate = np_key_mutate,
    .key_agreement = np_key_agreement,
    .encrypt = np_encrypt,
    .decrypt = np_decrypt,
    .key_swap = np_key_swap,
    .key_flip = np_key_flip,
    .key_layout = np_key_layout,
};

static const struct kb_plugin np_plugin = {
    KB_PLUGIN_HEADER,
    .kind = KB_KIND_TRANSFORM,
    .name = "negpos",
    .version = "1.0.0",
    .summary = "block-wise negative/positive: p' = 255 - p where one key bit vector says so",
    .params = np_params,
    .caps = KB_CAP_KEYED | KB_CAP_KEY_BITS | KB_CAP_INVOLUTION,
    .ops = &np_ops,
};

KB_PLUGIN_ENTRY(&np_plugin)

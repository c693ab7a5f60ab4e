/* pixel_shuffle — block-wise pixel shuffling (SHF).
 *
 * Key: a permutation K of 0..L-1 (L = M·M·C), stored as L native-endian
 * uint32. Encrypt, in every block: out[k] = in[K[k]] (k the in-block index
 * (r·M + c)·C + ch), then x = p / 255. Decrypt: out[K[k]] = round(in[k]·255),
 * i.e. the inverse permutation. Key space log2(L!); M=4, C=3: 48! ≈ 2^203. */
#include <stdlib.h>

#include <keybench/rng.h>

#include "block.h"

struct shf_state {
    struct kbt_geom g;
};

static const struct kb_param shf_params[] = {
    { "block_size", KB_PARAM_INT, "4", 1, 1024, NULL, "block side M in pixels; must divide H and W" },
    { NULL, 0, NULL, 0, 0, NULL, NULL }
};

static int shf_create(void **state, const struct kb_params *params,
                      const struct kb_image_shape *shape, struct kb_error *err)
{
    struct shf_state *s = calloc(1, sizeof *s);
    if (!s)
        return kb_error_set(err, "pixel_shuffle: out of memory");
    if (kbt_geom_init(&s->g, params, shape, "pixel_shuffle", err) < 0) {
        free(s);
        return -1;
    }
    if (s->g.L > UINT32_MAX / 4) {
        size_t L = s->g.L;
        kbt_geom_free(&s->g);
        free(s);
        return kb_error_set(err, "pixel_shuffle: block of %zu values is too large", L);
    }
    *state = s;
    return 0;
}

static void shf_destroy(void *state)
{
    struct shf_state *s = state;
    if (!s)
        return;
    kbt_geom_free(&s->g);
    free(s);
}

static size_t shf_key_size(const void *state)
{
    return ((const struct shf_state *)state)->g.L * 4;
}

static double shf_keyspace_bits(const void *state)
{
    return kbt_log2_factorial((double)((const struct shf_state *)state)->g.L);
}

static size_t shf_key_length(const void *state)
{
    return ((const struct shf_state *)state)->g.L;
}

static void shf_key_make(const void *state, void *key, const uint8_t secret[32])
{
    const struct shf_state *s = state;
    uint8_t *k = key;
    struct kb_rng r;
    kb_rng_init(&r, secret, 0);
    /* kb_rng_permutation, done in place on the byte buffer (no alignment
     * assumption, no temporary copy of the key). */
    uint32_t L = (uint32_t)s->g.L;
    for (uint32_t i = 0; i < L; i++)
        kbt_st32(k + 4 * (size_t)i, i);
    for (uint32_t i = L; i > 1; i--) {
        uint32_t j = kb_rng_uniform(&r, i);
        uint32_t t = kbt_ld32(k + 4 * (size_t)(i - 1));
        kbt_st32(k + 4 * (size_t)(i - 1), kbt_ld32(k + 4 * (size_t)j));
        kbt_st32(k + 4 * (size_t)j, t);
    }
    kb_rng_wipe(&r);
}

static void shf_key_mutate(const void *state, void *key, struct kb_rng *rng)
{
    const struct shf_state *s = state;
    uint8_t *k = key;
    uint32_t L = (uint32_t)s->g.L;
    if (L < 2)
        return;
    uint32_t i = kb_rng_uniform(rng, L);
    uint32_t j = kb_rng_uniform(rng, L - 1);
    if (j >= i)
        j++; /* two distinct positions */
    uint32_t t = kbt_ld32(k + 4 * (size_t)i);
    kbt_st32(k + 4 * (size_t)i, kbt_ld32(k + 4 * (size_t)j));
    kbt_st32(k + 4 * (size_t)j, t);
}

static double shf_key_agreement(const void *state, const void *a, const void *b)
{
    const struct shf_state *s = state;
    const uint8_t *ka = a, *kb = b;
    if (s->g.L == 0)
        return 1.0;
    size_t same = 0;
    for (size_t k = 0; k < s->g.L; k++)
        same += kbt_ld32(ka + 4 * k) == kbt_ld32(kb + 4 * k);
    return (double)same / (double)s->g.L;
}

static void shf_encrypt(const void *state, const void *key, float *out, const uint8_t *in,
                        size_t n)
{
    const struct shf_state *s = state;
    const struct kbt_geom *g = &s->g;
    const uint8_t *K = key;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *src = in + i * g->image;
        float *dst = out + i * g->image;
        for (size_t b = 0; b < g->nblocks; b++) {
            size_t base = kbt_block_base(g, b);
            for (size_t k = 0; k < g->L; k++)
                dst[base + g->off[k]] = g->unit[src[base + g->off[kbt_ld32(K + 4 * k)]]];
        }
    }
}

static void shf_decrypt(const void *state, const void *key, uint8_t *out, const float *in,
                        size_t n)
{
    const struct shf_state *s = state;
    const struct kbt_geom *g = &s->g;
    const uint8_t *K = key;
    for (size_t i = 0; i < n; i++) {
        const float *src = in + i * g->image;
        uint8_t *dst = out + i * g->image;
        for (size_t b = 0; b < g->nblocks; b++) {
            size_t base = kbt_block_base(g, b);
            for (size_t k = 0; k < g->L; k++)
                dst[base + g->off[kbt_ld32(K + 4 * k)]] = kbt_u8(src[base + g->off[k]]);
        }
    }
}

/* Exchange permutation entries i and j (out of range: nothing). */
static void shf_key_swap(const void *state, void *key, size_t i, size_t j)
{
    const struct shf_state *s = state;
    uint8_t *k = key;
    if (i >= s->g.L || j >= s->g.L || i == j)
        return;
    uint32_t t = kbt_ld32(k + 4 * i);
    kbt_st32(k + 4 * i, kbt_ld32(k + 4 * j));
    kbt_st32(k + 4 * j, t);
}

/* out[k] = in[K[k]] in every block: a permutation of copied values. */
static void shf_key_layout(const void *state, const void *key, uint32_t *src, int8_t *sign,
                           float *denom)
{
    const struct kbt_geom *g = &((const struct shf_state *)state)->g;
    const uint8_t *K = key;
    kbt_layout_identity(g, src, sign, denom, 255.0f);
    for (size_t b = 0; b < g->nblocks; b++) {
        size_t base = kbt_block_base(g, b);
        for (size_t k = 0; k < g->L; k++)
            src[base + g->off[k]] = (uint32_t)(base + g->off[kbt_ld32(K + 4 * k)]);
    }
}

static const struct kb_transform_ops shf_ops = {
    .struct_size = sizeof(struct kb_transform_ops),
    .create = shf_create,
    .destroy = shf_destroy,
    .key_size = shf_key_size,
    .keyspace_bits = shf_keyspace_bits,
    .key_length = shf_key_length,
    .key_make = shf_key_make,
    .key_mutate = shf_key_mutate,
    .key_agreement = shf_key_agreement,
    .encrypt = shf_encrypt,
    .decrypt = shf_decrypt,
    .key_swap = shf_key_swap,
    .key_layout = shf_key_layout,
};

static const struct kb_plugin shf_plugin = {
    KB_PLUGIN_HEADER,
    .kind = KB_KIND_TRANSFORM,
    .name = "pixel_shuffle",
    .version = "1.0.0",
    .summary = "block-wise pixel shuffling: one key permutation of the M*M*C values of every block",
    .params = shf_params,
    .caps = KB_CAP_KEYED | KB_CAP_KEY_PERMUTATION,
    .ops = &shf_ops,
};

KB_PLUGIN_ENTRY(&shf_plugin)

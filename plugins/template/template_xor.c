/* template_xor — a tiny keyed transform to copy when writing a plugin.
 *
 * The image is cut into M×M blocks; every pixel of a block is XORed with a
 * key byte chosen by its position in the block and its channel, so the key is
 * M·M·C bytes (one key component each). The transform is its own inverse on
 * uint8 images. It is NOT a serious protection scheme: it only shows the ABI.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <keybench/plugin.h>

struct xor_state {
    uint32_t m;                /* block side */
    struct kb_image_shape shape;
    size_t key_len;            /* m * m * c */
};

static int xor_create(void **state, const struct kb_params *params,
                      const struct kb_image_shape *shape, struct kb_error *err)
{
    int64_t m = kb_params_int(params, "block_size");
    if (shape->h % m || shape->w % m)
        return kb_error_set(err, "block_size %lld must divide the image height %u and width %u",
                            (long long)m, shape->h, shape->w);
    struct xor_state *s = calloc(1, sizeof *s);
    if (!s)
        return kb_error_set(err, "out of memory");
    s->m = (uint32_t)m;
    s->shape = *shape;
    s->key_len = (size_t)m * (size_t)m * shape->c;
    *state = s;
    return 0;
}

static void xor_destroy(void *state)
{
    free(state);
}

static size_t xor_key_size(const void *state)
{
    return ((const struct xor_state *)state)->key_len;
}

static double xor_keyspace_bits(const void *state)
{
    return 8.0 * (double)((const struct xor_state *)state)->key_len;
}

static size_t xor_key_length(const void *state)
{
    return ((const struct xor_state *)state)->key_len;
}

static void xor_key_make(const void *state, void *key, const uint8_t secret[32])
{
    struct kb_rng r;
    kb_rng_init(&r, secret, 0);
    kb_rng_bytes(&r, key, xor_key_size(state));
    kb_rng_wipe(&r);
}

static void xor_key_mutate(const void *state, void *key, struct kb_rng *rng)
{
    const struct xor_state *s = state;
    uint8_t *k = key;
    k[kb_rng_uniform(rng, (uint32_t)s->key_len)] ^= (uint8_t)(1u << kb_rng_uniform(rng, 8));
}

static double xor_key_agreement(const void *state, const void *a, const void *b)
{
    const struct xor_state *s = state;
    const uint8_t *x = a, *y = b;
    size_t same = 0;
    for (size_t i = 0; i < s->key_len; i++)
        same += x[i] == y[i];
    return (double)same / (double)s->key_len;
}

/* Key byte of pixel (y, x), channel ch. */
static uint8_t key_at(const struct xor_state *s, const uint8_t *k, uint32_t y, uint32_t x,
                      uint32_t ch)
{
    return k[((size_t)(y % s->m) * s->m + x % s->m) * s->shape.c + ch];
}

static void xor_encrypt(const void *state, const void *key, float *out, const uint8_t *in,
                        size_t n)
{
    const struct xor_state *s = state;
    size_t px = 0;
    for (size_t i = 0; i < n; i++)
        for (uint32_t y = 0; y < s->shape.h; y++)
            for (uint32_t x = 0; x < s->shape.w; x++)
                for (uint32_t ch = 0; ch < s->shape.c; ch++, px++)
                    out[px] = (float)(in[px] ^ key_at(s, key, y, x, ch)) / 255.0f;
}

static void xor_decrypt(const void *state, const void *key, uint8_t *out, const float *in,
                        size_t n)
{
    const struct xor_state *s = state;
    size_t px = 0;
    for (size_t i = 0; i < n; i++)
        for (uint32_t y = 0; y < s->shape.h; y++)
            for (uint32_t x = 0; x < s->shape.w; x++)
                for (uint32_t ch = 0; ch < s->shape.c; ch++, px++) {
                    float v = roundf(in[px] * 255.0f);
                    uint8_t b = v <= 0.0f ? 0 : v >= 255.0f ? 255 : (uint8_t)v;
                    out[px] = b ^ key_at(s, key, y, x, ch);
                }
}

static const struct kb_param params[] = {
    { "block_size", KB_PARAM_INT, "4", 1, 1024, NULL, "block side M in pixels" },
    { NULL },
};

static const struct kb_transform_ops ops = {
    .struct_size = sizeof ops,
    .create = xor_create,
    .destroy = xor_destroy,
    .key_size = xor_key_size,
    .keyspace_bits = xor_keyspace_bits,
    .key_length = xor_key_length,
    .key_make = xor_key_make,
    .key_mutate = xor_key_mutate,
    .key_agreement = xor_key_agreement,
    .encrypt = xor_encrypt,
    .decrypt = xor_decrypt,
};

static const struct kb_plugin template_xor = {
    KB_PLUGIN_HEADER,
    .kind = KB_KIND_TRANSFORM,
    .name = "template_xor",
    .version = "1.0.0",
    .summary = "example plugin: XOR each M×M block with a keyed byte pattern",
    .params = params,
    .caps = KB_CAP_KEYED | KB_CAP_INVOLUTION,
    .ops = &ops,
};

KB_PLUGIN_ENTRY(&template_xor)

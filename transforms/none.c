/* none — the plain baseline through the transform path: x = p / 255.
 *
 * No key (key_size 1: a single zero byte, so key buffers are never empty),
 * key space 0 bits. Decrypt is round(x·255). It is trivially an involution
 * on uint8 images (encrypt∘encrypt is the identity there). */
#include <stdlib.h>

#include "block.h"

struct none_state {
    struct kbt_geom g;
};

static const struct kb_param none_params[] = {
    { "block_size", KB_PARAM_INT, "4", 1, 1024, NULL,
      "block side M in pixels (unused by the identity; must divide H and W like every transform)" },
    { NULL, 0, NULL, 0, 0, NULL, NULL }
};

static int none_create(void **state, const struct kb_params *params,
                       const struct kb_image_shape *shape, struct kb_error *err)
{
    struct none_state *s = calloc(1, sizeof *s);
    if (!s)
        return kb_error_set(err, "none: out of memory");
    if (kbt_geom_init(&s->g, params, shape, "none", err) < 0) {
        free(s);
        return -1;
    }
    *state = s;
    return 0;
}

static void none_destroy(void *state)
{
    struct none_state *s = state;
    if (!s)
        return;
    kbt_geom_free(&s->g);
    free(s);
}

static size_t none_key_size(const void *state) { (void)state; return 1; }
static double none_keyspace_bits(const void *state) { (void)state; return 0.0; }
static size_t none_key_length(const void *state) { (void)state; return 0; }

static void none_key_make(const void *state, void *key, const uint8_t secret[32])
{
    (void)state; (void)secret;
    ((uint8_t *)key)[0] = 0;
}

static void none_key_mutate(const void *state, void *key, struct kb_rng *rng)
{
    (void)state; (void)key; (void)rng;
}

static double none_key_agreement(const void *state, const void *a, const void *b)
{
    (void)state; (void)a; (void)b;
    return 1.0;
}

static void none_encrypt(const void *state, const void *key, float *out, const uint8_t *in,
                         size_t n)
{
    const struct none_state *s = state;
    (void)key;
    size_t total = n * s->g.image;
    for (size_t i = 0; i < total; i++)
        out[i] = s->g.unit[in[i]];
}

static void none_decrypt(const void *state, const void *key, uint8_t *out, const float *in,
                         size_t n)
{
    const struct none_state *s = state;
    (void)key;
    size_t total = n * s->g.image;
    for (size_t i = 0; i < total; i++)
        out[i] = kbt_u8(in[i]);
}

/* Every value copied: x = p / 255. */
static void none_key_layout(const void *state, const void *key, uint32_t *src, int8_t *sign,
                            float *denom)
{
    (void)key;
    kbt_layout_identity(&((const struct none_state *)state)->g, src, sign, denom, 255.0f);
}

static const struct kb_transform_ops none_ops = {
    .struct_size = sizeof(struct kb_transform_ops),
    .create = none_create,
    .destroy = none_destroy,
    .key_size = none_key_size,
    .keyspace_bits = none_keyspace_bits,
    .key_length = none_key_length,
    .key_make = none_key_make,
    .key_mutate = none_key_mutate,
    .key_agreement = none_key_agreement,
    .encrypt = none_encrypt,
    .decrypt = none_decrypt,
    .key_layout = none_key_layout,
};

static const struct kb_plugin none_plugin = {
    KB_PLUGIN_HEADER,
    .kind = KB_KIND_TRANSFORM,
    .name = "none",
    .version = "1.0.0",
    .summary = "plain baseline: x = p/255, no key",
    .params = none_params,
    .caps = KB_CAP_INVOLUTION,
    .ops = &none_ops,
};

KB_PLUGIN_ENTRY(&none_plugin)

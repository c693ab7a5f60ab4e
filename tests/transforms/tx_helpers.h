/* Shared helpers of the transform tests: load a built transform plugin with
 * dlopen from $KEYBENCH_BUILD_ROOT/transforms/<name>.so, resolve params from
 * "k=v,k=v" settings, create a state, make keys and deterministic images. */
#ifndef KB_TESTS_TX_HELPERS_H
#define KB_TESTS_TX_HELPERS_H

#include <keybench/plugin.h>

struct tx {
    void *dl;
    const struct kb_plugin *plugin;
    const struct kb_transform_ops *ops;
    struct kb_params *params;
    void *state;
    struct kb_image_shape shape;
    size_t image;       /* values per image */
};

/* The plugin descriptor of transforms/<name>.so (asserts on failure; the
 * library handle stays open for the test process). */
const struct kb_plugin *tx_plugin(const char *name);
/* Open + params + create. Returns 0, or -1 with err filled by params/create. */
int tx_open(struct tx *t, const char *name, const char *settings, uint32_t h, uint32_t w,
            uint32_t c, struct kb_error *err);
void tx_close(struct tx *t);

/* A key made from the secret {s, s+1, ..., s+31}, in a buffer allocated one
 * byte past a malloc boundary (unaligned on purpose). Free with tx_key_free. */
uint8_t *tx_key(const struct tx *t, uint8_t s);
/* A key made from a given secret. */
uint8_t *tx_key_from(const struct tx *t, const uint8_t secret[32]);
void tx_key_free(uint8_t *key);

/* n images of t's shape with fixed pseudo-random content from `seed`
 * (covers all 256 values for large enough images). malloc'd. */
uint8_t *tx_images(const struct tx *t, size_t n, uint32_t seed);

#endif

/* Stub transform ops shared by the test plugins (they are loaded, never run). */
#ifndef KB_TEST_OPS_H
#define KB_TEST_OPS_H
#include <keybench/plugin.h>

static inline int t_create(void **state, const struct kb_params *params,
                           const struct kb_image_shape *shape, struct kb_error *err)
{
    (void)params; (void)shape; (void)err;
    *state = NULL;
    return 0;
}
static inline void t_destroy(void *state) { (void)state; }
static inline size_t t_key_size(const void *state) { (void)state; return 1; }
static inline double t_bits(const void *state) { (void)state; return 8.0; }
static inline size_t t_key_length(const void *state) { (void)state; return 1; }
static inline void t_key_make(const void *state, void *key, const uint8_t secret[32])
{
    (void)state;
    *(uint8_t *)key = secret[0];
}
static inline void t_key_mutate(const void *state, void *key, struct kb_rng *rng)
{
    (void)state; (void)rng;
    *(uint8_t *)key ^= 1;
}
static inline double t_agree(const void *state, const void *a, const void *b)
{
    (void)state;
    return *(const uint8_t *)a == *(const uint8_t *)b;
}
static inline void t_encrypt(const void *state, const void *key, float *out, const uint8_t *in,
                             size_t n)
{
    (void)state; (void)key; (void)out; (void)in; (void)n;
}
static inline void t_decrypt(const void *state, const void *key, uint8_t *out, const float *in,
                             size_t n)
{
    (void)state; (void)key; (void)out; (void)in; (void)n;
}

static inline int t_attack_run(struct kb_attack *a, const struct kb_params *params,
                               struct kb_error *err)
{
    (void)a; (void)params; (void)err;
    return 0;
}
#define TEST_ATTACK_OPS_INIT .struct_size = sizeof(struct kb_attack_ops), .run = t_attack_run

#define TEST_OPS_INIT                                                              \
    .struct_size = sizeof(struct kb_transform_ops), .create = t_create,            \
    .destroy = t_destroy, .key_size = t_key_size, .keyspace_bits = t_bits,         \
    .key_length = t_key_length, .key_make = t_key_make, .key_mutate = t_key_mutate, \
    .key_agreement = t_agree, .encrypt = t_encrypt, .decrypt = t_decrypt

#endif

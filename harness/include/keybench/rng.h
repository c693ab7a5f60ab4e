/* keybench/rng.h — deterministic random streams.
 *
 * Every permutation and bit vector keybench draws comes from a ChaCha20
 * keystream (libsodium's crypto_stream_chacha20_ietf) keyed by 32 bytes of
 * secret material, with unbiased bounded sampling. The same key and stream id
 * give the same draws on every machine:
 *
 *     struct kb_rng r;
 *     kb_rng_init(&r, secret32, 0);
 *     uint32_t perm[48];
 *     kb_rng_permutation(&r, perm, 48);   // Fisher–Yates
 *     kb_rng_wipe(&r);                    // the state is secret: wipe it
 *
 * Non-secret randomness (data splits, weight init) uses the same generator
 * keyed from a seed with kb_rng_init_seed.
 */
#ifndef KEYBENCH_RNG_H
#define KEYBENCH_RNG_H

#include <keybench/common.h>

#ifdef __cplusplus
extern "C" {
#endif

struct kb_rng {
    uint8_t key[32];
    uint8_t nonce[12];
    uint32_t counter;     /* next ChaCha20 block */
    uint8_t buf[64];      /* current keystream block */
    unsigned pos;         /* bytes of buf used */
};

/* Key the stream with 32 bytes of secret material and a stream id (the nonce). */
KB_API void kb_rng_init(struct kb_rng *r, const uint8_t key[32], uint64_t stream);
/* Key the stream from a public seed and a domain label (e.g. "split", "init"). */
KB_API void kb_rng_init_seed(struct kb_rng *r, uint64_t seed, const char *domain);
KB_API void kb_rng_bytes(struct kb_rng *r, void *out, size_t n);
KB_API uint32_t kb_rng_u32(struct kb_rng *r);
KB_API uint64_t kb_rng_u64(struct kb_rng *r);
/* Uniform in [0, bound) without modulo bias (rejection sampling); bound >= 1. */
KB_API uint32_t kb_rng_uniform(struct kb_rng *r, uint32_t bound);
/* Uniform double in [0, 1) with 53 random bits. */
KB_API double kb_rng_double(struct kb_rng *r);
/* perm := a uniformly random permutation of 0..n-1 (Fisher–Yates). */
KB_API void kb_rng_permutation(struct kb_rng *r, uint32_t *perm, uint32_t n);
/* Shuffle an existing array of n uint32 in place (Fisher–Yates). */
KB_API void kb_rng_shuffle(struct kb_rng *r, uint32_t *a, uint32_t n);
/* Wipe the state (sodium_memzero). */
KB_API void kb_rng_wipe(struct kb_rng *r);

#ifdef __cplusplus
}
#endif
#endif

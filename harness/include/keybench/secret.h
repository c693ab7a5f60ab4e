/* keybench/secret.h — master secrets, per-cell key derivation, fingerprints.
 *
 *     struct kb_error err = {0};
 *     uint8_t *master = kb_secret_alloc();          // sodium_malloc'd, locked
 *     if (kb_secret_load(master, "lab.key", &err) < 0) ...
 *     uint8_t *cell = kb_secret_alloc();
 *     // the context is kb_key_context() (keybench/keys.h), e.g.
 *     // {"transform":"ffx","params":{"bits":"fixed","block_size":4},"seed":0}
 *     kb_key_derive(cell, master, "ffx", params, 0, &err);
 *     ... transform->key_make(state, key, cell) ...
 *     kb_secret_free(cell); kb_secret_free(master);  // wiped
 *
 * A master secret is 32 random bytes in a file of mode 0600 (`keybench keygen`).
 * Transform keys are derived from it with keyed BLAKE2b over a context string
 * that names the transform, its parameters and the cell's seed. Logs and
 * reports show only fingerprints (kb_fingerprint), never key material.
 */
#ifndef KEYBENCH_SECRET_H
#define KEYBENCH_SECRET_H

#include <keybench/common.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KB_SECRET_BYTES 32
#define KB_FINGERPRINT_CHARS 16   /* hex characters, without the NUL */

/* Guarded, locked allocation for secret material (libsodium sodium_malloc);
 * kb_secret_free wipes before freeing. kb_secret_alloc returns NULL only on OOM. */
KB_API void *kb_secret_alloc_size(size_t size);
KB_API uint8_t *kb_secret_alloc(void);            /* KB_SECRET_BYTES */
KB_API void kb_secret_free(void *p);

/* Write a fresh random master secret to `path`, mode 0600; refuses to
 * overwrite an existing file. */
KB_API int kb_secret_generate_file(const char *path, struct kb_error *err) KB_WUR;

/* Read a master secret. A file that is not exactly KB_SECRET_BYTES bytes is
 * an error naming the file and both sizes. A group- or world-readable file is
 * loaded with a warning: *warn (if non-NULL) is set to true and err->msg holds
 * the warning text. */
KB_API int kb_secret_load(uint8_t out[KB_SECRET_BYTES], const char *path, bool *warn,
                          struct kb_error *err) KB_WUR;

/* Fill with fresh randomness (randombytes_buf): "wrong key" trials use these. */
KB_API void kb_secret_random(uint8_t out[KB_SECRET_BYTES]);

/* out := keyed BLAKE2b-256(key = master, "keybench.key.v1\0" || context). */
KB_API void kb_secret_derive(uint8_t out[KB_SECRET_BYTES], const uint8_t master[KB_SECRET_BYTES],
                             const char *context);

/* Short public fingerprint of HIGH-ENTROPY material (a 32-byte master secret):
 * the first 8 bytes of BLAKE2b("keybench.fingerprint.v1\0" || data) in hex.
 * `out` holds 17 chars. Never use it on a transform key: a plain hash of a
 * key from a small key space (negpos at M=4 on gray images: 11,440 keys) can
 * be brute-forced offline. Use kb_key_fingerprint. */
KB_API void kb_fingerprint(char out[KB_FINGERPRINT_CHARS + 1], const void *data, size_t size);

/* Fingerprint of a transform key, keyed by the secret it was derived from
 * (the master, or the random secret of a wrong key): the first 8 bytes of
 * BLAKE2b-MAC(key = secret, "keybench.key-fingerprint.v1\0" || key bytes) in
 * hex. Stable for one master secret; without it, useless for testing guesses. */
KB_API void kb_key_fingerprint(char out[KB_FINGERPRINT_CHARS + 1],
                               const uint8_t secret[KB_SECRET_BYTES], const void *key,
                               size_t size);

#ifdef __cplusplus
}
#endif
#endif

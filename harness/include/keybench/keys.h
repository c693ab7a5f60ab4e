/* keybench/keys.h — deriving a transform's key from the master secret.
 *
 * Every transform key keybench makes (the runner's cells, `keybench encrypt`,
 * `keybench samples`) comes from the master secret through ONE context
 * string, so the CLI and the runner agree on the key of a configuration:
 *
 *     {"transform":"ffx","params":{"bits":"fixed","block_size":4},"seed":0}
 *
 * canonical JSON (no spaces): the transform name, every parameter that has a
 * value (defaults included, so spelling out a default gives the same key),
 * sorted by name, typed (int -> integer, float -> number, bool -> true/false,
 * string/choice -> string), then the seed. Optional parameters without a
 * value are left out.
 *
 *     char *ctx = kb_key_context("ffx", params, 0);
 *     kb_secret_derive(cell_secret, master, ctx);     // keyed BLAKE2b
 *     free(ctx);
 *     ops->key_make(state, key, cell_secret);
 *
 * Note: adding a parameter (with a default) to a transform changes the
 * context, hence every key of that transform.
 */
#ifndef KEYBENCH_KEYS_H
#define KEYBENCH_KEYS_H

#include <keybench/common.h>
#include <keybench/params.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The canonical context string (malloc'd; free it). NULL only on OOM. */
KB_API char *kb_key_context(const char *transform, const struct kb_params *params, uint64_t seed);

/* out := kb_secret_derive(master, kb_key_context(transform, params, seed)).
 * Returns 0, or -1 (out of memory) with err filled. */
KB_API int kb_key_derive(uint8_t out[32], const uint8_t master[32], const char *transform,
                         const struct kb_params *params, uint64_t seed,
                         struct kb_error *err) KB_WUR;

#ifdef __cplusplus
}
#endif
#endif

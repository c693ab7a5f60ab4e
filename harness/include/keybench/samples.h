/* keybench/samples.h — sample-image grids: what `keybench samples` writes and
 * what the runner leaves in every cell (cells/<id>/samples.png) for the report.
 *
 *     size_t idx[8];
 *     size_t n = kb_samples_pick(idx, &test, 8);           // one image per class in turn
 *     kb_samples_cell("cells/ab12/samples.png", &test, ops, state, key, key_size, 8, &rng, &err);
 *
 * Keys never leave memory: a grid holds pixels only.
 */
#ifndef KEYBENCH_SAMPLES_H
#define KEYBENCH_SAMPLES_H

#include <keybench/common.h>
#include <keybench/dataset.h>
#include <keybench/image.h>
#include <keybench/plugin.h>
#include <keybench/rng.h>

#ifdef __cplusplus
extern "C" {
#endif

/* White space between and around the images of a grid, in pixels. */
#define KB_SAMPLES_PAD 2u

/* Indices of up to n images of ds, one per class in turn (a class that runs
 * out gives way to any unused image). Returns how many were picked. */
KB_API size_t kb_samples_pick(size_t *idx, const struct kb_dataset *ds, size_t n);

/* Transform output in [0,1] to display pixels: round(x * 255), clamped. */
KB_API void kb_samples_to_u8(uint8_t *out, const float *x, size_t n);

/* The default magnification: 2 below 64 pixels, else 1. */
KB_API uint32_t kb_samples_scale(const struct kb_image_shape *shape);

/* A white-padded grid of images of `shape`, each magnified by `scale`.
 * `strips[s]` holds `per_strip` images back to back; with `strips_are_columns`
 * strip s is column s (a row per image), otherwise it is row s. out->pixels is
 * malloc'd (kb_image_free). Fails when the grid would pass 65535 pixels. */
KB_API int kb_samples_grid(struct kb_image *out, const uint8_t *const *strips, size_t n_strips,
                           size_t per_strip, bool strips_are_columns,
                           const struct kb_image_shape *shape, uint32_t scale,
                           struct kb_error *err) KB_WUR;

/* A cell's grid, written atomically to `path`: n test images of `ds` (one per
 * class) in three rows: the images; encrypted with `key`; for a keyed
 * transform, encrypted with `key` and decrypted with a wrong key drawn from
 * `rng` (a public stream: the same grid on a rerun; two rows otherwise). */
KB_API int kb_samples_cell(const char *path, const struct kb_dataset *ds,
                           const struct kb_plugin *transform, const void *state, const void *key,
                           size_t key_size, size_t n, struct kb_rng *rng,
                           struct kb_error *err) KB_WUR;

#ifdef __cplusplus
}
#endif
#endif

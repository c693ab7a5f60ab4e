/* keybench/image.h — PNG files in and out (libpng).
 *
 *     struct kb_image img = {0};
 *     if (kb_png_read(&img, "cat.png", &err) < 0) ...      // uint8 H×W×C, C = 1 or 3
 *     kb_png_write("out.png", img.pixels, img.h, img.w, img.c, &err);
 *     kb_image_free(&img);
 *
 * Reading accepts 8-bit gray, gray+alpha, RGB, RGBA and palette PNGs; alpha is
 * dropped (documented in docs/datasets.md), palette becomes RGB. Anything else
 * (16-bit samples, 1/2/4-bit gray, a corrupt file) is refused with one error
 * line naming the file and what was expected. Writing is atomic.
 */
#ifndef KEYBENCH_IMAGE_H
#define KEYBENCH_IMAGE_H

#include <keybench/common.h>

#ifdef __cplusplus
extern "C" {
#endif

struct kb_image {
    uint32_t h, w, c;   /* c = 1 (gray) or 3 (RGB) */
    uint8_t *pixels;    /* h×w×c, row-major, channel fastest; malloc'd */
};

KB_API int kb_png_read(struct kb_image *img, const char *path, struct kb_error *err) KB_WUR;
/* c = 1 or 3. Written to a temp file and renamed over `path`. */
KB_API int kb_png_write(const char *path, const uint8_t *pixels, uint32_t h, uint32_t w,
                        uint32_t c, struct kb_error *err) KB_WUR;
KB_API void kb_image_free(struct kb_image *img);

#ifdef __cplusplus
}
#endif
#endif

/* PNG read/write with libpng (keybench/image.h).
 *
 * Reading: the whole file is read into memory and fed to libpng, so a short
 * file is reported as truncated rather than as a bare "Read Error". libpng
 * errors longjmp back here and become one error line naming the file.
 * Accepted: 8-bit gray, gray+alpha, RGB, RGBA; palette of any depth. Alpha is
 * dropped, palette expands to RGB (tRNS is ignored). Interlaced images are
 * de-interlaced. Refused: 16-bit samples and 1/2/4-bit gray.
 * Writing: encoded into memory, then kb_file_write_atomic. */
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <keybench/image.h>

#define PNG_MAX_FILE (1ull << 31)
#define PNG_MAX_SIDE 65536u

struct png_ctx {
    const char *path;
    char msg[512];
    /* reading */
    const uint8_t *data;
    size_t size, pos;
    /* writing */
    uint8_t *out;
    size_t out_len, out_cap;
    int oom;
};

static void on_error(png_structp png, png_const_charp msg)
{
    struct png_ctx *ctx = png_get_error_ptr(png);
    snprintf(ctx->msg, sizeof ctx->msg, "%s", msg ? msg : "libpng error");
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

static void read_mem(png_structp png, png_bytep out, png_size_t n)
{
    struct png_ctx *ctx = png_get_io_ptr(png);
    if (n > ctx->size - ctx->pos) {
        snprintf(ctx->msg, sizeof ctx->msg, "truncated: file ends at byte %zu", ctx->size);
        png_longjmp(png, 1);
    }
    memcpy(out, ctx->data + ctx->pos, n);
    ctx->pos += n;
}

void kb_image_free(struct kb_image *img)
{
    if (!img)
        return;
    free(img->pixels);
    memset(img, 0, sizeof *img);
}

/* Body of kb_png_read after the file is in memory; pixels go to *out. Kept
 * separate so that nothing modified after setjmp lives in this frame except
 * through the volatile/heap objects. */
static int decode(struct kb_image *img, struct png_ctx *ctx, struct kb_error *err)
{
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, ctx, on_error, on_warning);
    if (!png)
        return kb_error_set(err, "%s: out of memory (libpng)", ctx->path);
    png_infop info = png_create_info_struct(png);
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        return kb_error_set(err, "%s: out of memory (libpng)", ctx->path);
    }
    uint8_t *volatile pixels = NULL;
    png_bytep *volatile rows = NULL;
    if (setjmp(png_jmpbuf(png))) {
        free(pixels);
        free(rows);
        png_destroy_read_struct(&png, &info, NULL);
        return kb_error_set(err, "%s: corrupt PNG at byte %zu: %s; expected a valid 8-bit PNG",
                            ctx->path, ctx->pos, ctx->msg);
    }
    png_set_read_fn(png, ctx, read_mem);
    png_set_user_limits(png, PNG_MAX_SIDE, PNG_MAX_SIDE);
    png_read_info(png, info);
    png_uint_32 w = 0, h = 0;
    int depth = 0, ctype = 0, interlace = 0;
    png_get_IHDR(png, info, &w, &h, &depth, &ctype, &interlace, NULL, NULL);
    const char *refuse = NULL;
    if (depth == 16)
        refuse = "16-bit samples";
    else if (depth < 8 && ctype != PNG_COLOR_TYPE_PALETTE)
        refuse = depth == 1   ? "1-bit grayscale"
                 : depth == 2 ? "2-bit grayscale"
                              : "4-bit grayscale";
    if (refuse) {
        png_destroy_read_struct(&png, &info, NULL);
        return kb_error_set(err, "%s: %s (%ux%u); expected 8-bit gray, gray+alpha, RGB, RGBA or "
                            "palette PNG", ctx->path, refuse, (unsigned)w, (unsigned)h);
    }
    uint32_t c;
    switch (ctype) {
    case PNG_COLOR_TYPE_GRAY:
        c = 1;
        break;
    case PNG_COLOR_TYPE_GRAY_ALPHA:
        png_set_strip_alpha(png);
        c = 1;
        break;
    case PNG_COLOR_TYPE_PALETTE:
        png_set_palette_to_rgb(png);
        c = 3;
        break;
    case PNG_COLOR_TYPE_RGB:
        c = 3;
        break;
    case PNG_COLOR_TYPE_RGB_ALPHA:
        png_set_strip_alpha(png);
        c = 3;
        break;
    default:
        png_destroy_read_struct(&png, &info, NULL);
        return kb_error_set(err, "%s: PNG color type %d; expected gray, gray+alpha, RGB, RGBA or "
                            "palette", ctx->path, ctype);
    }
    if (interlace != PNG_INTERLACE_NONE)
        png_set_interlace_handling(png);
    png_read_update_info(png, info);
    size_t rowbytes = png_get_rowbytes(png, info);
    if (rowbytes != (size_t)w * c || png_get_channels(png, info) != c ||
        png_get_bit_depth(png, info) != 8) {
        png_destroy_read_struct(&png, &info, NULL);
        return kb_error_set(err, "%s: unexpected row layout after conversion (%zu bytes per row); "
                            "expected %zu", ctx->path, rowbytes, (size_t)w * c);
    }
    uint64_t bytes = (uint64_t)h * w * c;
    /* zlib cannot expand data more than ~1032:1: a tiny file that claims a
     * huge image is refused before allocating. */
    if ((uint64_t)h * w > (uint64_t)ctx->size * 1100u + 4096u) {
        png_destroy_read_struct(&png, &info, NULL);
        return kb_error_set(err, "%s: header claims %ux%u pixels, more than a %zu-byte PNG can "
                            "hold; expected a consistent header", ctx->path, (unsigned)h,
                            (unsigned)w, ctx->size);
    }
    if (bytes > SIZE_MAX || bytes > (1ull << 34)) {
        png_destroy_read_struct(&png, &info, NULL);
        return kb_error_set(err, "%s: %ux%ux%u image is too large; expected at most 16 GiB",
                            ctx->path, (unsigned)h, (unsigned)w, c);
    }
    pixels = malloc((size_t)bytes);
    rows = malloc((size_t)h * sizeof *rows);
    if (!pixels || !rows) {
        free(pixels);
        free(rows);
        png_destroy_read_struct(&png, &info, NULL);
        return kb_error_set(err, "%s: out of memory for a %ux%ux%u image", ctx->path,
                            (unsigned)h, (unsigned)w, c);
    }
    for (png_uint_32 y = 0; y < h; y++)
        rows[y] = pixels + (size_t)y * rowbytes;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    free(rows);
    png_destroy_read_struct(&png, &info, NULL);
    img->h = h;
    img->w = w;
    img->c = c;
    img->pixels = pixels;
    return 0;
}

int kb_png_read(struct kb_image *img, const char *path, struct kb_error *err)
{
    memset(img, 0, sizeof *img);
    uint8_t *data = NULL;
    size_t size = 0;
    if (kb_file_read_all(path, PNG_MAX_FILE, &data, &size, err) < 0)
        return -1;
    if (size < 8 || png_sig_cmp(data, 0, 8)) {
        free(data);
        return kb_error_set(err, "%s: not a PNG file (%s); expected the 8-byte PNG signature "
                            "89 50 4E 47 0D 0A 1A 0A", path,
                            size < 8 ? "shorter than the signature" : "bad signature");
    }
    struct png_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx) {
        free(data);
        return kb_error_set(err, "%s: out of memory", path);
    }
    ctx->path = path;
    ctx->data = data;
    ctx->size = size;
    int rc = decode(img, ctx, err);
    free(ctx);
    free(data);
    return rc;
}

static void write_mem(png_structp png, png_bytep data, png_size_t n)
{
    struct png_ctx *ctx = png_get_io_ptr(png);
    if (n > ctx->out_cap - ctx->out_len) {
        size_t cap = ctx->out_cap ? ctx->out_cap : 4096;
        while (cap - ctx->out_len < n) {
            if (cap > SIZE_MAX / 2) {
                snprintf(ctx->msg, sizeof ctx->msg, "image too large");
                png_longjmp(png, 1);
            }
            cap *= 2;
        }
        uint8_t *nb = realloc(ctx->out, cap);
        if (!nb) {
            snprintf(ctx->msg, sizeof ctx->msg, "out of memory");
            png_longjmp(png, 1);
        }
        ctx->out = nb;
        ctx->out_cap = cap;
    }
    memcpy(ctx->out + ctx->out_len, data, n);
    ctx->out_len += n;
}

static void flush_mem(png_structp png)
{
    (void)png;
}

static int encode(struct png_ctx *ctx, const uint8_t *pixels, uint32_t h, uint32_t w, uint32_t c,
                  struct kb_error *err)
{
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, ctx, on_error, on_warning);
    if (!png)
        return kb_error_set(err, "%s: out of memory (libpng)", ctx->path);
    png_infop info = png_create_info_struct(png);
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        return kb_error_set(err, "%s: out of memory (libpng)", ctx->path);
    }
    png_bytep *volatile rows = NULL;
    if (setjmp(png_jmpbuf(png))) {
        free(rows);
        png_destroy_write_struct(&png, &info);
        return kb_error_set(err, "%s: cannot encode PNG: %s", ctx->path, ctx->msg);
    }
    rows = malloc((size_t)h * sizeof *rows);
    if (!rows) {
        png_destroy_write_struct(&png, &info);
        return kb_error_set(err, "%s: out of memory", ctx->path);
    }
    for (uint32_t y = 0; y < h; y++)
        rows[y] = (png_bytep)(uintptr_t)(pixels + (size_t)y * w * c);
    png_set_write_fn(png, ctx, write_mem, flush_mem);
    png_set_IHDR(png, info, w, h, 8, c == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    png_write_image(png, rows);
    png_write_end(png, NULL);
    free(rows);
    png_destroy_write_struct(&png, &info);
    return 0;
}

int kb_png_write(const char *path, const uint8_t *pixels, uint32_t h, uint32_t w, uint32_t c,
                 struct kb_error *err)
{
    if (c != 1 && c != 3)
        return kb_error_set(err, "%s: cannot write a %u-channel image; expected 1 (gray) or 3 "
                            "(RGB)", path, c);
    if (h == 0 || w == 0 || h > PNG_MAX_SIDE || w > PNG_MAX_SIDE)
        return kb_error_set(err, "%s: cannot write a %ux%u image; expected sides 1..%u", path, h,
                            w, PNG_MAX_SIDE);
    struct png_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return kb_error_set(err, "%s: out of memory", path);
    ctx->path = path;
    int rc = encode(ctx, pixels, h, w, c, err);
    if (rc == 0)
        rc = kb_file_write_atomic(path, ctx->out, ctx->out_len, 0644, false, err);
    free(ctx->out);
    free(ctx);
    return rc;
}

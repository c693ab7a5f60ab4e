/* transforms/block.h — block segmentation shared by every transform plugin
 * (internal to transforms/, linked into each module as a static library).
 *
 * An image is uint8 H×W×C, row-major, channel fastest. With block size M
 * (dividing H and W) the blocks are taken in row-major order over the
 * (H/M)×(W/M) block grid; inside a block the flat index is
 *
 *     k = (r·M + c)·C + ch        (row r, column c, channel ch)
 *
 * so L = M·M·C values per block. off[k] is the offset of in-block index k
 * from the block's first value; kbt_block_base gives that first value's
 * offset in the image. Every transform applies ONE key to every block.
 */
#ifndef KB_TRANSFORMS_BLOCK_H
#define KB_TRANSFORMS_BLOCK_H

#include <string.h>

#include <keybench/plugin.h>

struct kbt_geom {
    uint32_t h, w, c, m;  /* image H, W, C and the block size M */
    uint32_t bh, bw;      /* block grid: H/M rows, W/M columns */
    size_t nblocks;       /* bh·bw */
    size_t L;             /* values per block: M·M·C */
    size_t image;         /* values per image: H·W·C */
    size_t *off;          /* L offsets (see above) */
    float unit[256];      /* unit[p] = p / 255.0f (kbt_unit, as a table) */
};

/* Read `block_size` from params, check it against the shape and fill g
 * (g->off is malloc'd). `plugin` names the transform in the error, e.g.
 * "pixel_shuffle: block_size=5 does not divide the image size 28x28 (HxW);
 * block sizes that do: 1, 2, 4, 7, 14, 28". */
int kbt_geom_init(struct kbt_geom *g, const struct kb_params *params,
                  const struct kb_image_shape *shape, const char *plugin,
                  struct kb_error *err);
void kbt_geom_free(struct kbt_geom *g);

/* Offset of block b's first value (b in row-major block order). */
static inline size_t kbt_block_base(const struct kbt_geom *g, size_t b)
{
    size_t by = b / g->bw, bx = b % g->bw;
    return (by * g->m * g->w + bx * g->m) * g->c;
}

/* uint8 -> [0,1] exactly as ToTensor does it: p / 255 in float32. */
static inline float kbt_unit(uint8_t p)
{
    return (float)p / 255.0f;
}

/* [0,1] -> uint8: round(x·255), clamped (NaN -> 0). Inverse of kbt_unit. */
static inline uint8_t kbt_u8(float x)
{
    if (!(x > 0.0f))
        return 0;
    float y = x * 255.0f;
    if (y >= 255.0f)
        return 255;
    return (uint8_t)(y + 0.5f);
}

/* Unaligned little/native-endian loads and stores of key fields: key
 * buffers are plain bytes and may sit at any address (sodium_malloc). */
static inline uint32_t kbt_ld32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline void kbt_st32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, sizeof v);
}
static inline uint16_t kbt_ld16(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline void kbt_st16(uint8_t *p, uint16_t v)
{
    memcpy(p, &v, sizeof v);
}

/* key_layout helper: every value copied from itself (src[k] = k, sign +1)
 * with denominator `denom`; transforms then change what their key moves. */
void kbt_layout_identity(const struct kbt_geom *g, uint32_t *src, int8_t *sign, float *denom,
                         float value_denom);

/* log2(n!) via lgamma. */
double kbt_log2_factorial(double n);
/* log2(n choose k). */
double kbt_log2_binomial(double n, double k);

/* Bit-vector keys (negpos, ffx): the `bits` param.
 *  - fixed   (the authors' code): bit[k] = perm[k] > L/2 for a random
 *             permutation perm of 0..L-1, so exactly ceil(L/2)-1 ones;
 *  - uniform: every bit independent and uniform. */
enum kbt_bits_mode { KBT_BITS_FIXED = 0, KBT_BITS_UNIFORM = 1 };

/* Parse the `bits` choice param. */
enum kbt_bits_mode kbt_bits_mode(const struct kb_params *params);
/* Number of ones a fixed-mode vector of length L has: ceil(L/2) - 1. */
size_t kbt_bits_fixed_ones(size_t L);
/* bits[0..L) := 0/1 bytes drawn from rng per mode. Fixed mode thresholds
 * the identity and runs the Fisher–Yates shuffle of kb_rng_permutation on
 * the bits themselves: the same result as thresholding the permutation,
 * without allocating it. */
void kbt_bits_draw(uint8_t *bits, size_t L, enum kbt_bits_mode mode, struct kb_rng *rng);
double kbt_bits_keyspace(size_t L, enum kbt_bits_mode mode);
/* One local move: uniform flips one bit; fixed swaps a 1 and a 0 (keeps the
 * count, so the key stays in the fixed key space). */
void kbt_bits_mutate(uint8_t *bits, size_t L, enum kbt_bits_mode mode, struct kb_rng *rng);
/* Fraction of equal entries (1.0 when L = 0). */
double kbt_bytes_agreement(const uint8_t *a, const uint8_t *b, size_t n);

#endif

/* Block segmentation and bit-vector keys shared by the transform plugins. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block.h"

int kbt_geom_init(struct kbt_geom *g, const struct kb_params *params,
                  const struct kb_image_shape *shape, const char *plugin,
                  struct kb_error *err)
{
    memset(g, 0, sizeof *g);
    if (!shape || shape->h == 0 || shape->w == 0 || shape->c == 0)
        return kb_error_set(err, "%s: image shape %ux%ux%u (HxWxC) has a zero dimension", plugin,
                            shape ? shape->h : 0, shape ? shape->w : 0, shape ? shape->c : 0);
    int64_t m = kb_params_int(params, "block_size");
    if (m < 1 || m > (int64_t)shape->h || m > (int64_t)shape->w ||
        shape->h % (uint64_t)m != 0 || shape->w % (uint64_t)m != 0) {
        char list[256] = "";
        size_t used = 0;
        for (uint32_t d = 1; d <= shape->h && d <= shape->w && used + 16 < sizeof list; d++)
            if (shape->h % d == 0 && shape->w % d == 0)
                used += (size_t)snprintf(list + used, sizeof list - used, "%s%u",
                                         used ? ", " : "", d);
        return kb_error_set(err,
                            "%s: block_size=%lld does not divide the image size %ux%u (HxW); "
                            "block sizes that do: %s",
                            plugin, (long long)m, shape->h, shape->w, list);
    }
    /* Sizes: H·W·C must fit comfortably (images of at most 2^31 values). */
    uint64_t image = (uint64_t)shape->h * shape->w * shape->c;
    if (image > ((uint64_t)1 << 31))
        return kb_error_set(err, "%s: image size %ux%ux%u (HxWxC) is too large (at most 2^31 values)",
                            plugin, shape->h, shape->w, shape->c);
    g->h = shape->h;
    g->w = shape->w;
    g->c = shape->c;
    g->m = (uint32_t)m;
    g->bh = g->h / g->m;
    g->bw = g->w / g->m;
    g->nblocks = (size_t)g->bh * g->bw;
    g->L = (size_t)g->m * g->m * g->c;
    g->image = (size_t)image;
    g->off = malloc(g->L * sizeof *g->off);
    if (!g->off)
        return kb_error_set(err, "%s: out of memory for a %zu-value block table", plugin, g->L);
    for (unsigned p = 0; p < 256; p++)
        g->unit[p] = kbt_unit((uint8_t)p);
    size_t k = 0;
    for (uint32_t r = 0; r < g->m; r++)
        for (uint32_t c = 0; c < g->m; c++)
            for (uint32_t ch = 0; ch < g->c; ch++)
                g->off[k++] = ((size_t)r * g->w + c) * g->c + ch;
    return 0;
}

void kbt_geom_free(struct kbt_geom *g)
{
    free(g->off);
    g->off = NULL;
}

void kbt_layout_identity(const struct kbt_geom *g, uint32_t *src, int8_t *sign, float *denom,
                         float value_denom)
{
    for (size_t k = 0; k < g->image; k++) {
        src[k] = (uint32_t)k;
        sign[k] = 1;
        denom[k] = value_denom;
    }
}

double kbt_log2_factorial(double n)
{
    return n <= 1 ? 0.0 : lgamma(n + 1.0) / log(2.0);
}

double kbt_log2_binomial(double n, double k)
{
    if (k < 0 || k > n)
        return 0.0;
    return (lgamma(n + 1.0) - lgamma(k + 1.0) - lgamma(n - k + 1.0)) / log(2.0);
}

enum kbt_bits_mode kbt_bits_mode(const struct kb_params *params)
{
    const char *s = kb_params_str(params, "bits");
    return s && !strcmp(s, "uniform") ? KBT_BITS_UNIFORM : KBT_BITS_FIXED;
}

size_t kbt_bits_fixed_ones(size_t L)
{
    /* #{v in 0..L-1 : v > L/2} (Python's true division) = L - 1 - floor(L/2). */
    return L == 0 ? 0 : L - 1 - L / 2;
}

void kbt_bits_draw(uint8_t *bits, size_t L, enum kbt_bits_mode mode, struct kb_rng *rng)
{
    if (mode == KBT_BITS_UNIFORM) {
        for (size_t k = 0; k < L; k++)
            bits[k] = (uint8_t)kb_rng_uniform(rng, 2);
        return;
    }
    /* identity permutation thresholded (v > L/2 <=> 2v > L), then the
     * Fisher–Yates loop of kb_rng_shuffle. */
    for (size_t k = 0; k < L; k++)
        bits[k] = 2 * k > L;
    for (size_t i = L; i > 1; i--) {
        uint32_t j = kb_rng_uniform(rng, (uint32_t)i);
        uint8_t t = bits[i - 1];
        bits[i - 1] = bits[j];
        bits[j] = t;
    }
}

double kbt_bits_keyspace(size_t L, enum kbt_bits_mode mode)
{
    if (mode == KBT_BITS_UNIFORM)
        return (double)L;
    return kbt_log2_binomial((double)L, (double)kbt_bits_fixed_ones(L));
}

void kbt_bits_mutate(uint8_t *bits, size_t L, enum kbt_bits_mode mode, struct kb_rng *rng)
{
    if (L == 0)
        return;
    if (mode == KBT_BITS_UNIFORM) {
        bits[kb_rng_uniform(rng, (uint32_t)L)] ^= 1;
        return;
    }
    size_t ones = 0;
    for (size_t k = 0; k < L; k++)
        ones += bits[k] != 0;
    if (ones == 0 || ones == L)
        return; /* a single key: nothing to move */
    /* the i-th one and the j-th zero, uniformly */
    size_t i = kb_rng_uniform(rng, (uint32_t)ones), j = kb_rng_uniform(rng, (uint32_t)(L - ones));
    size_t pi = 0, pj = 0;
    for (size_t k = 0; k < L; k++) {
        if (bits[k]) {
            if (i-- == 0)
                pi = k;
        } else if (j-- == 0) {
            pj = k;
        }
    }
    bits[pi] = 0;
    bits[pj] = 1;
}

double kbt_bytes_agreement(const uint8_t *a, const uint8_t *b, size_t n)
{
    if (n == 0)
        return 1.0;
    size_t same = 0;
    for (size_t k = 0; k < n; k++)
        same += a[k] == b[k];
    return (double)same / (double)n;
}

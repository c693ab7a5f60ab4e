/* im2col.c — patch matrices for the GEMM convolution (one image at a time). */
#include <string.h>

#include "nn_internal.h"

/* Rows here are short (q = 7…32 floats for ResNet-20): a memcpy call per row
 * cost more than the copy, and GCC -O2 neither vectorises loops of unknown
 * length nor keeps a plain copy loop from becoming a memcpy call. So rows are
 * moved 4 floats at a time with GCC vector extensions (SSE2 baseline); the
 * col2im accumulation does the same float additions per element as before. */
typedef float kb_v4f __attribute__((vector_size(16)));

static inline void copy_row(float *dst, const float *src, int64_t n)
{
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        kb_v4f v;
        memcpy(&v, src + i, sizeof v);
        memcpy(dst + i, &v, sizeof v);
    }
    for (; i < n; i++)
        dst[i] = src[i];
}

static inline void zero_row(float *dst, int64_t n)
{
    const kb_v4f z = { 0 };
    int64_t i = 0;
    for (; i + 4 <= n; i += 4)
        memcpy(dst + i, &z, sizeof z);
    for (; i < n; i++)
        dst[i] = 0.0f;
}

/* zero dst[0, qlo) and dst[qhi, q); the interior is written afterwards. With
 * borders of at most 4 (padding ≤ 4) two vector stores do it, overlapping the
 * interior that the caller then overwrites. */
static inline void zero_border(float *dst, int64_t qlo, int64_t qhi, int64_t q)
{
    if (q >= 4 && qhi > qlo && qlo <= 4 && q - qhi <= 4) {
        const kb_v4f z = { 0 };
        memcpy(dst, &z, sizeof z);
        memcpy(dst + q - 4, &z, sizeof z);
        return;
    }
    for (int64_t qi = 0; qi < qlo; qi++)
        dst[qi] = 0.0f;
    for (int64_t qi = qhi; qi < q; qi++)
        dst[qi] = 0.0f;
}

/* dst[i] += src[i] (distinct buffers) */
static inline void acc_row(float *dst, const float *src, int64_t n)
{
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        kb_v4f a, b;
        memcpy(&a, dst + i, sizeof a);
        memcpy(&b, src + i, sizeof b);
        a += b;
        memcpy(dst + i, &a, sizeof a);
    }
    for (; i < n; i++)
        dst[i] += src[i];
}

void kb_im2col(float *col, const float *inp, int64_t c, int64_t h, int64_t w, int64_t r,
               int64_t s, int64_t stride, int64_t pad, int64_t p, int64_t q)
{
    size_t pq = (size_t)p * (size_t)q;
    for (int64_t ci = 0; ci < c; ci++) {
        const float *plane = inp + (size_t)ci * (size_t)h * (size_t)w;
        for (int64_t ri = 0; ri < r; ri++) {
            for (int64_t si = 0; si < s; si++) {
                float *row = col + ((size_t)(ci * r + ri) * (size_t)s + (size_t)si) * pq;
                int64_t qlo, qhi;
                kb_nn_valid_range(&qlo, &qhi, si - pad, stride, w, q);
                for (int64_t pi = 0; pi < p; pi++) {
                    float *dst = row + (size_t)pi * (size_t)q;
                    int64_t ih = pi * stride - pad + ri;
                    if (ih < 0 || ih >= h) {
                        zero_row(dst, q);
                        continue;
                    }
                    const float *src = plane + (size_t)ih * (size_t)w;
                    zero_border(dst, qlo, qhi, q);
                    if (stride == 1) {
                        if (qhi > qlo)
                            copy_row(dst + qlo, src + qlo - pad + si, qhi - qlo);
                    } else {
                        for (int64_t qi = qlo; qi < qhi; qi++)
                            dst[qi] = src[qi * stride - pad + si];
                    }
                }
            }
        }
    }
}

void kb_col2im(float *dinp, const float *dcol, int64_t c, int64_t h, int64_t w, int64_t r,
               int64_t s, int64_t stride, int64_t pad, int64_t p, int64_t q)
{
    size_t pq = (size_t)p * (size_t)q;
    for (int64_t ci = 0; ci < c; ci++) {
        float *plane = dinp + (size_t)ci * (size_t)h * (size_t)w;
        for (int64_t ri = 0; ri < r; ri++) {
            for (int64_t si = 0; si < s; si++) {
                const float *row = dcol + ((size_t)(ci * r + ri) * (size_t)s + (size_t)si) * pq;
                int64_t qlo, qhi;
                kb_nn_valid_range(&qlo, &qhi, si - pad, stride, w, q);
                for (int64_t pi = 0; pi < p; pi++) {
                    int64_t ih = pi * stride - pad + ri;
                    if (ih < 0 || ih >= h)
                        continue;
                    const float *src = row + (size_t)pi * (size_t)q;
                    float *dst = plane + (size_t)ih * (size_t)w;
                    int64_t off = si - pad;
                    if (stride == 1) {
                        if (qhi > qlo)
                            acc_row(dst + qlo + off, src + qlo, qhi - qlo);
                    } else {
                        for (int64_t qi = qlo; qi < qhi; qi++)
                            dst[qi * stride + off] += src[qi];
                    }
                }
            }
        }
    }
}

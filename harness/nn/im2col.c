/* im2col.c — patch matrices for the GEMM convolution (one image at a time). */
#include <string.h>

#include "nn_internal.h"

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
                        memset(dst, 0, (size_t)q * sizeof(float));
                        continue;
                    }
                    const float *src = plane + (size_t)ih * (size_t)w;
                    for (int64_t qi = 0; qi < qlo; qi++)
                        dst[qi] = 0.0f;
                    if (stride == 1) {
                        if (qhi > qlo)
                            memcpy(dst + qlo, src + qlo - pad + si,
                                   (size_t)(qhi - qlo) * sizeof(float));
                    } else {
                        for (int64_t qi = qlo; qi < qhi; qi++)
                            dst[qi] = src[qi * stride - pad + si];
                    }
                    for (int64_t qi = qhi; qi < q; qi++)
                        dst[qi] = 0.0f;
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
                        for (int64_t qi = qlo; qi < qhi; qi++)
                            dst[qi + off] += src[qi];
                    } else {
                        for (int64_t qi = qlo; qi < qhi; qi++)
                            dst[qi * stride + off] += src[qi];
                    }
                }
            }
        }
    }
}

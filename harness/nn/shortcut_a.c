/* shortcut_a.c — option-A shortcut of the CIFAR ResNet (He et al. 2016):
 * x[:, :, ::stride, ::stride], then F.pad on channels with (K−C)//2 zero
 * channels before and the rest after, exactly as the reference's LambdaLayer. */
#include <string.h>

#include <keybench/nn.h>

void kb_shortcut_a_forward(float *out, const float *inp, int64_t n, int64_t c, int64_t h,
                           int64_t w, int64_t k, int64_t stride)
{
    int64_t p = (h + stride - 1) / stride, q = (w + stride - 1) / stride;
    int64_t pad0 = (k - c) / 2;
    size_t pq = (size_t)p * (size_t)q, hw = (size_t)h * (size_t)w;
    for (int64_t ni = 0; ni < n; ni++)
        for (int64_t ki = 0; ki < k; ki++) {
            float *o = out + ((size_t)ni * (size_t)k + (size_t)ki) * pq;
            int64_t ci = ki - pad0;
            if (ci < 0 || ci >= c) {
                memset(o, 0, pq * sizeof(float));
                continue;
            }
            const float *x = inp + ((size_t)ni * (size_t)c + (size_t)ci) * hw;
            for (int64_t pi = 0; pi < p; pi++)
                for (int64_t qi = 0; qi < q; qi++)
                    o[pi * q + qi] = x[pi * stride * w + qi * stride];
        }
}

void kb_shortcut_a_backward(float *dinp, const float *dout, int64_t n, int64_t c, int64_t h,
                            int64_t w, int64_t k, int64_t stride)
{
    int64_t p = (h + stride - 1) / stride, q = (w + stride - 1) / stride;
    int64_t pad0 = (k - c) / 2;
    size_t pq = (size_t)p * (size_t)q, hw = (size_t)h * (size_t)w;
    for (int64_t ni = 0; ni < n; ni++)
        for (int64_t ci = 0; ci < c; ci++) {
            const float *d = dout + ((size_t)ni * (size_t)k + (size_t)(ci + pad0)) * pq;
            float *dx = dinp + ((size_t)ni * (size_t)c + (size_t)ci) * hw;
            for (int64_t pi = 0; pi < p; pi++)
                for (int64_t qi = 0; qi < q; qi++)
                    dx[pi * stride * w + qi * stride] += d[pi * q + qi];
        }
}

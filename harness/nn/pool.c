/* pool.c — max pool (with argmax), average pool (count_include_pad), global
 * average pool. Output size floor((H + 2·pad − kernel)/stride) + 1 as PyTorch. */
#include <limits.h>
#include <math.h>

#include <keybench/nn.h>

#include "nn_internal.h"

int kb_pool_shape_finish(struct kb_pool_shape *s, struct kb_error *err)
{
    if (s->n < 1 || s->c < 1 || s->h < 1 || s->w < 1 || s->kernel < 1 || s->stride < 1 ||
        s->pad < 0)
        return kb_error_set(err, "pool: expected n, c, h, w, kernel, stride >= 1 and pad >= 0 "
                                 "(got n %lld c %lld h %lld w %lld kernel %lld stride %lld "
                                 "pad %lld)",
                            (long long)s->n, (long long)s->c, (long long)s->h, (long long)s->w,
                            (long long)s->kernel, (long long)s->stride, (long long)s->pad);
    if (s->pad > s->kernel / 2)
        return kb_error_set(err, "pool: pad %lld must be at most half the kernel %lld",
                            (long long)s->pad, (long long)s->kernel);
    if (s->h > INT_MAX / 4 || s->w > INT_MAX / 4 || s->h * s->w > INT32_MAX ||
        s->kernel > INT_MAX / 4 || s->stride > INT_MAX / 4)
        return kb_error_set(err, "pool: plane %lldx%lld too large", (long long)s->h,
                            (long long)s->w);
    if (s->h + 2 * s->pad < s->kernel || s->w + 2 * s->pad < s->kernel)
        return kb_error_set(err, "pool: kernel %lld larger than the padded input %lldx%lld",
                            (long long)s->kernel, (long long)(s->h + 2 * s->pad),
                            (long long)(s->w + 2 * s->pad));
    s->p = (s->h + 2 * s->pad - s->kernel) / s->stride + 1;
    s->q = (s->w + 2 * s->pad - s->kernel) / s->stride + 1;
    return 0;
}

void kb_maxpool2d_forward(float *out, int32_t *argmax, const float *inp,
                          const struct kb_pool_shape *s)
{
    size_t hw = (size_t)s->h * (size_t)s->w, pq = (size_t)s->p * (size_t)s->q;
    for (int64_t nc = 0; nc < s->n * s->c; nc++) {
        const float *x = inp + (size_t)nc * hw;
        float *o = out + (size_t)nc * pq;
        int32_t *a = argmax + (size_t)nc * pq;
        for (int64_t p = 0; p < s->p; p++)
            for (int64_t q = 0; q < s->q; q++) {
                float best = -INFINITY;
                int64_t bi = -1;
                for (int64_t r = 0; r < s->kernel; r++) {
                    int64_t ih = p * s->stride - s->pad + r;
                    if (ih < 0 || ih >= s->h)
                        continue;
                    for (int64_t t = 0; t < s->kernel; t++) {
                        int64_t iw = q * s->stride - s->pad + t;
                        if (iw < 0 || iw >= s->w)
                            continue;
                        float v = x[ih * s->w + iw];
                        /* first maximum wins; NaN propagates, as PyTorch */
                        if (bi < 0 || v > best || isnan(v)) {
                            best = v;
                            bi = ih * s->w + iw;
                        }
                    }
                }
                o[p * s->q + q] = best;
                a[p * s->q + q] = (int32_t)bi;
            }
    }
}

void kb_maxpool2d_backward(float *dinp, const float *dout, const int32_t *argmax,
                           const struct kb_pool_shape *s)
{
    size_t hw = (size_t)s->h * (size_t)s->w, pq = (size_t)s->p * (size_t)s->q;
    for (int64_t nc = 0; nc < s->n * s->c; nc++) {
        float *dx = dinp + (size_t)nc * hw;
        const float *d = dout + (size_t)nc * pq;
        const int32_t *a = argmax + (size_t)nc * pq;
        for (size_t i = 0; i < pq; i++)
            if (a[i] >= 0)
                dx[a[i]] += d[i];
    }
}

void kb_avgpool2d_forward(float *out, const float *inp, const struct kb_pool_shape *s)
{
    size_t hw = (size_t)s->h * (size_t)s->w, pq = (size_t)s->p * (size_t)s->q;
    float inv = 1.0f / (float)(s->kernel * s->kernel);
    for (int64_t nc = 0; nc < s->n * s->c; nc++) {
        const float *x = inp + (size_t)nc * hw;
        float *o = out + (size_t)nc * pq;
        for (int64_t p = 0; p < s->p; p++)
            for (int64_t q = 0; q < s->q; q++) {
                float acc = 0.0f;
                for (int64_t r = 0; r < s->kernel; r++) {
                    int64_t ih = p * s->stride - s->pad + r;
                    if (ih < 0 || ih >= s->h)
                        continue;
                    for (int64_t t = 0; t < s->kernel; t++) {
                        int64_t iw = q * s->stride - s->pad + t;
                        if (iw >= 0 && iw < s->w)
                            acc += x[ih * s->w + iw];
                    }
                }
                o[p * s->q + q] = acc * inv;
            }
    }
}

void kb_avgpool2d_backward(float *dinp, const float *dout, const struct kb_pool_shape *s)
{
    size_t hw = (size_t)s->h * (size_t)s->w, pq = (size_t)s->p * (size_t)s->q;
    float inv = 1.0f / (float)(s->kernel * s->kernel);
    for (int64_t nc = 0; nc < s->n * s->c; nc++) {
        float *dx = dinp + (size_t)nc * hw;
        const float *d = dout + (size_t)nc * pq;
        for (int64_t p = 0; p < s->p; p++)
            for (int64_t q = 0; q < s->q; q++) {
                float g = d[p * s->q + q] * inv;
                for (int64_t r = 0; r < s->kernel; r++) {
                    int64_t ih = p * s->stride - s->pad + r;
                    if (ih < 0 || ih >= s->h)
                        continue;
                    for (int64_t t = 0; t < s->kernel; t++) {
                        int64_t iw = q * s->stride - s->pad + t;
                        if (iw >= 0 && iw < s->w)
                            dx[ih * s->w + iw] += g;
                    }
                }
            }
    }
}

void kb_gap_forward(float *out, const float *inp, int64_t n, int64_t c, int64_t l)
{
    for (int64_t i = 0; i < n * c; i++) {
        const float *x = inp + (size_t)i * (size_t)l;
        float acc = 0.0f;
        for (int64_t j = 0; j < l; j++)
            acc += x[j];
        out[i] = acc / (float)l;
    }
}

void kb_gap_backward(float *dinp, const float *dout, int64_t n, int64_t c, int64_t l)
{
    for (int64_t i = 0; i < n * c; i++) {
        float *dx = dinp + (size_t)i * (size_t)l;
        float g = dout[i] / (float)l;
        for (int64_t j = 0; j < l; j++)
            dx[j] += g;
    }
}

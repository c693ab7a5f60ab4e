/* dropout.c — inverted dropout: keep with probability 1−p, scale by 1/(1−p). */
#include <keybench/nn.h>

void kb_dropout_forward(float *out, float *mask, const float *inp, size_t count, float p,
                        struct kb_rng *rng)
{
    if (p <= 0.0f) {
        for (size_t i = 0; i < count; i++) {
            mask[i] = 1.0f;
            out[i] = inp[i];
        }
        return;
    }
    if (p >= 1.0f) {
        for (size_t i = 0; i < count; i++) {
            mask[i] = 0.0f;
            out[i] = 0.0f;
        }
        return;
    }
    float scale = 1.0f / (1.0f - p);
    /* drop when a uniform 32-bit draw < p·2^32 */
    uint64_t thr = (uint64_t)((double)p * 4294967296.0);
    for (size_t i = 0; i < count; i++) {
        float mv = (uint64_t)kb_rng_u32(rng) < thr ? 0.0f : scale;
        mask[i] = mv;
        out[i] = inp[i] * mv;
    }
}

void kb_dropout_backward(float *dinp, const float *dout, const float *mask, size_t count)
{
    for (size_t i = 0; i < count; i++)
        dinp[i] += dout[i] * mask[i];
}

/* activations.c — ReLU and GELU (erf form), elementwise. */
#include <math.h>

#include <keybench/nn.h>

void kb_relu_forward(float *out, const float *inp, size_t count)
{
    for (size_t i = 0; i < count; i++)
        out[i] = inp[i] > 0.0f ? inp[i] : 0.0f;
}

void kb_relu_backward(float *dinp, const float *dout, const float *out, size_t count)
{
    for (size_t i = 0; i < count; i++)
        dinp[i] += out[i] > 0.0f ? dout[i] : 0.0f;
}

/* GELU(x) = x·Φ(x) = ½·x·(1 + erf(x/√2)); GELU'(x) = Φ(x) + x·φ(x). */
#define KB_SQRT1_2 0.70710678118654752440f
#define KB_INV_SQRT_2PI 0.39894228040143267794f

void kb_gelu_forward(float *out, const float *inp, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        float x = inp[i];
        out[i] = 0.5f * x * (1.0f + erff(x * KB_SQRT1_2));
    }
}

void kb_gelu_backward(float *dinp, const float *dout, const float *inp, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        float x = inp[i];
        float cdf = 0.5f * (1.0f + erff(x * KB_SQRT1_2));
        float pdf = KB_INV_SQRT_2PI * expf(-0.5f * x * x);
        dinp[i] += dout[i] * (cdf + x * pdf);
    }
}

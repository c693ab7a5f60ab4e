/* add.c — residual add. */
#include <keybench/nn.h>

void kb_add_forward(float *out, const float *a, const float *b, size_t count)
{
    for (size_t i = 0; i < count; i++)
        out[i] = a[i] + b[i];
}

void kb_add_backward(float *da, float *db, const float *dout, size_t count)
{
    if (da)
        for (size_t i = 0; i < count; i++)
            da[i] += dout[i];
    if (db)
        for (size_t i = 0; i < count; i++)
            db[i] += dout[i];
}

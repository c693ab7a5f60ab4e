/* linear.c — fully connected layer through cblas_sgemm. */
#include <cblas.h>

#include <keybench/nn.h>

void kb_linear_forward(float *out, const float *inp, const float *weight, const float *bias,
                       int64_t n, int64_t d, int64_t m)
{
    float beta = 0.0f;
    if (bias) {
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < m; j++)
                out[(size_t)i * (size_t)m + (size_t)j] = bias[j];
        beta = 1.0f;
    }
    /* out (N,M) = inp (N,D) · weightᵀ (D,M) */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)m, (int)d, 1.0f, inp,
                (int)d, weight, (int)d, beta, out, (int)m);
}

void kb_linear_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                        const float *inp, const float *weight, int64_t n, int64_t d, int64_t m)
{
    if (dinp) /* dinp (N,D) += dout (N,M) · weight (M,D) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)d, (int)m, 1.0f,
                    dout, (int)m, weight, (int)d, 1.0f, dinp, (int)d);
    if (dweight) /* dweight (M,D) += doutᵀ (M,N) · inp (N,D) */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)m, (int)d, (int)n, 1.0f,
                    dout, (int)m, inp, (int)d, 1.0f, dweight, (int)d);
    if (dbias)
        for (int64_t j = 0; j < m; j++) {
            float acc = 0.0f;
            for (int64_t i = 0; i < n; i++)
                acc += dout[(size_t)i * (size_t)m + (size_t)j];
            dbias[j] += acc;
        }
}

/* Known values: batch-norm running statistics (hand-computed, PyTorch's
 * momentum and unbiased running variance), GELU, softmax cross-entropy with
 * and without label smoothing, pooling output sizes and windows, the option-A
 * shortcut's channel padding, linear, dropout. */
#include <keybench/nn.h>

#include "nn_testutil.h"

#define NEAR(a, b, tol) cr_assert(fabs((double)(a) - (double)(b)) <= (tol), \
                                  "%s = %.9g, expected %.9g", #a, (double)(a), (double)(b))

Test(layers, batchnorm_running_stats)
{
    /* N=2, C=2, L=2; channel 0 holds {1,2} and {3,6}, channel 1 {0,0} and {4,-4}. */
    const float x[8] = { 1, 2, 0, 0, 3, 6, 4, -4 };
    float out[8], sm[2], si[2], rm[2] = { 0, 1 }, rv[2] = { 1, 2 };
    const float g[2] = { 2, 1 }, b[2] = { 0.5f, -1 };
    kb_batchnorm_forward(out, sm, si, rm, rv, x, g, b, 2, 2, 2, 0.1f, 1e-5f, true);
    /* channel 0: mean 3, biased var 3.5, unbiased 14/3 */
    NEAR(sm[0], 3.0, 1e-6);
    NEAR(si[0], 1.0 / sqrt(3.5 + 1e-5), 1e-6);
    NEAR(rm[0], 0.3, 1e-6);                        /* 0.9·0 + 0.1·3 */
    NEAR(rv[0], 0.9 + 0.1 * 14.0 / 3.0, 1e-6);     /* unbiased batch variance */
    /* channel 1: mean 0, biased var 8, unbiased 32/3 */
    NEAR(sm[1], 0.0, 1e-6);
    NEAR(rm[1], 0.9, 1e-6);                        /* 0.9·1 + 0.1·0 */
    NEAR(rv[1], 0.9 * 2 + 0.1 * 32.0 / 3.0, 1e-6);
    NEAR(out[0], 2.0 * (1 - 3) / sqrt(3.5 + 1e-5) + 0.5, 1e-5);
    NEAR(out[5], 2.0 * (6 - 3) / sqrt(3.5 + 1e-5) + 0.5, 1e-5);
    NEAR(out[7], (-4 - 0) / sqrt(8 + 1e-5) - 1, 1e-5);
    /* eval: the running stats, which stay untouched */
    float out2[8], rm2[2] = { 0.3f, 0.9f }, rv2[2] = { 1.5f, 2.5f }, sm2[2] = { 42, 42 };
    kb_batchnorm_forward(out2, sm2, NULL, rm2, rv2, x, g, b, 2, 2, 2, 0.1f, 1e-5f, false);
    NEAR(out2[0], 2.0 * (1 - 0.3) / sqrt(1.5 + 1e-5) + 0.5, 1e-5);
    NEAR(out2[7], (-4 - 0.9) / sqrt(2.5 + 1e-5) - 1, 1e-5);
    cr_assert(rm2[0] == 0.3f && rv2[1] == 2.5f && sm2[0] == 42.0f);
}

Test(layers, batchnorm_threads_bit_identical)
{
    struct tu_rng rng = { 5 };
    enum { N = 6, C = 7, L = 11 };
    static float x[N * C * L], o1[N * C * L], o2[N * C * L], dy[N * C * L];
    static float dx1[N * C * L], dx2[N * C * L];
    float g[C], b[C], rm[C] = {0}, rv[C], sm[C], si[C], dg1[C] = {0}, dg2[C] = {0};
    tu_fill(&rng, x, N * C * L, -2, 2);
    tu_fill(&rng, dy, N * C * L, -1, 1);
    tu_fill(&rng, g, C, 0.5f, 1.5f);
    tu_fill(&rng, b, C, -1, 1);
    for (int i = 0; i < C; i++) rv[i] = 1;
    kb_nn_set_threads(1);
    kb_batchnorm_forward(o1, sm, si, rm, rv, x, g, b, N, C, L, 0.1f, 1e-5f, true);
    kb_batchnorm_backward(dx1, dg1, NULL, dy, x, g, sm, si, N, C, L);
    kb_nn_set_threads(3);
    kb_batchnorm_forward(o2, sm, si, rm, rv, x, g, b, N, C, L, 0.1f, 1e-5f, true);
    kb_batchnorm_backward(dx2, dg2, NULL, dy, x, g, sm, si, N, C, L);
    cr_assert(memcmp(o1, o2, sizeof o1) == 0);
    cr_assert(memcmp(dx1, dx2, sizeof dx1) == 0);
    cr_assert(memcmp(dg1, dg2, sizeof dg1) == 0);
}

Test(layers, gelu_values)
{
    const float x[5] = { 0, 1, -1, 2, -3 };
    /* x·Φ(x) from the erf form, computed in double */
    const double want[5] = { 0, 0.8413447460685429, -0.15865525393145707, 1.9544997361036416,
                             -0.0040496940948904 };
    float y[5];
    kb_gelu_forward(y, x, 5);
    for (int i = 0; i < 5; i++)
        NEAR(y[i], want[i], 1e-6);
    /* GELU'(0) = 1/2, GELU'(1) = Φ(1) + φ(1) = 0.8413447 + 0.2419707 */
    const float d[5] = { 1, 1, 1, 1, 1 };
    float dx[5] = {0};
    kb_gelu_backward(dx, d, x, 5);
    NEAR(dx[0], 0.5, 1e-6);
    NEAR(dx[1], 1.0833154705876864, 1e-6);
}

Test(layers, relu_values)
{
    const float x[4] = { -1, 0, 2, -0.5f };
    float y[4], dx[4] = { 1, 1, 1, 1 };
    const float d[4] = { 3, 3, 3, 3 };
    kb_relu_forward(y, x, 4);
    cr_assert(y[0] == 0 && y[1] == 0 && y[2] == 2 && y[3] == 0);
    kb_relu_backward(dx, d, y, 4);
    cr_assert(dx[0] == 1 && dx[1] == 1 && dx[2] == 4 && dx[3] == 1);
}

Test(layers, softmax_xent_values)
{
    const float logits[6] = { 1, 2, 3, 1000, 0, -1000 };
    const int32_t y[2] = { 2, 0 };
    float probs[6];
    /* row 0: lse = 3 + log(1 + e^-1 + e^-2) = 3.4076059644443806 */
    double l = kb_softmax_xent_forward(probs, logits, y, 1, 3, 0.0f);
    NEAR(l, 0.4076059644443806, 1e-6);
    NEAR(probs[2], exp(-0.4076059644443806), 1e-6);
    /* smoothing 0.1: 0.9·0.40760596 + 0.1·mean(lse − x) = 0.9·0.40760596 + 0.1·1.40760596 */
    l = kb_softmax_xent_forward(probs, logits, y, 1, 3, 0.1f);
    NEAR(l, 0.5076059644443806, 1e-6);
    /* numerically stable with huge logits; mean over the two rows */
    l = kb_softmax_xent_forward(probs, logits, y, 2, 3, 0.0f);
    cr_assert(isfinite(l));
    NEAR(l, 0.4076059644443806 / 2, 1e-6);
    NEAR(probs[3], 1.0, 1e-7);
    cr_assert(probs[5] == 0.0f);
    /* backward: (p − t)/N, accumulating */
    float d[6] = { 1, 1, 1, 1, 1, 1 };
    kb_softmax_xent_backward(d, probs, y, 2, 3, 0.0f);
    NEAR(d[2], 1 + (exp(-0.4076059644443806) - 1) / 2, 1e-6);
    NEAR(d[0], 1 + exp(1 - 3.4076059644443806) / 2, 1e-6);
    float ds[3] = {0};
    kb_softmax_xent_forward(probs, logits, y, 1, 3, 0.3f);
    kb_softmax_xent_backward(ds, probs, y, 1, 3, 0.3f);
    NEAR(ds[2], exp(-0.4076059644443806) - (0.7 + 0.1), 1e-6);
    NEAR(ds[0], exp(1 - 3.4076059644443806) - 0.1, 1e-6);
}

Test(layers, pool_values)
{
    struct kb_error err = {0};
    /* 1×1×4×5, kernel 3 stride 2 pad 1 → floor((4+2−3)/2)+1 = 2, floor((5+2−3)/2)+1 = 3 */
    struct kb_pool_shape s = { .n = 1, .c = 1, .h = 4, .w = 5, .kernel = 3, .stride = 2, .pad = 1 };
    cr_assert_eq(kb_pool_shape_finish(&s, &err), 0, "%s", err.msg);
    cr_assert_eq(s.p, 2);
    cr_assert_eq(s.q, 3);
    float x[20];
    for (int i = 0; i < 20; i++)
        x[i] = (float)(-i);        /* maxima at the top-left of each window */
    float o[6];
    int32_t am[6];
    kb_maxpool2d_forward(o, am, x, &s);
    cr_assert(o[0] == 0 && am[0] == 0);          /* window rows −1..1, cols −1..1 */
    cr_assert(o[1] == -1 && am[1] == 1);         /* cols 1..3 */
    cr_assert(o[4] == -6 && am[4] == 6);         /* rows 1..3, cols 1..3 */
    kb_avgpool2d_forward(o, x, &s);
    /* count_include_pad: window 0 covers x[0,1,5,6] = 0,−1,−5,−6 over 9 */
    NEAR(o[0], -12.0 / 9.0, 1e-6);
    s.pad = 2;
    cr_assert_eq(kb_pool_shape_finish(&s, &err), -1);   /* pad > kernel/2, as PyTorch */
    float g[2];
    kb_gap_forward(g, x, 1, 2, 10);
    NEAR(g[0], -4.5, 1e-6);
    NEAR(g[1], -14.5, 1e-6);
}

Test(layers, shortcut_a_values)
{
    /* N=1, C=3 → K=6, stride 2, 3×3 input: pad0 = 1 channel before, 2 after */
    float x[27], o[6 * 4];
    for (int i = 0; i < 27; i++)
        x[i] = (float)(i + 1);
    kb_shortcut_a_forward(o, x, 1, 3, 3, 3, 6, 2);
    for (int i = 0; i < 4; i++)
        cr_assert(o[i] == 0 && o[16 + i] == 0 && o[20 + i] == 0);
    /* channel 1 = input channel 0 at (0,0),(0,2),(2,0),(2,2) */
    cr_assert(o[4] == 1 && o[5] == 3 && o[6] == 7 && o[7] == 9);
    cr_assert(o[8] == 10 && o[12] == 19 && o[15] == 27);
}

Test(layers, linear_values)
{
    const float x[4] = { 1, 2, 3, 4 };          /* N=2, D=2 */
    const float w[6] = { 1, 0, 0, 1, 1, 1 };    /* M=3 */
    const float b[3] = { 0.5f, 0, -1 };
    float o[6];
    kb_linear_forward(o, x, w, b, 2, 2, 3);
    cr_assert(o[0] == 1.5f && o[1] == 2 && o[2] == 2 && o[3] == 3.5f && o[4] == 4 && o[5] == 6);
}

Test(layers, dropout_rate_and_determinism)
{
    enum { N = 20000 };
    static float x[N], o[N], m1[N], m2[N];
    for (int i = 0; i < N; i++)
        x[i] = 1;
    struct kb_rng r;
    kb_rng_init_seed(&r, 3, "dropout");
    kb_dropout_forward(o, m1, x, N, 0.25f, &r);
    kb_rng_init_seed(&r, 3, "dropout");
    kb_dropout_forward(o, m2, x, N, 0.25f, &r);
    cr_assert(memcmp(m1, m2, sizeof m1) == 0);
    double mean = 0;
    for (int i = 0; i < N; i++)
        mean += o[i];
    mean /= N;
    NEAR(mean, 1.0, 0.03);                      /* inverted dropout keeps the mean */
    kb_dropout_forward(o, m1, x, N, 0.0f, &r);
    cr_assert(o[0] == 1 && m1[N - 1] == 1);
}

Test(layers, activations_threaded_large)
{
    enum { N = 200003 };   /* above the parallel threshold, not divisible by the threads */
    float *x = tu_alloc(N), *y1 = tu_alloc(N), *y3 = tu_alloc(N), *d = tu_alloc(N);
    float *g1 = tu_alloc(N), *g3 = tu_alloc(N);
    struct tu_rng rng = { 17 };
    tu_fill(&rng, x, N, -3, 3);
    tu_fill(&rng, d, N, -1, 1);
    kb_nn_set_threads(1);
    kb_gelu_forward(y1, x, N);
    kb_gelu_backward(g1, d, x, N);
    kb_nn_set_threads(3);
    kb_gelu_forward(y3, x, N);
    kb_gelu_backward(g3, d, x, N);
    cr_assert(memcmp(y1, y3, N * sizeof(float)) == 0);
    cr_assert(memcmp(g1, g3, N * sizeof(float)) == 0);
    NEAR(y3[N - 1], 0.5 * x[N - 1] * (1 + erf(x[N - 1] / sqrt(2.0))), 1e-5);
    kb_relu_forward(y3, x, N);
    memset(g3, 0, N * sizeof(float));
    kb_relu_backward(g3, d, y3, N);
    for (size_t i = 0; i < N; i++)
        cr_assert(y3[i] == (x[i] > 0 ? x[i] : 0) && g3[i] == (x[i] > 0 ? d[i] : 0), "element %zu", i);
    free(x); free(y1); free(y3); free(d); free(g1); free(g3);
}

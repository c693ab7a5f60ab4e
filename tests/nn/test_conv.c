/* The BLAS convolution against the plain-loop reference on random shapes
 * (forward and all three gradients, accumulating into non-zero buffers), at
 * several thread counts; determinism (same inputs and thread count give
 * bit-identical results); shape validation. */
#include <keybench/nn.h>

#include "nn_testutil.h"

static void expect_close(const char *what, const float *got, const float *want, size_t n,
                         double tol, const char *shape)
{
    for (size_t i = 0; i < n; i++)
        cr_assert(fabs((double)got[i] - (double)want[i]) <= tol * fmax(1.0, fabs(want[i])),
                  "%s [%s] element %zu: BLAS %.8g, reference %.8g", what, shape, i, got[i],
                  want[i]);
}

static int64_t pick(struct tu_rng *r, int64_t lo, int64_t hi)
{
    return lo + (int64_t)(tu_next(r) % (uint64_t)(hi - lo + 1));
}

static void compare_one(struct tu_rng *rng, const struct kb_conv2d_shape *shape, bool bias,
                        int threads)
{
    struct kb_conv2d_shape s = *shape;
    struct kb_error err = {0};
    cr_assert_eq(kb_conv2d_shape_finish(&s, &err), 0, "%s", err.msg);
    kb_nn_set_threads(threads);
    char desc[160];
    snprintf(desc, sizeof desc, "n%lld c%lld %lldx%lld k%lld %lldx%lld st%lld pad%lld g%lld%s t%d",
             (long long)s.n, (long long)s.c, (long long)s.h, (long long)s.w, (long long)s.k,
             (long long)s.r, (long long)s.s, (long long)s.stride, (long long)s.pad,
             (long long)s.groups, bias ? " bias" : "", threads);
    size_t nx = (size_t)(s.n * s.c * s.h * s.w), nw = (size_t)(s.k * (s.c / s.groups) * s.r * s.s);
    size_t no = (size_t)(s.n * s.k * s.p * s.q), nb = (size_t)s.k;
    float *x = tu_alloc(nx), *w = tu_alloc(nw), *b = tu_alloc(nb), *d = tu_alloc(no);
    float *o1 = tu_alloc(no), *o2 = tu_alloc(no);
    float *dx1 = tu_alloc(nx), *dx2 = tu_alloc(nx), *dw1 = tu_alloc(nw), *dw2 = tu_alloc(nw);
    float *db1 = tu_alloc(nb), *db2 = tu_alloc(nb);
    float *ws = tu_alloc(kb_conv2d_workspace(&s));
    tu_fill(rng, x, nx, -1, 1); tu_fill(rng, w, nw, -1, 1); tu_fill(rng, b, nb, -1, 1);
    tu_fill(rng, d, no, -1, 1);
    /* gradients start non-zero: backward must accumulate */
    tu_fill(rng, dx1, nx, -1, 1); memcpy(dx2, dx1, nx * sizeof(float));
    tu_fill(rng, dw1, nw, -1, 1); memcpy(dw2, dw1, nw * sizeof(float));
    tu_fill(rng, db1, nb, -1, 1); memcpy(db2, db1, nb * sizeof(float));
    kb_conv2d_forward(o1, ws, x, w, bias ? b : NULL, &s);
    kb_conv2d_forward_ref(o2, x, w, bias ? b : NULL, &s);
    expect_close("forward", o1, o2, no, 1e-4, desc);
    kb_conv2d_backward(dx1, dw1, bias ? db1 : NULL, ws, d, x, w, &s);
    kb_conv2d_backward_ref(dx2, dw2, bias ? db2 : NULL, d, x, w, &s);
    expect_close("dinp", dx1, dx2, nx, 1e-4, desc);
    expect_close("dweight", dw1, dw2, nw, 1e-4, desc);
    expect_close("dbias", db1, db2, nb, 1e-4, desc);
    /* NULL gradients are skipped; the others are still right */
    memcpy(dw1, dw2, nw * sizeof(float));
    kb_conv2d_backward(NULL, dw1, NULL, ws, d, x, w, &s);
    kb_conv2d_backward_ref(NULL, dw2, NULL, d, x, w, &s);
    expect_close("dweight only", dw1, dw2, nw, 1e-4, desc);
    free(x); free(w); free(b); free(d); free(o1); free(o2); free(dx1); free(dx2);
    free(dw1); free(dw2); free(db1); free(db2); free(ws);
}

Test(conv, blas_matches_reference_random_shapes)
{
    struct tu_rng rng = { 2024 };
    for (int it = 0; it < 60; it++) {
        struct kb_conv2d_shape s = {0};
        s.n = pick(&rng, 1, 5);
        int64_t g = pick(&rng, 1, 3);
        int64_t kind = pick(&rng, 0, 4);
        s.c = g * pick(&rng, 1, 4);
        s.k = g * pick(&rng, 1, 4);
        if (kind == 0) { /* depthwise */
            g = pick(&rng, 2, 6);
            s.c = s.k = g;
        }
        s.groups = g;
        s.r = s.s = (int64_t[]){ 1, 3, 5, 3, 7 }[pick(&rng, 0, 4)];
        if (kind == 1)
            s.s = pick(&rng, 1, 4);   /* non-square kernel */
        s.stride = pick(&rng, 1, 3);
        s.pad = pick(&rng, 0, s.r / 2 + 1);
        s.h = pick(&rng, s.r > 2 * s.pad ? s.r - 2 * s.pad : 1, 13);
        s.w = pick(&rng, s.s > 2 * s.pad ? s.s - 2 * s.pad : 1, 13);
        if (s.h < 1) s.h = 1;
        if (s.w < 1) s.w = 1;
        compare_one(&rng, &s, pick(&rng, 0, 1) == 1, 1 + (int)(it % 3));
    }
}

/* The same comparison on the OpenBLAS-only path (what CPUs without AVX-512
 * run): KEYBENCH_NN_GEMM is read once per process, and each Criterion test
 * runs in its own fresh process. */
Test(conv, openblas_path_matches_reference)
{
    setenv("KEYBENCH_NN_GEMM", "openblas", 1);
    struct tu_rng rng = { 4048 };
    for (int it = 0; it < 20; it++) {
        struct kb_conv2d_shape s = {0};
        int64_t g = pick(&rng, 1, 2);
        s.n = pick(&rng, 1, 4);
        s.c = g * pick(&rng, 1, 3);
        s.k = g * pick(&rng, 1, 3);
        s.groups = g;
        s.r = s.s = (int64_t[]){ 1, 3, 5 }[pick(&rng, 0, 2)];
        s.stride = pick(&rng, 1, 2);
        s.pad = pick(&rng, 0, s.r / 2);
        s.h = pick(&rng, s.r, 11);
        s.w = pick(&rng, s.s, 11);
        compare_one(&rng, &s, it % 2 == 0, 1 + it % 2);
    }
}

Test(conv, resnet_shapes_threads)
{
    struct tu_rng rng = { 7 };
    struct kb_conv2d_shape shapes[] = {
        { .n = 4, .c = 3, .h = 32, .w = 32, .k = 16, .r = 3, .s = 3, .stride = 1, .pad = 1, .groups = 1 },
        { .n = 5, .c = 16, .h = 32, .w = 32, .k = 32, .r = 3, .s = 3, .stride = 2, .pad = 1, .groups = 1 },
        { .n = 3, .c = 64, .h = 8, .w = 8, .k = 64, .r = 3, .s = 3, .stride = 1, .pad = 1, .groups = 1 },
        { .n = 3, .c = 16, .h = 16, .w = 16, .k = 16, .r = 9, .s = 9, .stride = 1, .pad = 4, .groups = 16 },
        { .n = 2, .c = 3, .h = 28, .w = 28, .k = 32, .r = 7, .s = 7, .stride = 7, .pad = 0, .groups = 1 },
        { .n = 2, .c = 32, .h = 9, .w = 9, .k = 64, .r = 1, .s = 1, .stride = 2, .pad = 0, .groups = 1 },
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        for (int t = 1; t <= 4; t += 3)
            compare_one(&rng, &shapes[i], i % 2 == 0, t);
}

/* Runs forward + backward and returns the concatenated outputs. */
static float *run_conv(const struct kb_conv2d_shape *s, int threads, size_t *len)
{
    kb_nn_set_threads(threads);
    struct tu_rng rng = { 99 };
    size_t nx = (size_t)(s->n * s->c * s->h * s->w), nw = (size_t)(s->k * (s->c / s->groups) * s->r * s->s);
    size_t no = (size_t)(s->n * s->k * s->p * s->q), nb = (size_t)s->k;
    *len = no + nx + nw + nb;
    float *all = tu_alloc(*len);
    float *x = tu_alloc(nx), *w = tu_alloc(nw), *b = tu_alloc(nb), *d = tu_alloc(no);
    float *ws = tu_alloc(kb_conv2d_workspace(s));
    tu_fill(&rng, x, nx, -1, 1); tu_fill(&rng, w, nw, -1, 1); tu_fill(&rng, b, nb, -1, 1);
    tu_fill(&rng, d, no, -1, 1);
    kb_conv2d_forward(all, ws, x, w, b, s);
    kb_conv2d_backward(all + no, all + no + nx, all + no + nx + nw, ws, d, x, w, s);
    free(x); free(w); free(b); free(d); free(ws);
    return all;
}

Test(conv, deterministic_per_thread_count)
{
    struct kb_conv2d_shape s = { .n = 9, .c = 16, .h = 16, .w = 16, .k = 32, .r = 3, .s = 3,
                                 .stride = 1, .pad = 1, .groups = 1 };
    struct kb_error err = {0};
    cr_assert_eq(kb_conv2d_shape_finish(&s, &err), 0);
    for (int t = 1; t <= 3; t++) {
        size_t n1, n2;
        float *a = run_conv(&s, t, &n1);
        float *b = run_conv(&s, t, &n2);
        cr_assert_eq(n1, n2);
        cr_assert(memcmp(a, b, n1 * sizeof(float)) == 0,
                  "two runs with %d threads differ", t);
        free(a);
        free(b);
    }
}

Test(conv, shape_finish)
{
    struct kb_error err = {0};
    struct kb_conv2d_shape s = { .n = 2, .c = 3, .h = 7, .w = 5, .k = 4, .r = 3, .s = 3,
                                 .stride = 2, .pad = 1, .groups = 1 };
    cr_assert_eq(kb_conv2d_shape_finish(&s, &err), 0);
    cr_assert_eq(s.p, 4);    /* floor((7 + 2 - 3)/2) + 1 */
    cr_assert_eq(s.q, 3);    /* floor((5 + 2 - 3)/2) + 1 */
    s.groups = 2;            /* 3 channels not divisible by 2 */
    cr_assert_eq(kb_conv2d_shape_finish(&s, &err), -1);
    cr_assert(strstr(err.msg, "groups") != NULL, "%s", err.msg);
    s.groups = 1;
    s.r = 10;                /* kernel larger than padded input */
    cr_assert_eq(kb_conv2d_shape_finish(&s, &err), -1);
    s.r = 3;
    s.stride = 0;
    cr_assert_eq(kb_conv2d_shape_finish(&s, &err), -1);
    s.stride = 1;
    s.c = 0;
    cr_assert_eq(kb_conv2d_shape_finish(&s, &err), -1);
}

Test(conv, threads_control)
{
    kb_nn_set_threads(3);
    cr_assert_eq(kb_nn_threads(), 3);
    kb_nn_set_threads(0);
    cr_assert_eq(kb_nn_threads(), 1);
    struct kb_conv2d_shape s = { .n = 8, .c = 4, .h = 6, .w = 6, .k = 4, .r = 3, .s = 3,
                                 .stride = 1, .pad = 1, .groups = 1 };
    struct kb_error err = {0};
    cr_assert_eq(kb_conv2d_shape_finish(&s, &err), 0);
    size_t w1 = kb_conv2d_workspace(&s);
    kb_nn_set_threads(2);
    cr_assert_eq(kb_conv2d_workspace(&s), 2 * w1);
}

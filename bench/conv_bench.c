/* conv_bench — how to run ResNet-20's convolutions fastest here.
 *
 * Times forward and backward (dweight + dinp; no dinp for the first conv, as
 * in training) of all 19 convolutions of ResNet-20 at batch N for one input
 * shape, in three designs:
 *   lib/split   keybench's kb_conv2d_*: per-image im2col + sgemm, images split
 *               across T threads, OpenBLAS single-threaded (the kept design);
 *   img/blasT   the same per-image code on one thread, OpenBLAS with T threads;
 *   batch/blasT whole-batch im2col (C·R·S, N·P·Q) + ONE sgemm per layer and a
 *               transpose to NCHW (backward: transpose dout, one sgemm each for
 *               dweight and dcol, col2im per image), OpenBLAS with T threads.
 * plus the raw skinny GEMMs and cblas_sgemm on a 1024² square for reference.
 * OpenBLAS's kernel is chosen at load time: compare OPENBLAS_CORETYPE=Haswell
 * against the default by running this program twice.
 *
 *   build-nn/bench/conv_bench [--threads 2] [--batch 128] [--reps 5]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>

#include <keybench/nn.h>

#include "../harness/nn/nn_internal.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static float *falloc(size_t n)
{
    float *p = aligned_alloc(64, ((n * sizeof(float) + 63) / 64) * 64);
    if (!p) {
        fprintf(stderr, "conv_bench: out of memory (%zu floats)\n", n);
        exit(1);
    }
    for (size_t i = 0; i < n; i++)
        p[i] = (float)((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
    return p;
}

struct layer {
    struct kb_conv2d_shape s;
    int count;        /* how many such convolutions ResNet-20 has */
    bool first;       /* no input gradient */
    float *x, *w, *o, *d, *dx, *dw;
};

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* ------------------------------------------------------------------ whole-batch design */
static float *g_col, *g_tmp, *g_dT, *g_dwT;

static void batch_forward(struct layer *L)
{
    const struct kb_conv2d_shape *s = &L->s;
    size_t pq = (size_t)(s->p * s->q), npq = (size_t)s->n * pq, hw = (size_t)(s->h * s->w);
    size_t crs = (size_t)(s->c * s->r * s->s);
    /* im2col each image into its column block of (CRS, N·PQ) */
    for (int64_t n = 0; n < s->n; n++) {
        kb_im2col(g_tmp, L->x + (size_t)n * (size_t)s->c * hw, s->c, s->h, s->w, s->r, s->s,
                  s->stride, s->pad, s->p, s->q);
        for (size_t row = 0; row < crs; row++)
            memcpy(g_col + row * npq + (size_t)n * pq, g_tmp + row * pq, pq * sizeof(float));
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)s->k, (int)npq, (int)crs, 1.0f,
                L->w, (int)crs, g_col, (int)npq, 0.0f, g_tmp, (int)npq);
    for (int64_t n = 0; n < s->n; n++)   /* (K, N, PQ) -> (N, K, PQ) */
        for (int64_t k = 0; k < s->k; k++)
            memcpy(L->o + ((size_t)n * (size_t)s->k + (size_t)k) * pq,
                   g_tmp + (size_t)k * npq + (size_t)n * pq, pq * sizeof(float));
}

static void batch_backward(struct layer *L)
{
    const struct kb_conv2d_shape *s = &L->s;
    size_t pq = (size_t)(s->p * s->q), npq = (size_t)s->n * pq, hw = (size_t)(s->h * s->w);
    size_t crs = (size_t)(s->c * s->r * s->s);
    float *dT = g_tmp;   /* dout as (K, N·PQ) */
    float *dcol = g_tmp + (size_t)s->k * npq;
    for (int64_t n = 0; n < s->n; n++)
        for (int64_t k = 0; k < s->k; k++)
            memcpy(dT + (size_t)k * npq + (size_t)n * pq,
                   L->d + ((size_t)n * (size_t)s->k + (size_t)k) * pq, pq * sizeof(float));
    for (int64_t n = 0; n < s->n; n++) {
        kb_im2col(dcol, L->x + (size_t)n * (size_t)s->c * hw, s->c, s->h, s->w, s->r, s->s,
                  s->stride, s->pad, s->p, s->q);
        for (size_t row = 0; row < crs; row++)
            memcpy(g_col + row * npq + (size_t)n * pq, dcol + row * pq, pq * sizeof(float));
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)s->k, (int)crs, (int)npq, 1.0f, dT,
                (int)npq, g_col, (int)npq, 1.0f, L->dw, (int)crs);
    if (L->first)
        return;
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)crs, (int)npq, (int)s->k, 1.0f,
                L->w, (int)crs, dT, (int)npq, 0.0f, g_col, (int)npq);
    for (int64_t n = 0; n < s->n; n++) {
        for (size_t row = 0; row < crs; row++)
            memcpy(dcol + row * pq, g_col + row * npq + (size_t)n * pq, pq * sizeof(float));
        kb_col2im(L->dx + (size_t)n * (size_t)s->c * hw, dcol, s->c, s->h, s->w, s->r, s->s,
                  s->stride, s->pad, s->p, s->q);
    }
}

static double flops_of(struct layer *Ls, int nl, bool backward)
{
    double f = 0;
    for (int i = 0; i < nl; i++) {
        const struct kb_conv2d_shape *s = &Ls[i].s;
        double one = 2.0 * (double)s->n * (double)s->k * (double)(s->p * s->q) *
                     (double)(s->c / s->groups * s->r * s->s);
        f += Ls[i].count * (backward ? (Ls[i].first ? 1 : 2) * one : one);
    }
    return f;
}

/* ------------------------------------------------------------------ one-thread breakdown */
/* Where the per-image design spends its time: im2col, the forward product,
 * dweight (cblas_sgemm NoTrans×Trans), the dcol product, col2im. */
static void breakdown(struct layer *Ls, int nl)
{
    kb_nn_set_threads(1);
    bool direct = kb_gemm_direct_available();
    double t[5] = {0};
    for (int i = 0; i < nl; i++) {
        struct layer *L = &Ls[i];
        const struct kb_conv2d_shape *s = &L->s;
        int64_t pq = s->p * s->q, crs = s->c * s->r * s->s;
        size_t hw = (size_t)(s->h * s->w);
        for (int rep = 0; rep < L->count; rep++)
            for (int64_t n = 0; n < s->n; n++) {
                const float *x = L->x + (size_t)n * (size_t)s->c * hw;
                const float *d = L->d + (size_t)n * (size_t)(s->k * pq);
                float *o = L->o + (size_t)n * (size_t)(s->k * pq);
                double t0 = now();
                kb_im2col(g_col, x, s->c, s->h, s->w, s->r, s->s, s->stride, s->pad, s->p, s->q);
                double t1 = now();
                if (direct)
                    kb_gemm_direct(s->k, pq, crs, L->w, crs, 1, g_col, pq, o, pq, false);
                else
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)s->k, (int)pq,
                                (int)crs, 1, L->w, (int)crs, g_col, (int)pq, 0, o, (int)pq);
                double t2 = now();
                if (direct) {   /* as the library: dWᵀ += col · doutᵀ */
                    for (int64_t k = 0; k < s->k; k++)
                        for (int64_t e = 0; e < pq; e++)
                            g_dT[e * s->k + k] = d[k * pq + e];
                    kb_gemm_direct(crs, s->k, pq, g_col, pq, 1, g_dT, s->k, g_dwT, s->k, true);
                } else {
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)s->k, (int)crs,
                                (int)pq, 1, d, (int)pq, g_col, (int)pq, 1, L->dw, (int)crs);
                }
                double t3 = now();
                if (direct)
                    kb_gemm_direct(crs, pq, s->k, L->w, 1, crs, d, pq, g_tmp, pq, false);
                else
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)crs, (int)pq,
                                (int)s->k, 1, L->w, (int)crs, d, (int)pq, 0, g_tmp, (int)pq);
                double t4 = now();
                kb_col2im(L->dx + (size_t)n * (size_t)s->c * hw, g_tmp, s->c, s->h, s->w, s->r,
                          s->s, s->stride, s->pad, s->p, s->q);
                double t5 = now();
                t[0] += t1 - t0; t[1] += t2 - t1; t[2] += t3 - t2; t[3] += t4 - t3; t[4] += t5 - t4;
            }
    }
    double ff = flops_of(Ls, nl, false);
    printf("  1-thread breakdown (%s products): im2col %.0f ms, forward GEMM %.0f ms (%.1f GFLOP/s), "
           "dweight GEMM %.0f ms (%.1f GFLOP/s), dcol GEMM %.0f ms (%.1f GFLOP/s), col2im %.0f ms\n",
           direct ? "direct" : "OpenBLAS", 1e3 * t[0], 1e3 * t[1], ff / t[1] / 1e9, 1e3 * t[2],
           ff / t[2] / 1e9, 1e3 * t[3], ff / t[3] / 1e9, 1e3 * t[4]);
}

/* ------------------------------------------------------------------ timing */
enum design { LIB_SPLIT, IMG_BLAS, BATCH_BLAS };
static const char *design_name[] = { "lib/split", "img/blasT", "batch/blasT" };

static void set_design(enum design d, int threads)
{
    if (d == LIB_SPLIT) {
        kb_nn_set_threads(threads);          /* also OpenBLAS -> 1 thread */
    } else {
        kb_nn_set_threads(1);
        openblas_set_num_threads(threads);
    }
}

static void run_pass(enum design d, struct layer *Ls, int nl, float *ws, bool backward)
{
    for (int i = 0; i < nl; i++) {
        struct layer *L = &Ls[i];
        for (int rep = 0; rep < L->count; rep++) {
            if (!backward) {
                if (d == BATCH_BLAS)
                    batch_forward(L);
                else
                    kb_conv2d_forward(L->o, ws, L->x, L->w, NULL, &L->s);
            } else {
                if (d == BATCH_BLAS)
                    batch_backward(L);
                else
                    kb_conv2d_backward(L->first ? NULL : L->dx, L->dw, NULL, ws, L->d, L->x,
                                       L->w, &L->s);
            }
        }
    }
}

static double gemm_gflops(int m, int n, int k, int reps)
{
    float *a = falloc((size_t)m * (size_t)k), *b = falloc((size_t)k * (size_t)n),
          *c = falloc((size_t)m * (size_t)n);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1, a, k, b, n, 0, c, n);
    double t[64];
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1, a, k, b, n, 0, c, n);
        t[r] = now() - t0;
    }
    qsort(t, (size_t)reps, sizeof t[0], cmp_double);
    free(a); free(b); free(c);
    return 2.0 * m * n * (double)k / t[reps / 2] / 1e9;
}

/* 128 images of the per-image skinny GEMM (M=k, N=pq, K=crs) vs one whole-batch GEMM */
static void skinny(int threads, int batch, int k, int crs, int pq)
{
    openblas_set_num_threads(threads);
    float *a = falloc((size_t)k * (size_t)crs), *b = falloc((size_t)crs * (size_t)pq * (size_t)batch),
          *c = falloc((size_t)k * (size_t)pq * (size_t)batch);
    double best_img = 1e9, best_batch = 1e9;
    for (int r = 0; r < 3; r++) {
        double t0 = now();
        for (int i = 0; i < batch; i++)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, k, pq, crs, 1, a, crs,
                        b + (size_t)i * (size_t)crs * (size_t)pq, pq, 0,
                        c + (size_t)i * (size_t)k * (size_t)pq, pq);
        double t1 = now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, k, pq * batch, crs, 1, a, crs, b,
                    pq * batch, 0, c, pq * batch);
        double t2 = now();
        if (t1 - t0 < best_img) best_img = t1 - t0;
        if (t2 - t1 < best_batch) best_batch = t2 - t1;
    }
    double f = 2.0 * k * (double)crs * pq * batch;
    printf("  sgemm M=%-3d K=%-4d N=%-6d x%d per image: %6.1f GFLOP/s | one GEMM N=%d: %6.1f GFLOP/s  (OpenBLAS %d thr)\n",
           k, crs, pq, batch, f / best_img / 1e9, pq * batch, f / best_batch / 1e9, threads);
    free(a); free(b); free(c);
}

int main(int argc, char **argv)
{
    int threads = 2, batch = 128, reps = 5;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--threads")) threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--batch")) batch = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--reps")) reps = atoi(argv[i + 1]);
        else { fprintf(stderr, "conv_bench: unknown option %s (valid: --threads --batch --reps)\n", argv[i]); return 2; }
    }
    if (threads < 1 || batch < 1 || reps < 1 || reps > 64) {
        fprintf(stderr, "conv_bench: --threads, --batch >= 1, --reps in 1..64\n");
        return 2;
    }
    printf("OpenBLAS core: %s, config: %s\n", openblas_get_corename(), openblas_get_config());
    openblas_set_num_threads(threads);
    printf("cblas_sgemm 1024^2: %.1f GFLOP/s (%d threads), ", gemm_gflops(1024, 1024, 1024, 5),
           threads);
    openblas_set_num_threads(1);
    printf("%.1f GFLOP/s (1 thread)\n", gemm_gflops(1024, 1024, 1024, 5));
    for (int t = 1; t <= threads; t += threads > 1 ? threads - 1 : 1) {
        skinny(t, batch, 16, 144, 1024);
        skinny(t, batch, 32, 288, 256);
        skinny(t, batch, 64, 576, 64);
    }

    const int64_t shapes[2][2] = { { 1, 28 }, { 3, 32 } };
    for (int si = 0; si < 2; si++) {
        int64_t cin = shapes[si][0], H = shapes[si][1];
        struct layer Ls[6] = {
            { .s = { .c = cin, .k = 16, .h = H, .stride = 1 }, .count = 1, .first = true },
            { .s = { .c = 16, .k = 16, .h = H, .stride = 1 }, .count = 6 },
            { .s = { .c = 16, .k = 32, .h = H, .stride = 2 }, .count = 1 },
            { .s = { .c = 32, .k = 32, .h = (H + 1) / 2, .stride = 1 }, .count = 5 },
            { .s = { .c = 32, .k = 64, .h = (H + 1) / 2, .stride = 2 }, .count = 1 },
            { .s = { .c = 64, .k = 64, .h = (H + 3) / 4, .stride = 1 }, .count = 5 },
        };
        size_t wsmax = 0, colmax = 0, tmpmax = 0;
        kb_nn_set_threads(threads);
        for (int i = 0; i < 6; i++) {
            struct kb_conv2d_shape *s = &Ls[i].s;
            s->n = batch; s->w = s->h; s->r = s->s = 3; s->pad = 1; s->groups = 1;
            struct kb_error err = {0};
            if (kb_conv2d_shape_finish(s, &err) < 0) { fprintf(stderr, "%s\n", err.msg); return 1; }
            size_t nx = (size_t)(s->n * s->c * s->h * s->w), no = (size_t)(s->n * s->k * s->p * s->q);
            size_t nw = (size_t)(s->k * s->c * 9);
            Ls[i].x = falloc(nx); Ls[i].dx = falloc(nx); Ls[i].w = falloc(nw); Ls[i].dw = falloc(nw);
            Ls[i].o = falloc(no); Ls[i].d = falloc(no);
            if (kb_conv2d_workspace(s) > wsmax) wsmax = kb_conv2d_workspace(s);
            size_t col = (size_t)(s->c * 9) * (size_t)(s->n * s->p * s->q);
            if (col > colmax) colmax = col;
            size_t tmp = no + (size_t)(s->c * 9 * s->p * s->q);
            if (col > tmp) tmp = col;
            if (tmp > tmpmax) tmpmax = tmp;
        }
        float *ws = falloc(wsmax);
        g_col = falloc(colmax);
        g_tmp = falloc(tmpmax);
        g_dT = falloc((size_t)64 * 1024);
        g_dwT = falloc((size_t)64 * 576);
        double ff = flops_of(Ls, 6, false), fb = flops_of(Ls, 6, true);
        printf("\nResNet-20 convolutions, %lldx%lldx%lld, batch %d, %d threads: forward %.2f GFLOP, backward %.2f GFLOP\n",
               (long long)cin, (long long)H, (long long)H, batch, threads, ff / 1e9, fb / 1e9);
        for (int d = 0; d < 3; d++) {
            set_design((enum design)d, threads);
            double tf[64], tb[64];
            run_pass((enum design)d, Ls, 6, ws, false);   /* warm-up */
            run_pass((enum design)d, Ls, 6, ws, true);
            for (int r = 0; r < reps; r++) {
                double t0 = now();
                run_pass((enum design)d, Ls, 6, ws, false);
                double t1 = now();
                run_pass((enum design)d, Ls, 6, ws, true);
                tf[r] = t1 - t0;
                tb[r] = now() - t1;
            }
            qsort(tf, (size_t)reps, sizeof tf[0], cmp_double);
            qsort(tb, (size_t)reps, sizeof tb[0], cmp_double);
            double mf = tf[reps / 2], mb = tb[reps / 2];
            printf("  %-12s forward %7.1f ms (%6.1f GFLOP/s)  backward %7.1f ms (%6.1f GFLOP/s)  train %7.0f img/s  infer %7.0f img/s\n",
                   design_name[d], 1e3 * mf, ff / mf / 1e9, 1e3 * mb, fb / mb / 1e9,
                   batch / (mf + mb), batch / mf);
        }
        breakdown(Ls, 6);
        for (int i = 0; i < 6; i++) {
            free(Ls[i].x); free(Ls[i].dx); free(Ls[i].w); free(Ls[i].dw); free(Ls[i].o); free(Ls[i].d);
        }
        free(ws); free(g_col); free(g_tmp); free(g_dT); free(g_dwT);
    }
    return 0;
}

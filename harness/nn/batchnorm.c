/* batchnorm.c — 2-D batch norm as PyTorch: biased batch variance to normalise,
 * unbiased for running_var, running = (1−momentum)·running + momentum·batch.
 * Statistics accumulate in double; channels are split across threads (each
 * channel is reduced by one thread in a fixed order: thread-count independent).
 * gamma/beta may be NULL (affine=False: 1 and 0). */
#include <math.h>
#include <string.h>

#include <keybench/nn.h>

#include "nn_internal.h"

struct bn_task {
    float *out, *save_mean, *save_invstd, *running_mean, *running_var;
    float *dinp, *dgamma, *dbeta;
    const float *inp, *gamma, *beta, *dout, *mean_in, *var_in;
    int64_t n, c, l;
    float momentum, eps;
    bool training;
};

/* Per-channel sums in double with KB_BN_ACC independent partial sums: element
 * i of every (n, c) row goes to partial i mod KB_BN_ACC, and the partials are
 * added in a fixed order at the end. One long dependency chain of double adds
 * was latency-bound (4 cycles an element); independent chains run at the
 * adder's throughput. The order is still fixed and per channel, so results
 * stay independent of the thread count. */
#define KB_BN_ACC 4

static double acc_total(const double *acc)
{
    return (acc[0] + acc[1]) + (acc[2] + acc[3]);
}

static void sum_acc(double *restrict acc, const float *restrict x, size_t l)
{
    double s0 = acc[0], s1 = acc[1], s2 = acc[2], s3 = acc[3];
    size_t i = 0;
    for (; i + 4 <= l; i += 4) {
        s0 += x[i];
        s1 += x[i + 1];
        s2 += x[i + 2];
        s3 += x[i + 3];
    }
    double tail[4] = { s0, s1, s2, s3 };
    for (size_t j = 0; i < l; i++, j++)
        tail[j] += x[i];
    for (int j = 0; j < 4; j++)
        acc[j] = tail[j];
}

static void sqdev_acc(double *restrict acc, const float *restrict x, size_t l, double mean)
{
    double s0 = acc[0], s1 = acc[1], s2 = acc[2], s3 = acc[3];
    size_t i = 0;
    for (; i + 4 <= l; i += 4) {
        double d0 = x[i] - mean, d1 = x[i + 1] - mean, d2 = x[i + 2] - mean,
               d3 = x[i + 3] - mean;
        s0 += d0 * d0;
        s1 += d1 * d1;
        s2 += d2 * d2;
        s3 += d3 * d3;
    }
    double tail[4] = { s0, s1, s2, s3 };
    for (size_t j = 0; i < l; i++, j++) {
        double d = x[i] - mean;
        tail[j] += d * d;
    }
    for (int j = 0; j < 4; j++)
        acc[j] = tail[j];
}

/* Σ dy and Σ dy·(x − mean) */
static void dy_acc(double *restrict ady, double *restrict adyx, const float *restrict dy,
                   const float *restrict x, size_t l, double mean)
{
    double a[4] = { ady[0], ady[1], ady[2], ady[3] };
    double b[4] = { adyx[0], adyx[1], adyx[2], adyx[3] };
    size_t i = 0;
    for (; i + 4 <= l; i += 4)
        for (int j = 0; j < 4; j++) {
            a[j] += dy[i + (size_t)j];
            b[j] += (double)dy[i + (size_t)j] * ((double)x[i + (size_t)j] - mean);
        }
    for (size_t j = 0; i < l; i++, j++) {
        a[j] += dy[i];
        b[j] += (double)dy[i] * ((double)x[i] - mean);
    }
    for (int j = 0; j < 4; j++) {
        ady[j] = a[j];
        adyx[j] = b[j];
    }
}

/* Elementwise row loops on 4 floats at a time (GCC vector extensions, SSE2
 * baseline; GCC -O2 does not vectorise loops of unknown length). The same
 * float operations per element as the scalar tails: bit-identical. */
typedef float kb_v4f __attribute__((vector_size(16)));

static inline kb_v4f v4_load(const float *p)
{
    kb_v4f v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* o = x·a + b */
static void affine_row(float *o, const float *x, size_t l, float a, float b)
{
    const kb_v4f va = { a, a, a, a }, vb = { b, b, b, b };
    size_t i = 0;
    for (; i + 4 <= l; i += 4) {
        kb_v4f r = v4_load(x + i) * va + vb;
        memcpy(o + i, &r, sizeof r);
    }
    for (; i < l; i++)
        o[i] = x[i] * a + b;
}

/* dx += k1·(dy − mdy − (x − mf)·k2) */
static void dx_train_row(float *dx, const float *dy, const float *x, size_t l, float k1,
                         float mdy, float k2, float mf)
{
    const kb_v4f v1 = { k1, k1, k1, k1 }, vm = { mdy, mdy, mdy, mdy },
                 v2 = { k2, k2, k2, k2 }, vf = { mf, mf, mf, mf };
    size_t i = 0;
    for (; i + 4 <= l; i += 4) {
        kb_v4f r = v4_load(dx + i) + v1 * (v4_load(dy + i) - vm - (v4_load(x + i) - vf) * v2);
        memcpy(dx + i, &r, sizeof r);
    }
    for (; i < l; i++)
        dx[i] += k1 * (dy[i] - mdy - (x[i] - mf) * k2);
}

/* dx += k1·dy */
static void dx_eval_row(float *dx, const float *dy, size_t l, float k1)
{
    const kb_v4f v1 = { k1, k1, k1, k1 };
    size_t i = 0;
    for (; i + 4 <= l; i += 4) {
        kb_v4f r = v4_load(dx + i) + v1 * v4_load(dy + i);
        memcpy(dx + i, &r, sizeof r);
    }
    for (; i < l; i++)
        dx[i] += k1 * dy[i];
}

static void forward_task(void *vctx, int tid, int nt)
{
    const struct bn_task *t = vctx;
    int64_t lo, hi;
    kb_nn_split(t->c, tid, nt, &lo, &hi);
    size_t l = (size_t)t->l, cl = (size_t)t->c * l;
    double cnt = (double)t->n * (double)t->l;
    for (int64_t c = lo; c < hi; c++) {
        double mean, invstd;
        if (t->training) {
            double acc[KB_BN_ACC] = { 0 };
            for (int64_t n = 0; n < t->n; n++)
                sum_acc(acc, t->inp + (size_t)n * cl + (size_t)c * l, l);
            mean = acc_total(acc) / cnt;
            double acc2[KB_BN_ACC] = { 0 };
            for (int64_t n = 0; n < t->n; n++)
                sqdev_acc(acc2, t->inp + (size_t)n * cl + (size_t)c * l, l, mean);
            double ss = acc_total(acc2);
            double var = ss / cnt;
            invstd = 1.0 / sqrt(var + (double)t->eps);
            if (t->save_mean)
                t->save_mean[c] = (float)mean;
            if (t->save_invstd)
                t->save_invstd[c] = (float)invstd;
            double m = t->momentum;
            double unbiased = cnt > 1.0 ? ss / (cnt - 1.0) : var;
            if (t->running_mean)
                t->running_mean[c] = (float)((1.0 - m) * t->running_mean[c] + m * mean);
            if (t->running_var)
                t->running_var[c] = (float)((1.0 - m) * t->running_var[c] + m * unbiased);
        } else {
            mean = t->running_mean[c];
            invstd = 1.0 / sqrt((double)t->running_var[c] + (double)t->eps);
        }
        float g = t->gamma ? t->gamma[c] : 1.0f, b = t->beta ? t->beta[c] : 0.0f;
        /* out = x·a + b' with a = g·invstd, b' = b − mean·a (as PyTorch's CPU kernel) */
        float a = (float)((double)g * invstd);
        float bb = (float)((double)b - mean * (double)g * invstd);
        for (int64_t n = 0; n < t->n; n++) {
            const float *x = t->inp + (size_t)n * cl + (size_t)c * l;
            float *o = t->out + (size_t)n * cl + (size_t)c * l;
            affine_row(o, x, l, a, bb);
        }
    }
}

void kb_batchnorm_forward(float *out, float *save_mean, float *save_invstd, float *running_mean,
                          float *running_var, const float *inp, const float *gamma,
                          const float *beta, int64_t n, int64_t c, int64_t l, float momentum,
                          float eps, bool training)
{
    struct bn_task t = { .out = out, .save_mean = save_mean, .save_invstd = save_invstd,
                         .running_mean = running_mean, .running_var = running_var, .inp = inp,
                         .gamma = gamma, .beta = beta, .n = n, .c = c, .l = l,
                         .momentum = momentum, .eps = eps, .training = training };
    kb_nn_parallel(forward_task, &t, (int)(c < 256 ? c : 256));
}

static void backward_task(void *vctx, int tid, int nt)
{
    const struct bn_task *t = vctx;
    int64_t lo, hi;
    kb_nn_split(t->c, tid, nt, &lo, &hi);
    size_t l = (size_t)t->l, cl = (size_t)t->c * l;
    double cnt = (double)t->n * (double)t->l;
    for (int64_t c = lo; c < hi; c++) {
        double mean = t->mean_in[c];
        double invstd;
        if (t->training)
            invstd = t->var_in[c];   /* save_invstd */
        else
            invstd = 1.0 / sqrt((double)t->var_in[c] + (double)t->eps);
        double acc_dy[KB_BN_ACC] = { 0 }, acc_dyx[KB_BN_ACC] = { 0 };
        for (int64_t n = 0; n < t->n; n++)
            dy_acc(acc_dy, acc_dyx, t->dout + (size_t)n * cl + (size_t)c * l,
                   t->inp + (size_t)n * cl + (size_t)c * l, l, mean);
        double sdy = acc_total(acc_dy), sdyx = acc_total(acc_dyx);
        double g = t->gamma ? t->gamma[c] : 1.0;
        if (t->dbeta)
            t->dbeta[c] += (float)sdy;
        if (t->dgamma)
            t->dgamma[c] += (float)(sdyx * invstd);
        if (!t->dinp)
            continue;
        if (t->training) {
            /* dx = g·invstd·(dy − mean(dy) − xhat·mean(dy·xhat)) */
            float k1 = (float)(g * invstd);
            float mdy = (float)(sdy / cnt);
            float k2 = (float)(sdyx * invstd * invstd / cnt);   /* times (x − mean) */
            float mf = (float)mean;
            for (int64_t n = 0; n < t->n; n++) {
                const float *x = t->inp + (size_t)n * cl + (size_t)c * l;
                const float *dy = t->dout + (size_t)n * cl + (size_t)c * l;
                float *dx = t->dinp + (size_t)n * cl + (size_t)c * l;
                dx_train_row(dx, dy, x, l, k1, mdy, k2, mf);
            }
        } else {
            float k1 = (float)(g * invstd);
            for (int64_t n = 0; n < t->n; n++) {
                const float *dy = t->dout + (size_t)n * cl + (size_t)c * l;
                float *dx = t->dinp + (size_t)n * cl + (size_t)c * l;
                dx_eval_row(dx, dy, l, k1);
            }
        }
    }
}

void kb_batchnorm_backward(float *dinp, float *dgamma, float *dbeta, const float *dout,
                           const float *inp, const float *gamma, const float *save_mean,
                           const float *save_invstd, int64_t n, int64_t c, int64_t l)
{
    struct bn_task t = { .dinp = dinp, .dgamma = dgamma, .dbeta = dbeta, .dout = dout,
                         .inp = inp, .gamma = gamma, .mean_in = save_mean,
                         .var_in = save_invstd, .n = n, .c = c, .l = l, .training = true };
    kb_nn_parallel(backward_task, &t, (int)(c < 256 ? c : 256));
}

void kb_batchnorm_backward_eval(float *dinp, float *dgamma, float *dbeta, const float *dout,
                                const float *inp, const float *gamma, const float *running_mean,
                                const float *running_var, int64_t n, int64_t c, int64_t l,
                                float eps)
{
    struct bn_task t = { .dinp = dinp, .dgamma = dgamma, .dbeta = dbeta, .dout = dout,
                         .inp = inp, .gamma = gamma, .mean_in = running_mean,
                         .var_in = running_var, .n = n, .c = c, .l = l, .eps = eps,
                         .training = false };
    kb_nn_parallel(backward_task, &t, (int)(c < 256 ? c : 256));
}

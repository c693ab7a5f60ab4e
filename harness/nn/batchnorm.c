/* batchnorm.c — 2-D batch norm as PyTorch: biased batch variance to normalise,
 * unbiased for running_var, running = (1−momentum)·running + momentum·batch.
 * Statistics accumulate in double; channels are split across threads (each
 * channel is reduced by one thread in a fixed order: thread-count independent).
 * gamma/beta may be NULL (affine=False: 1 and 0). */
#include <math.h>

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
            double sum = 0.0;
            for (int64_t n = 0; n < t->n; n++) {
                const float *x = t->inp + (size_t)n * cl + (size_t)c * l;
                for (size_t i = 0; i < l; i++)
                    sum += x[i];
            }
            mean = sum / cnt;
            double ss = 0.0;
            for (int64_t n = 0; n < t->n; n++) {
                const float *x = t->inp + (size_t)n * cl + (size_t)c * l;
                for (size_t i = 0; i < l; i++) {
                    double dv = x[i] - mean;
                    ss += dv * dv;
                }
            }
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
            for (size_t i = 0; i < l; i++)
                o[i] = x[i] * a + bb;
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
        double sdy = 0.0, sdyx = 0.0;
        for (int64_t n = 0; n < t->n; n++) {
            const float *x = t->inp + (size_t)n * cl + (size_t)c * l;
            const float *dy = t->dout + (size_t)n * cl + (size_t)c * l;
            for (size_t i = 0; i < l; i++) {
                sdy += dy[i];
                sdyx += (double)dy[i] * ((double)x[i] - mean);
            }
        }
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
                for (size_t i = 0; i < l; i++)
                    dx[i] += k1 * (dy[i] - mdy - (x[i] - mf) * k2);
            }
        } else {
            float k1 = (float)(g * invstd);
            for (int64_t n = 0; n < t->n; n++) {
                const float *dy = t->dout + (size_t)n * cl + (size_t)c * l;
                float *dx = t->dinp + (size_t)n * cl + (size_t)c * l;
                for (size_t i = 0; i < l; i++)
                    dx[i] += k1 * dy[i];
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

/* conv2d.c — 2-D convolution: im2col + cblas_sgemm, one image at a time,
 * images split statically across kb_nn_threads() threads (OpenBLAS runs
 * single-threaded inside each). The forward and input-gradient products use
 * the packing-free AVX-512 kernel of gemm_direct.c where the CPU has it. 1×1 stride-1 unpadded convolutions skip
 * im2col (the image already is the column matrix); depthwise convolutions
 * (G == C == K) use direct loops. kb_conv2d_*_ref are plain loops.
 *
 * Workspace per thread: col (C·R·S, P·Q) unless no im2col is needed, then a
 * private dweight (K, C/G·R·S) and dbias (K) for threads 1..T−1, which are
 * reduced into the caller's gradients in thread order (deterministic).
 */
#include <limits.h>
#include <string.h>

#include <cblas.h>

#include <keybench/nn.h>

#include "nn_internal.h"

int kb_conv2d_shape_finish(struct kb_conv2d_shape *s, struct kb_error *err)
{
    if (s->n < 1 || s->c < 1 || s->h < 1 || s->w < 1 || s->k < 1 || s->r < 1 || s->s < 1)
        return kb_error_set(err, "conv2d: every size must be >= 1 (n %lld c %lld h %lld w %lld "
                                 "k %lld kernel %lldx%lld)",
                            (long long)s->n, (long long)s->c, (long long)s->h, (long long)s->w,
                            (long long)s->k, (long long)s->r, (long long)s->s);
    if (s->stride < 1 || s->pad < 0 || s->groups < 1)
        return kb_error_set(err, "conv2d: expected stride >= 1, pad >= 0, groups >= 1 "
                                 "(got %lld, %lld, %lld)",
                            (long long)s->stride, (long long)s->pad, (long long)s->groups);
    if (s->c % s->groups || s->k % s->groups)
        return kb_error_set(err, "conv2d: groups %lld must divide in channels %lld and out "
                                 "channels %lld",
                            (long long)s->groups, (long long)s->c, (long long)s->k);
    const int64_t lim = INT_MAX / 4;
    if (s->h > lim || s->w > lim || s->pad > lim || s->r > lim || s->s > lim || s->c > lim ||
        s->k > lim || s->n > lim || s->stride > lim)
        return kb_error_set(err, "conv2d: a size exceeds %lld", (long long)lim);
    if (s->h + 2 * s->pad < s->r || s->w + 2 * s->pad < s->s)
        return kb_error_set(err, "conv2d: kernel %lldx%lld larger than the padded input "
                                 "%lldx%lld",
                            (long long)s->r, (long long)s->s, (long long)(s->h + 2 * s->pad),
                            (long long)(s->w + 2 * s->pad));
    s->p = (s->h + 2 * s->pad - s->r) / s->stride + 1;
    s->q = (s->w + 2 * s->pad - s->s) / s->stride + 1;
    /* GEMM dimensions are BLAS ints: C·R·S and P·Q must fit. */
    if (s->p * s->q > lim || s->c * s->r * s->s > lim || s->k * (s->c / s->groups) * s->r * s->s > lim)
        return kb_error_set(err, "conv2d: output %lldx%lld or patch %lldx%lldx%lld too large "
                                 "for BLAS",
                            (long long)s->p, (long long)s->q, (long long)s->c, (long long)s->r,
                            (long long)s->s);
    return 0;
}

static bool is_depthwise(const struct kb_conv2d_shape *s)
{
    return s->groups == s->c && s->groups == s->k && s->groups > 1;
}

static bool is_pointwise(const struct kb_conv2d_shape *s)
{
    return s->r == 1 && s->s == 1 && s->stride == 1 && s->pad == 0;
}

static size_t col_floats(const struct kb_conv2d_shape *s)
{
    if (is_depthwise(s) || is_pointwise(s))
        return 0;
    return (size_t)s->c * (size_t)s->r * (size_t)s->s * (size_t)s->p * (size_t)s->q;
}

static size_t wt_floats(const struct kb_conv2d_shape *s)
{
    return (size_t)s->k * (size_t)(s->c / s->groups) * (size_t)s->r * (size_t)s->s;
}

/* The dweight product runs transposed through kb_gemm_direct:
 * dWᵀ (CRSg, Kg) += col (CRSg, PQ) · doutᵀ (PQ, Kg), per thread. */
static bool dw_transposed(const struct kb_conv2d_shape *s)
{
    return !is_depthwise(s) && kb_gemm_direct_available();
}

/* Per thread: col | private dweight (or dWᵀ) | private dbias | doutᵀ (K, PQ) */
static size_t per_thread(const struct kb_conv2d_shape *s)
{
    size_t dt = dw_transposed(s) ? (size_t)s->k * (size_t)s->p * (size_t)s->q : 0;
    return col_floats(s) + wt_floats(s) + (size_t)s->k + dt;
}

static int threads_for(const struct kb_conv2d_shape *s)
{
    int nt = kb_nn_threads();
    if ((int64_t)nt > s->n)
        nt = (int)s->n;
    return nt < 1 ? 1 : nt;
}

size_t kb_conv2d_workspace(const struct kb_conv2d_shape *s)
{
    int nt = kb_nn_threads();
    return (size_t)nt * per_thread(s);
}

/* ------------------------------------------------------------------ depthwise direct loops */

static void dw_forward_plane(float *o, const float *in, const float *wt, float b,
                             const struct kb_conv2d_shape *s)
{
    int64_t P = s->p, Q = s->q, H = s->h, W = s->w, R = s->r, S = s->s;
    int64_t st = s->stride, pad = s->pad;
    for (int64_t i = 0; i < P * Q; i++)
        o[i] = b;
    for (int64_t pi = 0; pi < P; pi++) {
        float *orow = o + pi * Q;
        for (int64_t ri = 0; ri < R; ri++) {
            int64_t ih = pi * st - pad + ri;
            if (ih < 0 || ih >= H)
                continue;
            const float *irow = in + ih * W;
            for (int64_t si = 0; si < S; si++) {
                float wv = wt[ri * S + si];
                int64_t lo, hi, off = si - pad;
                kb_nn_valid_range(&lo, &hi, off, st, W, Q);
                for (int64_t qi = lo; qi < hi; qi++)
                    orow[qi] += wv * irow[qi * st + off];
            }
        }
    }
}

static void dw_backward_plane(float *di, float *dwt, float *db, const float *d, const float *in,
                              const float *wt, const struct kb_conv2d_shape *s)
{
    int64_t P = s->p, Q = s->q, H = s->h, W = s->w, R = s->r, S = s->s;
    int64_t st = s->stride, pad = s->pad;
    if (db) {
        float acc = 0.0f;
        for (int64_t i = 0; i < P * Q; i++)
            acc += d[i];
        *db += acc;
    }
    for (int64_t ri = 0; ri < R; ri++) {
        for (int64_t si = 0; si < S; si++) {
            float wv = wt[ri * S + si];
            float acc = 0.0f;
            int64_t lo, hi, off = si - pad;
            kb_nn_valid_range(&lo, &hi, off, st, W, Q);
            for (int64_t pi = 0; pi < P; pi++) {
                int64_t ih = pi * st - pad + ri;
                if (ih < 0 || ih >= H)
                    continue;
                const float *drow = d + pi * Q;
                const float *irow = in + ih * W;
                float *dirow = di ? di + ih * W : NULL;
                if (dwt)
                    for (int64_t qi = lo; qi < hi; qi++)
                        acc += drow[qi] * irow[qi * st + off];
                if (dirow)
                    for (int64_t qi = lo; qi < hi; qi++)
                        dirow[qi * st + off] += wv * drow[qi];
            }
            if (dwt)
                dwt[ri * S + si] += acc;
        }
    }
}

/* ------------------------------------------------------------------ tasks */

struct conv_task {
    float *out, *dinp, *dweight, *dbias, *ws;
    const float *inp, *weight, *bias, *dout;
    const struct kb_conv2d_shape *s;
    bool direct;   /* use kb_gemm_direct instead of cblas_sgemm */
};

static void forward_task(void *vctx, int tid, int nt)
{
    const struct conv_task *t = vctx;
    const struct kb_conv2d_shape *s = t->s;
    int64_t lo, hi;
    kb_nn_split(s->n, tid, nt, &lo, &hi);
    size_t pq = (size_t)s->p * (size_t)s->q;
    size_t hw = (size_t)s->h * (size_t)s->w;
    int64_t g = s->groups, kg = s->k / g, cg = s->c / g;
    int64_t crs = cg * s->r * s->s;   /* per group */
    float *col = t->ws + (size_t)tid * per_thread(s);
    for (int64_t n = lo; n < hi; n++) {
        const float *in = t->inp + (size_t)n * (size_t)s->c * hw;
        float *o = t->out + (size_t)n * (size_t)s->k * pq;
        if (is_depthwise(s)) {
            for (int64_t c = 0; c < s->c; c++)
                dw_forward_plane(o + (size_t)c * pq, in + (size_t)c * hw,
                                 t->weight + (size_t)c * (size_t)(s->r * s->s),
                                 t->bias ? t->bias[c] : 0.0f, s);
            continue;
        }
        const float *cm = in;
        if (!is_pointwise(s)) {
            kb_im2col(col, in, s->c, s->h, s->w, s->r, s->s, s->stride, s->pad, s->p, s->q);
            cm = col;
        }
        float beta = 0.0f;
        if (t->bias) {
            for (int64_t k = 0; k < s->k; k++)
                for (size_t i = 0; i < pq; i++)
                    o[(size_t)k * pq + i] = t->bias[k];
            beta = 1.0f;
        }
        for (int64_t gi = 0; gi < g; gi++) {
            const float *wg = t->weight + (size_t)(gi * kg * crs);
            const float *bg = cm + (size_t)(gi * crs) * pq;
            float *og = o + (size_t)(gi * kg) * pq;
            if (t->direct)
                kb_gemm_direct(kg, (int64_t)pq, crs, wg, crs, 1, bg, (ptrdiff_t)pq, og,
                               (ptrdiff_t)pq, beta != 0.0f);
            else
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)kg, (int)pq,
                            (int)crs, 1.0f, wg, (int)crs, bg, (int)pq, beta, og, (int)pq);
        }
    }
}

void kb_conv2d_forward(float *out, float *ws, const float *inp, const float *weight,
                       const float *bias, const struct kb_conv2d_shape *s)
{
    struct conv_task t = { .out = out, .ws = ws, .inp = inp, .weight = weight, .bias = bias,
                           .s = s, .direct = kb_gemm_direct_available() };
    kb_nn_parallel(forward_task, &t, threads_for(s));
}

static void backward_task(void *vctx, int tid, int nt)
{
    const struct conv_task *t = vctx;
    const struct kb_conv2d_shape *s = t->s;
    int64_t lo, hi;
    kb_nn_split(s->n, tid, nt, &lo, &hi);
    size_t pq = (size_t)s->p * (size_t)s->q;
    size_t hw = (size_t)s->h * (size_t)s->w;
    int64_t g = s->groups, kg = s->k / g, cg = s->c / g;
    int64_t crs = cg * s->r * s->s;
    float *col = t->ws + (size_t)tid * per_thread(s);
    float *dw = t->dweight, *db = t->dbias;
    float *priv = col + col_floats(s);
    float *doutT = priv + wt_floats(s) + s->k;
    bool transposed = dw && dw_transposed(s);
    /* private accumulators, reduced by the caller in thread order */
    if (dw && (tid > 0 || transposed)) {
        dw = priv;
        memset(dw, 0, wt_floats(s) * sizeof(float));
    }
    if (db && tid > 0) {
        db = priv + wt_floats(s);
        memset(db, 0, (size_t)s->k * sizeof(float));
    }
    for (int64_t n = lo; n < hi; n++) {
        const float *in = t->inp + (size_t)n * (size_t)s->c * hw;
        const float *d = t->dout + (size_t)n * (size_t)s->k * pq;
        float *di = t->dinp ? t->dinp + (size_t)n * (size_t)s->c * hw : NULL;
        if (is_depthwise(s)) {
            for (int64_t c = 0; c < s->c; c++)
                dw_backward_plane(di ? di + (size_t)c * hw : NULL,
                                  dw ? dw + (size_t)c * (size_t)(s->r * s->s) : NULL,
                                  db ? db + c : NULL, d + (size_t)c * pq, in + (size_t)c * hw,
                                  t->weight + (size_t)c * (size_t)(s->r * s->s), s);
            continue;
        }
        if (db) {
            for (int64_t k = 0; k < s->k; k++) {
                const float *row = d + (size_t)k * pq;
                float acc = 0.0f;
                for (size_t i = 0; i < pq; i++)
                    acc += row[i];
                db[k] += acc;
            }
        }
        if (dw) {
            const float *cm = in;
            if (!is_pointwise(s)) {
                kb_im2col(col, in, s->c, s->h, s->w, s->r, s->s, s->stride, s->pad, s->p, s->q);
                cm = col;
            }
            if (transposed) {
                /* dWᵀ_g (CRSg, Kg) += col_g (CRSg, PQ) · doutᵀ_g (PQ, Kg) */
                for (int64_t k = 0; k < s->k; k++)
                    for (size_t i = 0; i < pq; i++)
                        doutT[i * (size_t)s->k + (size_t)k] = d[(size_t)k * pq + i];
                for (int64_t gi = 0; gi < g; gi++)
                    kb_gemm_direct(crs, kg, (int64_t)pq, cm + (size_t)(gi * crs) * pq,
                                   (ptrdiff_t)pq, 1, doutT + gi * kg, (ptrdiff_t)s->k,
                                   dw + (size_t)(gi * kg * crs), (ptrdiff_t)kg, true);
            } else
            /* dW_g (Kg, CRSg) += dout_g (Kg, PQ) · col_gᵀ (PQ, CRSg) */
            for (int64_t gi = 0; gi < g; gi++)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)kg, (int)crs, (int)pq,
                            1.0f, d + (size_t)(gi * kg) * pq, (int)pq,
                            cm + (size_t)(gi * crs) * pq, (int)pq, 1.0f,
                            dw + (size_t)(gi * kg * crs), (int)crs);
        }
        if (di) {
            /* dcol_g (CRSg, PQ) = W_gᵀ (CRSg, Kg) · dout_g (Kg, PQ), then col2im */
            for (int64_t gi = 0; gi < g; gi++) {
                if (t->direct) {
                    /* Wᵀ: element (i, k) of the (CRSg, Kg) matrix is W[k·CRSg + i] */
                    bool pw = is_pointwise(s);
                    kb_gemm_direct(crs, (int64_t)pq, kg, t->weight + (size_t)(gi * kg * crs), 1,
                                   crs, d + (size_t)(gi * kg) * pq, (ptrdiff_t)pq,
                                   pw ? di + (size_t)(gi * cg) * hw
                                      : col + (size_t)(gi * crs) * pq,
                                   (ptrdiff_t)pq, pw);
                } else if (is_pointwise(s)) {
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)crs, (int)pq,
                                (int)kg, 1.0f, t->weight + (size_t)(gi * kg * crs), (int)crs,
                                d + (size_t)(gi * kg) * pq, (int)pq, 1.0f,
                                di + (size_t)(gi * cg) * hw, (int)pq);
                } else {
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)crs, (int)pq,
                                (int)kg, 1.0f, t->weight + (size_t)(gi * kg * crs), (int)crs,
                                d + (size_t)(gi * kg) * pq, (int)pq, 0.0f,
                                col + (size_t)(gi * crs) * pq, (int)pq);
                }
            }
            if (!is_pointwise(s))
                kb_col2im(di, col, s->c, s->h, s->w, s->r, s->s, s->stride, s->pad, s->p, s->q);
        }
    }
}

void kb_conv2d_backward(float *dinp, float *dweight, float *dbias, float *ws, const float *dout,
                        const float *inp, const float *weight, const struct kb_conv2d_shape *s)
{
    struct conv_task t = { .dinp = dinp, .dweight = dweight, .dbias = dbias, .ws = ws,
                           .inp = inp, .weight = weight, .dout = dout, .s = s,
                           .direct = kb_gemm_direct_available() };
    int nt = threads_for(s);
    kb_nn_parallel(backward_task, &t, nt);
    size_t nw = wt_floats(s);
    int64_t kg = s->k / s->groups, crs = (s->c / s->groups) * s->r * s->s;
    bool transposed = dweight && dw_transposed(s);
    for (int tid = transposed ? 0 : 1; tid < nt; tid++) {
        const float *priv = ws + (size_t)tid * per_thread(s) + col_floats(s);
        if (transposed) {   /* dWᵀ blocks (CRSg, Kg) per group */
            for (int64_t gi = 0; gi < s->groups; gi++)
                for (int64_t k = 0; k < kg; k++)
                    for (int64_t i = 0; i < crs; i++)
                        dweight[(size_t)((gi * kg + k) * crs + i)] +=
                            priv[(size_t)(gi * kg * crs + i * kg + k)];
        } else if (dweight && tid > 0) {
            for (size_t i = 0; i < nw; i++)
                dweight[i] += priv[i];
        }
        if (tid == 0)
            continue;
        if (dbias)
            for (int64_t k = 0; k < s->k; k++)
                dbias[k] += priv[nw + (size_t)k];
    }
}

/* ------------------------------------------------------------------ reference loops */

void kb_conv2d_forward_ref(float *out, const float *inp, const float *weight, const float *bias,
                           const struct kb_conv2d_shape *s)
{
    int64_t kg = s->k / s->groups, cg = s->c / s->groups;
    for (int64_t n = 0; n < s->n; n++)
        for (int64_t k = 0; k < s->k; k++) {
            int64_t g = k / kg;
            for (int64_t p = 0; p < s->p; p++)
                for (int64_t q = 0; q < s->q; q++) {
                    double acc = bias ? bias[k] : 0.0;
                    for (int64_t c = 0; c < cg; c++)
                        for (int64_t r = 0; r < s->r; r++)
                            for (int64_t t = 0; t < s->s; t++) {
                                int64_t ih = p * s->stride - s->pad + r;
                                int64_t iw = q * s->stride - s->pad + t;
                                if (ih < 0 || ih >= s->h || iw < 0 || iw >= s->w)
                                    continue;
                                acc += (double)weight[((k * cg + c) * s->r + r) * s->s + t] *
                                       inp[((n * s->c + g * cg + c) * s->h + ih) * s->w + iw];
                            }
                    out[((n * s->k + k) * s->p + p) * s->q + q] = (float)acc;
                }
        }
}

void kb_conv2d_backward_ref(float *dinp, float *dweight, float *dbias, const float *dout,
                            const float *inp, const float *weight,
                            const struct kb_conv2d_shape *s)
{
    int64_t kg = s->k / s->groups, cg = s->c / s->groups;
    for (int64_t n = 0; n < s->n; n++)
        for (int64_t k = 0; k < s->k; k++) {
            int64_t g = k / kg;
            for (int64_t p = 0; p < s->p; p++)
                for (int64_t q = 0; q < s->q; q++) {
                    float d = dout[((n * s->k + k) * s->p + p) * s->q + q];
                    if (dbias)
                        dbias[k] += d;
                    for (int64_t c = 0; c < cg; c++)
                        for (int64_t r = 0; r < s->r; r++)
                            for (int64_t t = 0; t < s->s; t++) {
                                int64_t ih = p * s->stride - s->pad + r;
                                int64_t iw = q * s->stride - s->pad + t;
                                if (ih < 0 || ih >= s->h || iw < 0 || iw >= s->w)
                                    continue;
                                int64_t wi = ((k * cg + c) * s->r + r) * s->s + t;
                                int64_t ii = ((n * s->c + g * cg + c) * s->h + ih) * s->w + iw;
                                if (dweight)
                                    dweight[wi] += d * inp[ii];
                                if (dinp)
                                    dinp[ii] += d * weight[wi];
                            }
                }
        }
}

/* nn_internal.h — helpers shared by the layer files of harness/nn (not public).
 *
 * im2col/col2im work on ONE image: inp (C,H,W), col (C·R·S, P·Q) row-major,
 * row (c·R + r)·S + s, column p·Q + q. The thread pool runs a task on
 * kb_nn_threads() threads (the caller is thread 0) with a fixed static split,
 * so results depend only on the thread count, never on timing.
 */
#ifndef KB_NN_INTERNAL_H
#define KB_NN_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Output columns qi in [*lo, *hi) of q whose input column qi·stride + off lies in
 * [0, w) (off = kernel offset − pad). */
static inline void kb_nn_valid_range(int64_t *lo, int64_t *hi, int64_t off, int64_t stride,
                                     int64_t w, int64_t q)
{
    int64_t a = -off; /* need qi*stride >= -off */
    int64_t l = a <= 0 ? 0 : (a + stride - 1) / stride;
    int64_t b = w - 1 - off; /* need qi*stride <= w-1-off */
    int64_t h = b < 0 ? 0 : b / stride + 1;
    if (h > q)
        h = q;
    if (l > h)
        l = h;
    *lo = l;
    *hi = h;
}

/* col (C·R·S, P·Q) := patches of inp (C,H,W); zeros where the window is padding. */
void kb_im2col(float *col, const float *inp, int64_t c, int64_t h, int64_t w, int64_t r,
               int64_t s, int64_t stride, int64_t pad, int64_t p, int64_t q);
/* dinp (C,H,W) += col2im(dcol (C·R·S, P·Q)). */
void kb_col2im(float *dinp, const float *dcol, int64_t c, int64_t h, int64_t w, int64_t r,
               int64_t s, int64_t stride, int64_t pad, int64_t p, int64_t q);

/* Packing-free AVX-512 GEMM (gemm_direct.c): C (M×N, ldc) = [C +] A·B with
 * A(i,k) = a[i·ars + k·acs] and B (K×N, ldb) row-major. Only call it when
 * kb_gemm_direct_available() (AVX-512F present and KEYBENCH_NN_GEMM is not
 * "openblas"). */
bool kb_gemm_direct_available(void);
void kb_gemm_direct(int64_t m, int64_t n, int64_t k, const float *a, ptrdiff_t ars,
                    ptrdiff_t acs, const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc,
                    bool accumulate);

/* Run fn(ctx, tid, nt) for tid = 0..nt-1, tid 0 on the calling thread; returns
 * when all have finished. nt is clamped to [1, kb_nn_threads()]. Not reentrant:
 * a task must not call kb_nn_parallel itself. */
typedef void (*kb_nn_task)(void *ctx, int tid, int nt);
void kb_nn_parallel(kb_nn_task fn, void *ctx, int nt);

/* [lo, hi) of `count` items for thread tid of nt (contiguous static split). */
static inline void kb_nn_split(int64_t count, int tid, int nt, int64_t *lo, int64_t *hi)
{
    int64_t base = count / nt, extra = count % nt;
    *lo = tid * base + (tid < extra ? tid : extra);
    *hi = *lo + base + (tid < extra ? 1 : 0);
}

#endif

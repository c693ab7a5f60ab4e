/* gemm_direct.c — a packing-free AVX-512 GEMM for the convolution's skinny
 * products (few output channels, long rows), used where OpenBLAS spends more
 * time packing the wide operand than multiplying (docs/engine.md, "Layers:
 * performance"). Correctness is checked through kb_conv2d_*_ref.
 *
 *   C (M×N, ldc) = [C +] A·B, A(i,k) = a[i·ars + k·acs], B (K×N, ldb) row-major.
 *
 * Blocking: 48 columns (3 zmm) × 8 rows = 24 accumulators (narrower blocks
 * of 32 × 12 and 16 × 12 for narrow matrices and tails); K in chunks of 256
 * so the B panel stays in L1/L2. The summation order is fixed (k ascending
 * within a chunk, chunks in order): deterministic.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "nn_internal.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define KB_HAVE_AVX512_KERNEL 1
#endif

static int g_direct = -1;   /* -1 unknown, 0 off, 1 on */

bool kb_gemm_direct_available(void)
{
    if (g_direct < 0) {
        int ok = 0;
#ifdef KB_HAVE_AVX512_KERNEL
        __builtin_cpu_init();
        ok = __builtin_cpu_supports("avx512f") ? 1 : 0;
#endif
        const char *env = getenv("KEYBENCH_NN_GEMM");
        if (env && strcmp(env, "openblas") == 0)
            ok = 0;
        g_direct = ok;
    }
    return g_direct == 1;
}

#ifdef KB_HAVE_AVX512_KERNEL
#define KC 256

/* Micro-kernels: NV zmm columns (16·NV floats) × MR rows, written out so
 * every accumulator stays in a register. The big MR of each width keeps
 * 24 (NV 3, 2) or 12 (NV 1) accumulators. */
typedef void (*micro_fn)(int, const float *, ptrdiff_t, ptrdiff_t, const float *,
                         ptrdiff_t, float *, ptrdiff_t, bool, const __mmask16 *);

__attribute__((target("avx512f"))) static void micro3x8(int kc, const float *a, ptrdiff_t ars,
    ptrdiff_t acs, const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc, bool acc,
    const __mmask16 *mk)
{
    __mmask16 m0 = mk[0]; __mmask16 m1 = mk[1]; __mmask16 m2 = mk[2];
    __m512 c00, c01, c02, c10, c11, c12, c20, c21, c22, c30, c31, c32, c40, c41, c42, c50, c51, c52, c60, c61, c62, c70, c71, c72;
    if (acc) {
        c00 = _mm512_maskz_loadu_ps(m0, c + 0 * ldc + 0);
        c01 = _mm512_maskz_loadu_ps(m1, c + 0 * ldc + 16);
        c02 = _mm512_maskz_loadu_ps(m2, c + 0 * ldc + 32);
        c10 = _mm512_maskz_loadu_ps(m0, c + 1 * ldc + 0);
        c11 = _mm512_maskz_loadu_ps(m1, c + 1 * ldc + 16);
        c12 = _mm512_maskz_loadu_ps(m2, c + 1 * ldc + 32);
        c20 = _mm512_maskz_loadu_ps(m0, c + 2 * ldc + 0);
        c21 = _mm512_maskz_loadu_ps(m1, c + 2 * ldc + 16);
        c22 = _mm512_maskz_loadu_ps(m2, c + 2 * ldc + 32);
        c30 = _mm512_maskz_loadu_ps(m0, c + 3 * ldc + 0);
        c31 = _mm512_maskz_loadu_ps(m1, c + 3 * ldc + 16);
        c32 = _mm512_maskz_loadu_ps(m2, c + 3 * ldc + 32);
        c40 = _mm512_maskz_loadu_ps(m0, c + 4 * ldc + 0);
        c41 = _mm512_maskz_loadu_ps(m1, c + 4 * ldc + 16);
        c42 = _mm512_maskz_loadu_ps(m2, c + 4 * ldc + 32);
        c50 = _mm512_maskz_loadu_ps(m0, c + 5 * ldc + 0);
        c51 = _mm512_maskz_loadu_ps(m1, c + 5 * ldc + 16);
        c52 = _mm512_maskz_loadu_ps(m2, c + 5 * ldc + 32);
        c60 = _mm512_maskz_loadu_ps(m0, c + 6 * ldc + 0);
        c61 = _mm512_maskz_loadu_ps(m1, c + 6 * ldc + 16);
        c62 = _mm512_maskz_loadu_ps(m2, c + 6 * ldc + 32);
        c70 = _mm512_maskz_loadu_ps(m0, c + 7 * ldc + 0);
        c71 = _mm512_maskz_loadu_ps(m1, c + 7 * ldc + 16);
        c72 = _mm512_maskz_loadu_ps(m2, c + 7 * ldc + 32);
    } else {
        c00 = c01 = c02 = c10 = c11 = c12 = c20 = c21 = c22 = c30 = c31 = c32 = c40 = c41 = c42 = c50 = c51 = c52 = c60 = c61 = c62 = c70 = c71 = c72 = _mm512_setzero_ps();
    }
    for (int k = 0; k < kc; k++) {
        const float *bk = b + k * ldb;
        __m512 b0 = _mm512_maskz_loadu_ps(m0, bk + 0);
        __m512 b1 = _mm512_maskz_loadu_ps(m1, bk + 16);
        __m512 b2 = _mm512_maskz_loadu_ps(m2, bk + 32);
        const float *ak = a + k * acs;
        __m512 av;
        av = _mm512_set1_ps(ak[0 * ars]);
        c00 = _mm512_fmadd_ps(av, b0, c00);
        c01 = _mm512_fmadd_ps(av, b1, c01);
        c02 = _mm512_fmadd_ps(av, b2, c02);
        av = _mm512_set1_ps(ak[1 * ars]);
        c10 = _mm512_fmadd_ps(av, b0, c10);
        c11 = _mm512_fmadd_ps(av, b1, c11);
        c12 = _mm512_fmadd_ps(av, b2, c12);
        av = _mm512_set1_ps(ak[2 * ars]);
        c20 = _mm512_fmadd_ps(av, b0, c20);
        c21 = _mm512_fmadd_ps(av, b1, c21);
        c22 = _mm512_fmadd_ps(av, b2, c22);
        av = _mm512_set1_ps(ak[3 * ars]);
        c30 = _mm512_fmadd_ps(av, b0, c30);
        c31 = _mm512_fmadd_ps(av, b1, c31);
        c32 = _mm512_fmadd_ps(av, b2, c32);
        av = _mm512_set1_ps(ak[4 * ars]);
        c40 = _mm512_fmadd_ps(av, b0, c40);
        c41 = _mm512_fmadd_ps(av, b1, c41);
        c42 = _mm512_fmadd_ps(av, b2, c42);
        av = _mm512_set1_ps(ak[5 * ars]);
        c50 = _mm512_fmadd_ps(av, b0, c50);
        c51 = _mm512_fmadd_ps(av, b1, c51);
        c52 = _mm512_fmadd_ps(av, b2, c52);
        av = _mm512_set1_ps(ak[6 * ars]);
        c60 = _mm512_fmadd_ps(av, b0, c60);
        c61 = _mm512_fmadd_ps(av, b1, c61);
        c62 = _mm512_fmadd_ps(av, b2, c62);
        av = _mm512_set1_ps(ak[7 * ars]);
        c70 = _mm512_fmadd_ps(av, b0, c70);
        c71 = _mm512_fmadd_ps(av, b1, c71);
        c72 = _mm512_fmadd_ps(av, b2, c72);
    }
    _mm512_mask_storeu_ps(c + 0 * ldc + 0, m0, c00);
    _mm512_mask_storeu_ps(c + 0 * ldc + 16, m1, c01);
    _mm512_mask_storeu_ps(c + 0 * ldc + 32, m2, c02);
    _mm512_mask_storeu_ps(c + 1 * ldc + 0, m0, c10);
    _mm512_mask_storeu_ps(c + 1 * ldc + 16, m1, c11);
    _mm512_mask_storeu_ps(c + 1 * ldc + 32, m2, c12);
    _mm512_mask_storeu_ps(c + 2 * ldc + 0, m0, c20);
    _mm512_mask_storeu_ps(c + 2 * ldc + 16, m1, c21);
    _mm512_mask_storeu_ps(c + 2 * ldc + 32, m2, c22);
    _mm512_mask_storeu_ps(c + 3 * ldc + 0, m0, c30);
    _mm512_mask_storeu_ps(c + 3 * ldc + 16, m1, c31);
    _mm512_mask_storeu_ps(c + 3 * ldc + 32, m2, c32);
    _mm512_mask_storeu_ps(c + 4 * ldc + 0, m0, c40);
    _mm512_mask_storeu_ps(c + 4 * ldc + 16, m1, c41);
    _mm512_mask_storeu_ps(c + 4 * ldc + 32, m2, c42);
    _mm512_mask_storeu_ps(c + 5 * ldc + 0, m0, c50);
    _mm512_mask_storeu_ps(c + 5 * ldc + 16, m1, c51);
    _mm512_mask_storeu_ps(c + 5 * ldc + 32, m2, c52);
    _mm512_mask_storeu_ps(c + 6 * ldc + 0, m0, c60);
    _mm512_mask_storeu_ps(c + 6 * ldc + 16, m1, c61);
    _mm512_mask_storeu_ps(c + 6 * ldc + 32, m2, c62);
    _mm512_mask_storeu_ps(c + 7 * ldc + 0, m0, c70);
    _mm512_mask_storeu_ps(c + 7 * ldc + 16, m1, c71);
    _mm512_mask_storeu_ps(c + 7 * ldc + 32, m2, c72);
}

__attribute__((target("avx512f"))) static void micro3x4(int kc, const float *a, ptrdiff_t ars,
    ptrdiff_t acs, const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc, bool acc,
    const __mmask16 *mk)
{
    __mmask16 m0 = mk[0]; __mmask16 m1 = mk[1]; __mmask16 m2 = mk[2];
    __m512 c00, c01, c02, c10, c11, c12, c20, c21, c22, c30, c31, c32;
    if (acc) {
        c00 = _mm512_maskz_loadu_ps(m0, c + 0 * ldc + 0);
        c01 = _mm512_maskz_loadu_ps(m1, c + 0 * ldc + 16);
        c02 = _mm512_maskz_loadu_ps(m2, c + 0 * ldc + 32);
        c10 = _mm512_maskz_loadu_ps(m0, c + 1 * ldc + 0);
        c11 = _mm512_maskz_loadu_ps(m1, c + 1 * ldc + 16);
        c12 = _mm512_maskz_loadu_ps(m2, c + 1 * ldc + 32);
        c20 = _mm512_maskz_loadu_ps(m0, c + 2 * ldc + 0);
        c21 = _mm512_maskz_loadu_ps(m1, c + 2 * ldc + 16);
        c22 = _mm512_maskz_loadu_ps(m2, c + 2 * ldc + 32);
        c30 = _mm512_maskz_loadu_ps(m0, c + 3 * ldc + 0);
        c31 = _mm512_maskz_loadu_ps(m1, c + 3 * ldc + 16);
        c32 = _mm512_maskz_loadu_ps(m2, c + 3 * ldc + 32);
    } else {
        c00 = c01 = c02 = c10 = c11 = c12 = c20 = c21 = c22 = c30 = c31 = c32 = _mm512_setzero_ps();
    }
    for (int k = 0; k < kc; k++) {
        const float *bk = b + k * ldb;
        __m512 b0 = _mm512_maskz_loadu_ps(m0, bk + 0);
        __m512 b1 = _mm512_maskz_loadu_ps(m1, bk + 16);
        __m512 b2 = _mm512_maskz_loadu_ps(m2, bk + 32);
        const float *ak = a + k * acs;
        __m512 av;
        av = _mm512_set1_ps(ak[0 * ars]);
        c00 = _mm512_fmadd_ps(av, b0, c00);
        c01 = _mm512_fmadd_ps(av, b1, c01);
        c02 = _mm512_fmadd_ps(av, b2, c02);
        av = _mm512_set1_ps(ak[1 * ars]);
        c10 = _mm512_fmadd_ps(av, b0, c10);
        c11 = _mm512_fmadd_ps(av, b1, c11);
        c12 = _mm512_fmadd_ps(av, b2, c12);
        av = _mm512_set1_ps(ak[2 * ars]);
        c20 = _mm512_fmadd_ps(av, b0, c20);
        c21 = _mm512_fmadd_ps(av, b1, c21);
        c22 = _mm512_fmadd_ps(av, b2, c22);
        av = _mm512_set1_ps(ak[3 * ars]);
        c30 = _mm512_fmadd_ps(av, b0, c30);
        c31 = _mm512_fmadd_ps(av, b1, c31);
        c32 = _mm512_fmadd_ps(av, b2, c32);
    }
    _mm512_mask_storeu_ps(c + 0 * ldc + 0, m0, c00);
    _mm512_mask_storeu_ps(c + 0 * ldc + 16, m1, c01);
    _mm512_mask_storeu_ps(c + 0 * ldc + 32, m2, c02);
    _mm512_mask_storeu_ps(c + 1 * ldc + 0, m0, c10);
    _mm512_mask_storeu_ps(c + 1 * ldc + 16, m1, c11);
    _mm512_mask_storeu_ps(c + 1 * ldc + 32, m2, c12);
    _mm512_mask_storeu_ps(c + 2 * ldc + 0, m0, c20);
    _mm512_mask_storeu_ps(c + 2 * ldc + 16, m1, c21);
    _mm512_mask_storeu_ps(c + 2 * ldc + 32, m2, c22);
    _mm512_mask_storeu_ps(c + 3 * ldc + 0, m0, c30);
    _mm512_mask_storeu_ps(c + 3 * ldc + 16, m1, c31);
    _mm512_mask_storeu_ps(c + 3 * ldc + 32, m2, c32);
}

__attribute__((target("avx512f"))) static void micro3x1(int kc, const float *a, ptrdiff_t ars,
    ptrdiff_t acs, const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc, bool acc,
    const __mmask16 *mk)
{
    __mmask16 m0 = mk[0]; __mmask16 m1 = mk[1]; __mmask16 m2 = mk[2];
    __m512 c00, c01, c02;
    if (acc) {
        c00 = _mm512_maskz_loadu_ps(m0, c + 0 * ldc + 0);
        c01 = _mm512_maskz_loadu_ps(m1, c + 0 * ldc + 16);
        c02 = _mm512_maskz_loadu_ps(m2, c + 0 * ldc + 32);
    } else {
        c00 = c01 = c02 = _mm512_setzero_ps();
    }
    for (int k = 0; k < kc; k++) {
        const float *bk = b + k * ldb;
        __m512 b0 = _mm512_maskz_loadu_ps(m0, bk + 0);
        __m512 b1 = _mm512_maskz_loadu_ps(m1, bk + 16);
        __m512 b2 = _mm512_maskz_loadu_ps(m2, bk + 32);
        const float *ak = a + k * acs;
        __m512 av;
        av = _mm512_set1_ps(ak[0 * ars]);
        c00 = _mm512_fmadd_ps(av, b0, c00);
        c01 = _mm512_fmadd_ps(av, b1, c01);
        c02 = _mm512_fmadd_ps(av, b2, c02);
    }
    _mm512_mask_storeu_ps(c + 0 * ldc + 0, m0, c00);
    _mm512_mask_storeu_ps(c + 0 * ldc + 16, m1, c01);
    _mm512_mask_storeu_ps(c + 0 * ldc + 32, m2, c02);
}

__attribute__((target("avx512f"))) static void micro2x12(int kc, const float *a, ptrdiff_t ars,
    ptrdiff_t acs, const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc, bool acc,
    const __mmask16 *mk)
{
    __mmask16 m0 = mk[0]; __mmask16 m1 = mk[1];
    __m512 c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51, c60, c61, c70, c71, c80, c81, c90, c91, c100, c101, c110, c111;
    if (acc) {
        c00 = _mm512_maskz_loadu_ps(m0, c + 0 * ldc + 0);
        c01 = _mm512_maskz_loadu_ps(m1, c + 0 * ldc + 16);
        c10 = _mm512_maskz_loadu_ps(m0, c + 1 * ldc + 0);
        c11 = _mm512_maskz_loadu_ps(m1, c + 1 * ldc + 16);
        c20 = _mm512_maskz_loadu_ps(m0, c + 2 * ldc + 0);
        c21 = _mm512_maskz_loadu_ps(m1, c + 2 * ldc + 16);
        c30 = _mm512_maskz_loadu_ps(m0, c + 3 * ldc + 0);
        c31 = _mm512_maskz_loadu_ps(m1, c + 3 * ldc + 16);
        c40 = _mm512_maskz_loadu_ps(m0, c + 4 * ldc + 0);
        c41 = _mm512_maskz_loadu_ps(m1, c + 4 * ldc + 16);
        c50 = _mm512_maskz_loadu_ps(m0, c + 5 * ldc + 0);
        c51 = _mm512_maskz_loadu_ps(m1, c + 5 * ldc + 16);
        c60 = _mm512_maskz_loadu_ps(m0, c + 6 * ldc + 0);
        c61 = _mm512_maskz_loadu_ps(m1, c + 6 * ldc + 16);
        c70 = _mm512_maskz_loadu_ps(m0, c + 7 * ldc + 0);
        c71 = _mm512_maskz_loadu_ps(m1, c + 7 * ldc + 16);
        c80 = _mm512_maskz_loadu_ps(m0, c + 8 * ldc + 0);
        c81 = _mm512_maskz_loadu_ps(m1, c + 8 * ldc + 16);
        c90 = _mm512_maskz_loadu_ps(m0, c + 9 * ldc + 0);
        c91 = _mm512_maskz_loadu_ps(m1, c + 9 * ldc + 16);
        c100 = _mm512_maskz_loadu_ps(m0, c + 10 * ldc + 0);
        c101 = _mm512_maskz_loadu_ps(m1, c + 10 * ldc + 16);
        c110 = _mm512_maskz_loadu_ps(m0, c + 11 * ldc + 0);
        c111 = _mm512_maskz_loadu_ps(m1, c + 11 * ldc + 16);
    } else {
        c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = c60 = c61 = c70 = c71 = c80 = c81 = c90 = c91 = c100 = c101 = c110 = c111 = _mm512_setzero_ps();
    }
    for (int k = 0; k < kc; k++) {
        const float *bk = b + k * ldb;
        __m512 b0 = _mm512_maskz_loadu_ps(m0, bk + 0);
        __m512 b1 = _mm512_maskz_loadu_ps(m1, bk + 16);
        const float *ak = a + k * acs;
        __m512 av;
        av = _mm512_set1_ps(ak[0 * ars]);
        c00 = _mm512_fmadd_ps(av, b0, c00);
        c01 = _mm512_fmadd_ps(av, b1, c01);
        av = _mm512_set1_ps(ak[1 * ars]);
        c10 = _mm512_fmadd_ps(av, b0, c10);
        c11 = _mm512_fmadd_ps(av, b1, c11);
        av = _mm512_set1_ps(ak[2 * ars]);
        c20 = _mm512_fmadd_ps(av, b0, c20);
        c21 = _mm512_fmadd_ps(av, b1, c21);
        av = _mm512_set1_ps(ak[3 * ars]);
        c30 = _mm512_fmadd_ps(av, b0, c30);
        c31 = _mm512_fmadd_ps(av, b1, c31);
        av = _mm512_set1_ps(ak[4 * ars]);
        c40 = _mm512_fmadd_ps(av, b0, c40);
        c41 = _mm512_fmadd_ps(av, b1, c41);
        av = _mm512_set1_ps(ak[5 * ars]);
        c50 = _mm512_fmadd_ps(av, b0, c50);
        c51 = _mm512_fmadd_ps(av, b1, c51);
        av = _mm512_set1_ps(ak[6 * ars]);
        c60 = _mm512_fmadd_ps(av, b0, c60);
        c61 = _mm512_fmadd_ps(av, b1, c61);
        av = _mm512_set1_ps(ak[7 * ars]);
        c70 = _mm512_fmadd_ps(av, b0, c70);
        c71 = _mm512_fmadd_ps(av, b1, c71);
        av = _mm512_set1_ps(ak[8 * ars]);
        c80 = _mm512_fmadd_ps(av, b0, c80);
        c81 = _mm512_fmadd_ps(av, b1, c81);
        av = _mm512_set1_ps(ak[9 * ars]);
        c90 = _mm512_fmadd_ps(av, b0, c90);
        c91 = _mm512_fmadd_ps(av, b1, c91);
        av = _mm512_set1_ps(ak[10 * ars]);
        c100 = _mm512_fmadd_ps(av, b0, c100);
        c101 = _mm512_fmadd_ps(av, b1, c101);
        av = _mm512_set1_ps(ak[11 * ars]);
        c110 = _mm512_fmadd_ps(av, b0, c110);
        c111 = _mm512_fmadd_ps(av, b1, c111);
    }
    _mm512_mask_storeu_ps(c + 0 * ldc + 0, m0, c00);
    _mm512_mask_storeu_ps(c + 0 * ldc + 16, m1, c01);
    _mm512_mask_storeu_ps(c + 1 * ldc + 0, m0, c10);
    _mm512_mask_storeu_ps(c + 1 * ldc + 16, m1, c11);
    _mm512_mask_storeu_ps(c + 2 * ldc + 0, m0, c20);
    _mm512_mask_storeu_ps(c + 2 * ldc + 16, m1, c21);
    _mm512_mask_storeu_ps(c + 3 * ldc + 0, m0, c30);
    _mm512_mask_storeu_ps(c + 3 * ldc + 16, m1, c31);
    _mm512_mask_storeu_ps(c + 4 * ldc + 0, m0, c40);
    _mm512_mask_storeu_ps(c + 4 * ldc + 16, m1, c41);
    _mm512_mask_storeu_ps(c + 5 * ldc + 0, m0, c50);
    _mm512_mask_storeu_ps(c + 5 * ldc + 16, m1, c51);
    _mm512_mask_storeu_ps(c + 6 * ldc + 0, m0, c60);
    _mm512_mask_storeu_ps(c + 6 * ldc + 16, m1, c61);
    _mm512_mask_storeu_ps(c + 7 * ldc + 0, m0, c70);
    _mm512_mask_storeu_ps(c + 7 * ldc + 16, m1, c71);
    _mm512_mask_storeu_ps(c + 8 * ldc + 0, m0, c80);
    _mm512_mask_storeu_ps(c + 8 * ldc + 16, m1, c81);
    _mm512_mask_storeu_ps(c + 9 * ldc + 0, m0, c90);
    _mm512_mask_storeu_ps(c + 9 * ldc + 16, m1, c91);
    _mm512_mask_storeu_ps(c + 10 * ldc + 0, m0, c100);
    _mm512_mask_storeu_ps(c + 10 * ldc + 16, m1, c101);
    _mm512_mask_storeu_ps(c + 11 * ldc + 0, m0, c110);
    _mm512_mask_storeu_ps(c + 11 * ldc + 16, m1, c111);
}

__attribute__((target("avx512f"))) static void micro2x4(int kc, const float *a, ptrdiff_t ars,
    ptrdiff_t acs, const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc, bool acc,
    const __mmask16 *mk)
{
    __mmask16 m0 = mk[0]; __mmask16 m1 = mk[1];
    __m512 c00, c01, c10, c11, c20, c21, c30, c31;
    if (acc) {
        c00 = _mm512_maskz_loadu_ps(m0, c + 0 * ldc + 0);
        c01 = _mm512_maskz_loadu_ps(m1, c + 0 * ldc + 16);
        c10 = _mm512_maskz_loadu_ps(m0, c + 1 * ldc + 0);
        c11 = _mm512_maskz_loadu_ps(m1, c + 1 * ldc + 16);
        c20 = _mm512_maskz_loadu_ps(m0, c + 2 * ldc + 0);
        c21 = _mm512_maskz_loadu_ps(m1, c + 2 * ldc + 16);
        c30 = _mm512_maskz_loadu_ps(m0, c + 3 * ldc + 0);
        c31 = _mm512_maskz_loadu_ps(m1, c + 3 * ldc + 16);
    } else {
        c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = _mm512_setzero_ps();
    }
    for (int k = 0; k < kc; k++) {
        const float *bk = b + k * ldb;
        __m512 b0 = _mm512_maskz_loadu_ps(m0, bk + 0);
        __m512 b1 = _mm512_maskz_loadu_ps(m1, bk + 16);
        const float *ak = a + k * acs;
        __m512 av;
        av = _mm512_set1_ps(ak[0 * ars]);
        c00 = _mm512_fmadd_ps(av, b0, c00);
        c01 = _mm512_fmadd_ps(av, b1, c01);
        av = _mm512_set1_ps(ak[1 * ars]);
        c10 = _mm512_fmadd_ps(av, b0, c10);
        c11 = _mm512_fmadd_ps(av, b1, c11);
        av = _mm512_set1_ps(ak[2 * ars]);
        c20 = _mm512_fmadd_ps(av, b0, c20);
        c21 = _mm512_fmadd_ps(av, b1, c21);
        av = _mm512_set1_ps(ak[3 * ars]);
        c30 = _mm512_fmadd_ps(av, b0, c30);
        c31 = _mm512_fmadd_ps(av, b1, c31);
    }
    _mm512_mask_storeu_ps(c + 0 * ldc + 0, m0, c00);
    _mm512_mask_storeu_ps(c + 0 * ldc + 16, m1, c01);
    _mm512_mask_storeu_ps(c + 1 * ldc + 0, m0, c10);
    _mm512_mask_storeu_ps(c + 1 * ldc + 16, m1, c11);
    _mm512_mask_storeu_ps(c + 2 * ldc + 0, m0, c20);
    _mm512_mask_storeu_ps(c + 2 * ldc + 16, m1, c21);
    _mm512_mask_storeu_ps(c + 3 * ldc + 0, m0, c30);
    _mm512_mask_storeu_ps(c + 3 * ldc + 16, m1, c31);
}

__attribute__((target("avx512f"))) static void micro2x1(int kc, const float *a, ptrdiff_t ars,
    ptrdiff_t acs, const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc, bool acc,
    const __mmask16 *mk)
{
    __mmask16 m0 = mk[0]; __mmask16 m1 = mk[1];
    __m512 c00, c01;
    if (acc) {
        c00 = _mm512_maskz_loadu_ps(m0, c + 0 * ldc + 0);
        c01 = _mm512_maskz_loadu_ps(m1, c + 0 * ldc + 16);
    } else {
        c00 = c01 = _mm512_setzero_ps();
    }
    for (int k = 0; k < kc; k++) {
        const float *bk = b + k * ldb;
        __m512 b0 = _mm512_maskz_loadu_ps(m0, bk + 0);
        __m512 b1 = _mm512_maskz_loadu_ps(m1, bk + 16);
        const float *ak = a + k * acs;
        __m512 av;
        av = _mm512_set1_ps(ak[0 * ars]);
        c00 = _mm512_fmadd_ps(av, b0, c00);
        c01 = _mm512_fmadd_ps(av, b1, c01);
    }
    _mm512_mask_storeu_ps(c + 0 * ldc + 0, m0, c00);
    _mm512_mask_storeu_ps(c + 0 * ldc + 16, m1, c01);
}

__attribute__((target("avx512f"))) static void micro1x12(int kc, const float *a, ptrdiff_t ars,
    ptrdiff_t acs, const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc, bool acc,
    const __mmask16 *mk)
{
    __mmask16 m0 = mk[0];
    __m512 c00, c10, c20, c30, c40, c50, c60, c70, c80, c90, c100, c110;
    if (acc) {
        c00 = _mm512_maskz_loadu_ps(m0, c + 0 * ldc + 0);
        c10 = _mm512_maskz_loadu_ps(m0, c + 1 * ldc + 0);
        c20 = _mm512_maskz_loadu_ps(m0, c + 2 * ldc + 0);
        c30 = _mm512_maskz_loadu_ps(m0, c + 3 * ldc + 0);
        c40 = _mm512_maskz_loadu_ps(m0, c + 4 * ldc + 0);
        c50 = _mm512_maskz_loadu_ps(m0, c + 5 * ldc + 0);
        c60 = _mm512_maskz_loadu_ps(m0, c + 6 * ldc + 0);
        c70 = _mm512_maskz_loadu_ps(m0, c + 7 * ldc + 0);
        c80 = _mm512_maskz_loadu_ps(m0, c + 8 * ldc + 0);
        c90 = _mm512_maskz_loadu_ps(m0, c + 9 * ldc + 0);
        c100 = _mm512_maskz_loadu_ps(m0, c + 10 * ldc + 0);
        c110 = _mm512_maskz_loadu_ps(m0, c + 11 * ldc + 0);
    } else {
        c00 = c10 = c20 = c30 = c40 = c50 = c60 = c70 = c80 = c90 = c100 = c110 = _mm512_setzero_ps();
    }
    for (int k = 0; k < kc; k++) {
        const float *bk = b + k * ldb;
        __m512 b0 = _mm512_maskz_loadu_ps(m0, bk + 0);
        const float *ak = a + k * acs;
        __m512 av;
        av = _mm512_set1_ps(ak[0 * ars]);
        c00 = _mm512_fmadd_ps(av, b0, c00);
        av = _mm512_set1_ps(ak[1 * ars]);
        c10 = _mm512_fmadd_ps(av, b0, c10);
        av = _mm512_set1_ps(ak[2 * ars]);
        c20 = _mm512_fmadd_ps(av, b0, c20);
        av = _mm512_set1_ps(ak[3 * ars]);
        c30 = _mm512_fmadd_ps(av, b0, c30);
        av = _mm512_set1_ps(ak[4 * ars]);
        c40 = _mm512_fmadd_ps(av, b0, c40);
        av = _mm512_set1_ps(ak[5 * ars]);
        c50 = _mm512_fmadd_ps(av, b0, c50);
        av = _mm512_set1_ps(ak[6 * ars]);
        c60 = _mm512_fmadd_ps(av, b0, c60);
        av = _mm512_set1_ps(ak[7 * ars]);
        c70 = _mm512_fmadd_ps(av, b0, c70);
        av = _mm512_set1_ps(ak[8 * ars]);
        c80 = _mm512_fmadd_ps(av, b0, c80);
        av = _mm512_set1_ps(ak[9 * ars]);
        c90 = _mm512_fmadd_ps(av, b0, c90);
        av = _mm512_set1_ps(ak[10 * ars]);
        c100 = _mm512_fmadd_ps(av, b0, c100);
        av = _mm512_set1_ps(ak[11 * ars]);
        c110 = _mm512_fmadd_ps(av, b0, c110);
    }
    _mm512_mask_storeu_ps(c + 0 * ldc + 0, m0, c00);
    _mm512_mask_storeu_ps(c + 1 * ldc + 0, m0, c10);
    _mm512_mask_storeu_ps(c + 2 * ldc + 0, m0, c20);
    _mm512_mask_storeu_ps(c + 3 * ldc + 0, m0, c30);
    _mm512_mask_storeu_ps(c + 4 * ldc + 0, m0, c40);
    _mm512_mask_storeu_ps(c + 5 * ldc + 0, m0, c50);
    _mm512_mask_storeu_ps(c + 6 * ldc + 0, m0, c60);
    _mm512_mask_storeu_ps(c + 7 * ldc + 0, m0, c70);
    _mm512_mask_storeu_ps(c + 8 * ldc + 0, m0, c80);
    _mm512_mask_storeu_ps(c + 9 * ldc + 0, m0, c90);
    _mm512_mask_storeu_ps(c + 10 * ldc + 0, m0, c100);
    _mm512_mask_storeu_ps(c + 11 * ldc + 0, m0, c110);
}

__attribute__((target("avx512f"))) static void micro1x4(int kc, const float *a, ptrdiff_t ars,
    ptrdiff_t acs, const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc, bool acc,
    const __mmask16 *mk)
{
    __mmask16 m0 = mk[0];
    __m512 c00, c10, c20, c30;
    if (acc) {
        c00 = _mm512_maskz_loadu_ps(m0, c + 0 * ldc + 0);
        c10 = _mm512_maskz_loadu_ps(m0, c + 1 * ldc + 0);
        c20 = _mm512_maskz_loadu_ps(m0, c + 2 * ldc + 0);
        c30 = _mm512_maskz_loadu_ps(m0, c + 3 * ldc + 0);
    } else {
        c00 = c10 = c20 = c30 = _mm512_setzero_ps();
    }
    for (int k = 0; k < kc; k++) {
        const float *bk = b + k * ldb;
        __m512 b0 = _mm512_maskz_loadu_ps(m0, bk + 0);
        const float *ak = a + k * acs;
        __m512 av;
        av = _mm512_set1_ps(ak[0 * ars]);
        c00 = _mm512_fmadd_ps(av, b0, c00);
        av = _mm512_set1_ps(ak[1 * ars]);
        c10 = _mm512_fmadd_ps(av, b0, c10);
        av = _mm512_set1_ps(ak[2 * ars]);
        c20 = _mm512_fmadd_ps(av, b0, c20);
        av = _mm512_set1_ps(ak[3 * ars]);
        c30 = _mm512_fmadd_ps(av, b0, c30);
    }
    _mm512_mask_storeu_ps(c + 0 * ldc + 0, m0, c00);
    _mm512_mask_storeu_ps(c + 1 * ldc + 0, m0, c10);
    _mm512_mask_storeu_ps(c + 2 * ldc + 0, m0, c20);
    _mm512_mask_storeu_ps(c + 3 * ldc + 0, m0, c30);
}

__attribute__((target("avx512f"))) static void micro1x1(int kc, const float *a, ptrdiff_t ars,
    ptrdiff_t acs, const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc, bool acc,
    const __mmask16 *mk)
{
    __mmask16 m0 = mk[0];
    __m512 c00;
    if (acc) {
        c00 = _mm512_maskz_loadu_ps(m0, c + 0 * ldc + 0);
    } else {
        c00 = _mm512_setzero_ps();
    }
    for (int k = 0; k < kc; k++) {
        const float *bk = b + k * ldb;
        __m512 b0 = _mm512_maskz_loadu_ps(m0, bk + 0);
        const float *ak = a + k * acs;
        __m512 av;
        av = _mm512_set1_ps(ak[0 * ars]);
        c00 = _mm512_fmadd_ps(av, b0, c00);
    }
    _mm512_mask_storeu_ps(c + 0 * ldc + 0, m0, c00);
}

static __mmask16 mask_for(int64_t rem)
{
    if (rem >= 16)
        return (__mmask16)0xFFFF;
    if (rem <= 0)
        return 0;
    return (__mmask16)((1u << rem) - 1u);
}

void kb_gemm_direct(int64_t m, int64_t n, int64_t k, const float *a, ptrdiff_t ars,
                    ptrdiff_t acs, const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc,
                    bool accumulate)
{
    static const micro_fn big[4] = { NULL, micro1x12, micro2x12, micro3x8 };
    static const micro_fn four[4] = { NULL, micro1x4, micro2x4, micro3x4 };
    static const micro_fn one[4] = { NULL, micro1x1, micro2x1, micro3x1 };
    static const int64_t big_rows[4] = { 0, 12, 12, 8 };
    for (int64_t j0 = 0; j0 < n;) {
        int64_t rem = n - j0;
        int nv = rem >= 48 ? 3 : (int)((rem + 15) / 16);   /* 1..3 vectors wide */
        __mmask16 mk[3] = { mask_for(rem), mask_for(rem - 16), mask_for(rem - 32) };
        for (int64_t k0 = 0; k0 < k; k0 += KC) {
            int kc = (int)(k - k0 < KC ? k - k0 : KC);
            bool acc = accumulate || k0 > 0;
            const float *bp = b + k0 * ldb + j0;
            int64_t i = 0, br = big_rows[nv];
            for (; i + br <= m; i += br)
                big[nv](kc, a + i * ars + k0 * acs, ars, acs, bp, ldb, c + i * ldc + j0, ldc,
                        acc, mk);
            for (; i + 4 <= m; i += 4)
                four[nv](kc, a + i * ars + k0 * acs, ars, acs, bp, ldb, c + i * ldc + j0, ldc,
                         acc, mk);
            for (; i < m; i++)
                one[nv](kc, a + i * ars + k0 * acs, ars, acs, bp, ldb, c + i * ldc + j0, ldc,
                        acc, mk);
        }
        j0 += 16 * nv;
    }
}
#else
void kb_gemm_direct(int64_t m, int64_t n, int64_t k, const float *a, ptrdiff_t ars,
                    ptrdiff_t acs, const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc,
                    bool accumulate)
{
    (void)m; (void)n; (void)k; (void)a; (void)ars; (void)acs; (void)b; (void)ldb; (void)c;
    (void)ldc; (void)accumulate;
    abort();   /* never called: kb_gemm_direct_available() is false */
}
#endif

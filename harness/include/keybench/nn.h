/* keybench/nn.h — the layers of the training engine, llm.c style.
 *
 * Dimension letters (every buffer below has a shape comment using them):
 *   N batch, C input channels, K output channels, H W input height/width,
 *   P Q output height/width, R S kernel height/width, G groups,
 *   D input features, M output features (classes for the loss).
 * All tensors are float32, NCHW, contiguous. Index arithmetic uses size_t.
 *
 * Verbs: every layer has kb_<layer>_forward and kb_<layer>_backward.
 * Arguments: outputs first, then inputs and weights, then the shape.
 * Backward ACCUMULATES (+=) into gradient buffers; zeroing is the caller's
 * explicit step. A NULL gradient pointer skips that gradient (e.g. dinp of the
 * first layer, or frozen parameters).
 *
 *     struct kb_conv2d_shape s = { .n = 128, .c = 16, .h = 32, .w = 32, .k = 32,
 *                                  .r = 3, .s = 3, .stride = 2, .pad = 1, .groups = 1 };
 *     kb_conv2d_shape_finish(&s);                  // fills p, q
 *     float *ws = malloc(kb_conv2d_workspace(&s) * sizeof(float));
 *     kb_conv2d_forward(out, ws, inp, weight, NULL, &s);
 *
 * Every optimised kernel keeps a plain reference implementation (suffix _ref)
 * that the tests compare against.
 */
#ifndef KEYBENCH_NN_H
#define KEYBENCH_NN_H

#include <keybench/common.h>
#include <keybench/rng.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- threads */
/* Threads the layers use (default 1). Convolutions split the batch's images
 * statically across n threads, each calling OpenBLAS single-threaded (this
 * also sets openblas_set_num_threads(1)); batch norm splits channels. Results
 * are bit-identical for a given n. Call it BEFORE sizing conv workspaces:
 * kb_conv2d_workspace grows with n. The layers share one thread pool: call
 * them from one thread at a time. */
KB_API void kb_nn_set_threads(int n);
KB_API int kb_nn_threads(void);

/* ---------------------------------------------------------------- conv2d */
struct kb_conv2d_shape {
    int64_t n, c, h, w;     /* input N,C,H,W */
    int64_t k, r, s;        /* K output channels, R×S kernel */
    int64_t stride, pad;    /* same in both directions; dilation 1 */
    int64_t groups;         /* G: C and K divisible by G; G == C == K is depthwise */
    int64_t p, q;           /* output P×Q, filled by kb_conv2d_shape_finish */
};
/* Fills p, q; returns -1 (with err) for an impossible shape. */
KB_API int kb_conv2d_shape_finish(struct kb_conv2d_shape *s, struct kb_error *err);
/* Floats of scratch space forward/backward need (im2col buffers etc.) at the
 * current kb_nn_threads(); re-query after kb_nn_set_threads. */
KB_API size_t kb_conv2d_workspace(const struct kb_conv2d_shape *s);
/* out (N,K,P,Q); inp (N,C,H,W); weight (K,C/G,R,S); bias (K) or NULL. */
KB_API void kb_conv2d_forward(float *out, float *ws, const float *inp, const float *weight,
                              const float *bias, const struct kb_conv2d_shape *s);
/* dinp (N,C,H,W) or NULL; dweight (K,C/G,R,S) or NULL; dbias (K) or NULL. */
KB_API void kb_conv2d_backward(float *dinp, float *dweight, float *dbias, float *ws,
                               const float *dout, const float *inp, const float *weight,
                               const struct kb_conv2d_shape *s);
/* Direct loops, no BLAS: the reference the tests compare against. */
KB_API void kb_conv2d_forward_ref(float *out, const float *inp, const float *weight,
                                  const float *bias, const struct kb_conv2d_shape *s);
KB_API void kb_conv2d_backward_ref(float *dinp, float *dweight, float *dbias, const float *dout,
                                   const float *inp, const float *weight,
                                   const struct kb_conv2d_shape *s);

/* ---------------------------------------------------------------- batch norm (2d: per channel over N,H,W) */
/* Training: normalise with batch statistics, save mean and 1/sqrt(var+eps)
 * (biased var) for backward, update running stats as PyTorch does:
 * running = (1-momentum)*running + momentum*batch, with the UNBIASED batch
 * variance (divide by N·H·W−1) for running_var. Eval (training=false): use the
 * running stats; save_* are not written. Shapes: out, inp (N,C,H,W); gamma,
 * beta, running_*, save_* (C). L = H·W (1 for batch norm on (N,C) features). */
KB_API void kb_batchnorm_forward(float *out, float *save_mean, float *save_invstd,
                                 float *running_mean, float *running_var, const float *inp,
                                 const float *gamma, const float *beta, int64_t n, int64_t c,
                                 int64_t l, float momentum, float eps, bool training);
/* Backward of the TRAINING forward (batch statistics). */
KB_API void kb_batchnorm_backward(float *dinp, float *dgamma, float *dbeta, const float *dout,
                                  const float *inp, const float *gamma, const float *save_mean,
                                  const float *save_invstd, int64_t n, int64_t c, int64_t l);
/* Backward of the EVAL forward (running stats are constants). */
KB_API void kb_batchnorm_backward_eval(float *dinp, float *dgamma, float *dbeta,
                                       const float *dout, const float *inp, const float *gamma,
                                       const float *running_mean, const float *running_var,
                                       int64_t n, int64_t c, int64_t l, float eps);

/* ---------------------------------------------------------------- activations (elementwise, count = total elements) */
KB_API void kb_relu_forward(float *out, const float *inp, size_t count);
/* Uses the forward OUTPUT (out > 0) so it can run in place. */
KB_API void kb_relu_backward(float *dinp, const float *dout, const float *out, size_t count);
/* GELU, erf form: x·Φ(x). */
KB_API void kb_gelu_forward(float *out, const float *inp, size_t count);
KB_API void kb_gelu_backward(float *dinp, const float *dout, const float *inp, size_t count);

/* ---------------------------------------------------------------- pooling */
struct kb_pool_shape {
    int64_t n, c, h, w;
    int64_t kernel, stride, pad;
    int64_t p, q;           /* filled by kb_pool_shape_finish (floor mode, as PyTorch) */
};
KB_API int kb_pool_shape_finish(struct kb_pool_shape *s, struct kb_error *err);
/* out (N,C,P,Q); argmax (N,C,P,Q) flat input index within the (n,c) plane.
 * Padding never wins (−inf), as PyTorch. */
KB_API void kb_maxpool2d_forward(float *out, int32_t *argmax, const float *inp,
                                 const struct kb_pool_shape *s);
KB_API void kb_maxpool2d_backward(float *dinp, const float *dout, const int32_t *argmax,
                                  const struct kb_pool_shape *s);
/* Average pool, count_include_pad = true (PyTorch's default). */
KB_API void kb_avgpool2d_forward(float *out, const float *inp, const struct kb_pool_shape *s);
KB_API void kb_avgpool2d_backward(float *dinp, const float *dout, const struct kb_pool_shape *s);
/* Global average pool: out (N,C), inp (N,C,H,W); L = H·W. */
KB_API void kb_gap_forward(float *out, const float *inp, int64_t n, int64_t c, int64_t l);
KB_API void kb_gap_backward(float *dinp, const float *dout, int64_t n, int64_t c, int64_t l);

/* ---------------------------------------------------------------- linear */
/* out (N,M) = inp (N,D) · weight(M,D)ᵀ + bias (M) (bias may be NULL). */
KB_API void kb_linear_forward(float *out, const float *inp, const float *weight,
                              const float *bias, int64_t n, int64_t d, int64_t m);
KB_API void kb_linear_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                               const float *inp, const float *weight, int64_t n, int64_t d,
                               int64_t m);

/* ---------------------------------------------------------------- residual add */
/* out = a + b (out may alias a or b). */
KB_API void kb_add_forward(float *out, const float *a, const float *b, size_t count);
/* da += dout; db += dout (either may be NULL). */
KB_API void kb_add_backward(float *da, float *db, const float *dout, size_t count);

/* ---------------------------------------------------------------- option-A shortcut (He et al. 2016) */
/* out (N,K,P,Q) with P = ceil(H/stride), Q = ceil(W/stride): inp[:, :, ::stride, ::stride]
 * placed at channels [pad0, pad0+C), pad0 = (K−C)/2, zeros elsewhere (as the reference's F.pad). */
KB_API void kb_shortcut_a_forward(float *out, const float *inp, int64_t n, int64_t c, int64_t h,
                                  int64_t w, int64_t k, int64_t stride);
KB_API void kb_shortcut_a_backward(float *dinp, const float *dout, int64_t n, int64_t c,
                                   int64_t h, int64_t w, int64_t k, int64_t stride);

/* ---------------------------------------------------------------- dropout (inverted) */
/* mask (count) stores 0 or 1/(1−p); training only. */
KB_API void kb_dropout_forward(float *out, float *mask, const float *inp, size_t count, float p,
                               struct kb_rng *rng);
KB_API void kb_dropout_backward(float *dinp, const float *dout, const float *mask, size_t count);

/* ---------------------------------------------------------------- softmax cross-entropy */
/* probs (N,M) softmax of logits (N,M); returns the MEAN loss over N with
 * label smoothing s (PyTorch's: target distribution (1−s)·onehot + s/M).
 * targets (N) in [0, M). */
KB_API double kb_softmax_xent_forward(float *probs, const float *logits, const int32_t *targets,
                                      int64_t n, int64_t m, float smoothing);
/* dlogits (N,M) += (probs − target distribution) / N. */
KB_API void kb_softmax_xent_backward(float *dlogits, const float *probs, const int32_t *targets,
                                     int64_t n, int64_t m, float smoothing);

#ifdef __cplusplus
}
#endif
#endif

/* keybench/model.h — a network as a static graph of nn.h layers with named
 * parameters, built by a backbone plugin, run by the harness.
 *
 *     struct kb_model *m;
 *     kb_model_new(&m, 1, 28, 28, &err);                       // node 0 = input (N,1,28,28)
 *     int x = kb_model_conv2d(m, 0, "conv1", 16, 3, 1, 1, 1, false);
 *     x = kb_model_batchnorm(m, x, "bn1");
 *     x = kb_model_relu(m, x);
 *     x = kb_model_gap(m, x);
 *     x = kb_model_linear(m, x, "fc", 10, true);
 *     kb_model_finish(m, x, &err);                             // params: one contiguous buffer
 *     kb_model_init(m, seed);                                  // PyTorch-default init
 *     kb_model_forward(m, images, n, true);                    // train mode: batch stats
 *     double loss = kb_model_loss(m, labels, 0.0f);            // softmax CE on the output
 *     kb_model_zero_grad(m);
 *     kb_model_backward(m, NULL);                              // from the loss; dinput optional
 *
 * Names: every parameter and buffer carries the PyTorch state_dict name
 * (`<layer name>.weight`, `.bias`, `.running_mean`, `.running_var`,
 * `.num_batches_tracked`), so weights load from and save to safetensors files
 * interchangeably with PyTorch (kb_model_save / kb_model_load).
 * Node ids are ints >= 0; a builder call returns -1 after an error (sticky:
 * kb_model_finish reports the first error with the layer name).
 */
#ifndef KEYBENCH_MODEL_H
#define KEYBENCH_MODEL_H

#include <stdio.h>

#include <keybench/common.h>
#include <keybench/params.h>

#ifdef __cplusplus
extern "C" {
#endif

struct kb_model;

/* One named parameter or buffer. data/grad point into the model's contiguous
 * parameter and gradient buffers (grad is NULL for buffers). */
struct kb_tensor {
    const char *name;
    int ndim;
    int64_t shape[4];
    size_t numel;
    float *data;
    float *grad;
    bool is_buffer;    /* running stats, num_batches_tracked: not trained */
    bool frozen;       /* excluded from the optimizer (kb_model_freeze) */
};

KB_API int kb_model_new(struct kb_model **out, int64_t in_c, int64_t in_h, int64_t in_w,
                        struct kb_error *err) KB_WUR;
KB_API void kb_model_free(struct kb_model *m);

/* Build a backbone plugin's network for a (C,H,W) input and `classes`
 * outputs: kb_model_new, ops->build, kb_model_finish. `backbone` must be a
 * KB_KIND_BACKBONE descriptor; `params` its resolved parameters (NULL: all
 * defaults). Errors name the backbone. Weights are PyTorch-default init with
 * seed 0 (call kb_model_init for another seed). */
struct kb_plugin;
KB_API int kb_model_build(struct kb_model **out, const struct kb_plugin *backbone,
                          const struct kb_params *params, int64_t in_c, int64_t in_h,
                          int64_t in_w, int64_t classes, struct kb_error *err) KB_WUR;

/* Builders: return the new node id, or -1 (error kept for kb_model_finish). */
KB_API int kb_model_conv2d(struct kb_model *m, int x, const char *name, int64_t out_c,
                           int64_t kernel, int64_t stride, int64_t pad, int64_t groups, bool bias);
KB_API int kb_model_batchnorm(struct kb_model *m, int x, const char *name);   /* eps 1e-5, momentum 0.1 */
KB_API int kb_model_relu(struct kb_model *m, int x);
KB_API int kb_model_gelu(struct kb_model *m, int x);
KB_API int kb_model_maxpool(struct kb_model *m, int x, int64_t kernel, int64_t stride, int64_t pad);
KB_API int kb_model_avgpool(struct kb_model *m, int x, int64_t kernel, int64_t stride, int64_t pad);
KB_API int kb_model_gap(struct kb_model *m, int x);        /* (N,C,H,W) -> (N,C) */
KB_API int kb_model_flatten(struct kb_model *m, int x);    /* (N,C,H,W) -> (N,C·H·W) */
KB_API int kb_model_linear(struct kb_model *m, int x, const char *name, int64_t out_features,
                           bool bias);
KB_API int kb_model_add(struct kb_model *m, int a, int b);
KB_API int kb_model_shortcut_a(struct kb_model *m, int x, int64_t out_c, int64_t stride);
KB_API int kb_model_dropout(struct kb_model *m, int x, float p);

/* Mark `output` as the logits node and lay out parameters, gradients and
 * buffers. After this, the model can run batches of any size. */
KB_API int kb_model_finish(struct kb_model *m, int output, struct kb_error *err) KB_WUR;

/* PyTorch's default initialisation (kaiming_uniform(a=√5) weights, uniform
 * ±1/√fan_in biases, BN weight 1 bias 0, running mean 0 var 1), drawn from
 * kb_rng_init_seed(seed, "init") in parameter order. */
KB_API void kb_model_init(struct kb_model *m, uint64_t seed);

KB_API size_t kb_model_tensor_count(const struct kb_model *m);
KB_API struct kb_tensor *kb_model_tensor(struct kb_model *m, size_t i);
KB_API struct kb_tensor *kb_model_find(struct kb_model *m, const char *name);
/* Total trainable parameters. */
KB_API size_t kb_model_param_count(const struct kb_model *m);
/* Input and output shapes. */
KB_API void kb_model_input_shape(const struct kb_model *m, int64_t *c, int64_t *h, int64_t *w);
KB_API int64_t kb_model_classes(const struct kb_model *m);

/* The flat parameter and gradient buffers the optimizer works on: every
 * trainable tensor's data (and grad) lies inside [ptr, ptr + *count), at the
 * same offset in both; buffers (running stats) lie after the trainable part
 * of kb_model_params and are not counted. Valid after kb_model_finish. */
KB_API float *kb_model_params(struct kb_model *m, size_t *count);
KB_API float *kb_model_grads(struct kb_model *m, size_t *count);
/* Name of the weight tensor of the layer producing the logits ("fc.weight"),
 * and of the first conv/linear layer reading the input ("conv1.weight"); NULL
 * if none. keybench forward reads the class count and input channels from
 * these tensors of a weights file; transfer learning skips "<head layer>.*". */
KB_API const char *kb_model_head_name(const struct kb_model *m);
KB_API const char *kb_model_stem_name(const struct kb_model *m);

/* Freeze (or unfreeze) every tensor whose name matches the fnmatch pattern. */
KB_API size_t kb_model_freeze(struct kb_model *m, const char *pattern, bool frozen);

/* Forward n images (N,C,H,W) in train mode (batch statistics, running-stat
 * updates, dropout) or eval mode. Returns the logits (N, classes), owned by
 * the model, valid until the next forward. */
KB_API const float *kb_model_forward(struct kb_model *m, const float *x, int64_t n,
                                     bool training);
/* Mean softmax cross-entropy of the last forward's logits; keeps what
 * backward needs. */
KB_API double kb_model_loss(struct kb_model *m, const int32_t *targets, float smoothing);
KB_API void kb_model_zero_grad(struct kb_model *m);
/* Backward from the loss (dlogits NULL) or from given dlogits (N, classes);
 * accumulates parameter gradients; writes dinput (N,C,H,W) if non-NULL. */
KB_API void kb_model_backward(struct kb_model *m, const float *dlogits, float *dinput);

/* One line per layer: "conv1  conv 3x3/1 pad 1  1x28x28 -> 16x28x28  144 params". */
KB_API void kb_model_print(const struct kb_model *m, FILE *f);

/* safetensors. Load: strict (missing, unexpected and mis-shaped tensors are
 * listed in one error) except for tensors matching `skip` (an fnmatch pattern
 * or NULL), which keep their current (fresh) values. F16/BF16/int converted. */
KB_API int kb_model_load(struct kb_model *m, const char *path, const char *skip,
                         struct kb_error *err) KB_WUR;
KB_API int kb_model_save(const struct kb_model *m, const char *path, struct kb_error *err) KB_WUR;

#ifdef __cplusplus
}
#endif
#endif

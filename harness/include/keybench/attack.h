/* keybench/attack.h — what the harness gives an attack plugin.
 *
 * An attack runs once per cell, after the cell's protected model is trained
 * and evaluated. It gets an opaque `struct kb_attack`, and through it:
 *
 *  - its own copies of the models: the stolen protected model, the public
 *    pretrained weights, or a freshly initialised one (kb_attack_model);
 *  - the cell's transform with an OPAQUE handle to the true key: it can make
 *    keys and apply the transform with them, evaluate the protected model with
 *    the true key (white box: KB_ATTACK_TRUE_KEY), but never read it; for
 *    reporting only it may ask how far a candidate agrees with it;
 *  - the attacker's data: a labelled plain subset of the training set,
 *    disjoint from the test split (splits.attacker in the spec);
 *  - the harness's own batching, training and evaluation (so every attack
 *    measures the way the runner does), a seeded RNG and a progress callback;
 *  - kb_attack_metric to write its results into the journal.
 *
 *     static int my_run(struct kb_attack *a, const struct kb_params *p, struct kb_error *err)
 *     {
 *         struct kb_model *m;
 *         if (kb_attack_model(a, KB_ATTACK_MODEL_PROTECTED, &m, err) < 0)
 *             return -1;
 *         void *key = kb_attack_key_new(a);              // a random candidate key
 *         double acc;
 *         int rc = kb_attack_evaluate(a, m, KB_ATTACK_SPLIT_TEST, key, 0, &acc, err);
 *         if (rc == 0)
 *             rc = kb_attack_metric(a, "accuracy", acc, kb_attack_split_size(a,
 *                                   KB_ATTACK_SPLIT_TEST), NULL, err);
 *         kb_attack_key_free(a, key);
 *         kb_model_free(m);
 *         return rc;
 *     }
 *
 * Keys are byte buffers of kb_attack_key_size(a) bytes in secret memory;
 * the transform's ops (kb_attack_transform) work on them directly.
 *
 * What "opaque" means: no call returns the true key's bytes. An attack is
 * native code in the harness's process, so this is a contract, not a
 * sandbox: kb_attack_key_agreement is for REPORTING (steering a search with
 * it is cheating), and the true key's ciphertexts (KB_ATTACK_TRUE_KEY in the
 * batch calls) are for ciphertext-only and white-box attacks. The
 * differentiable transform with KB_ATTACK_TRUE_KEY (kb_attack_transform01 on
 * images the attack chooses, and its vjp, whose output for a one-hot dy names
 * the source of that value) shows the true key's layout, which for the
 * permutation and negation transforms IS the key: white-box attacks only, and
 * scoring (pgd encrypts its adversarial images with it and reads nothing
 * back but the model's answers). Shipped attacks keep to that; review new
 * ones for it.
 */
#ifndef KEYBENCH_ATTACK_H
#define KEYBENCH_ATTACK_H

#include <keybench/common.h>
#include <keybench/model.h>
#include <keybench/plugin.h>
#include <keybench/rng.h>
#include <keybench/train.h>

#ifdef __cplusplus
extern "C" {
#endif

struct kb_attack;

enum kb_attack_model {
    KB_ATTACK_MODEL_PROTECTED = 1,  /* the stolen protected model */
    KB_ATTACK_MODEL_PRETRAINED = 2, /* the public pretrained weights */
    KB_ATTACK_MODEL_SCRATCH = 3     /* freshly initialised (seeded) */
};

enum kb_attack_split {
    KB_ATTACK_SPLIT_ATTACKER = 1,   /* the attacker's labelled plain images */
    KB_ATTACK_SPLIT_TEST = 2        /* the test split every result is measured on */
};

/* The key handle that stands for the cell's true key (white-box attacks):
 * accepted wherever a key is, never readable. NULL means plain images. */
KB_API extern const char kb_attack_true_key_token;
#define KB_ATTACK_TRUE_KEY ((const void *)&kb_attack_true_key_token)

/* ---- models --------------------------------------------------------------- */
/* A new model the attack owns (kb_model_free it). */
KB_API int kb_attack_model(struct kb_attack *a, enum kb_attack_model which,
                           struct kb_model **out, struct kb_error *err) KB_WUR;

/* ---- the transform and keys ---------------------------------------------- */
KB_API const struct kb_plugin *kb_attack_transform_plugin(const struct kb_attack *a);
KB_API const struct kb_transform_ops *kb_attack_transform(const struct kb_attack *a,
                                                          const void **state);
KB_API size_t kb_attack_key_size(const struct kb_attack *a);
/* A fresh random key (uniform over the transform's keys, from the attack's
 * RNG); NULL only on OOM. Free with kb_attack_key_free (wiped). */
KB_API void *kb_attack_key_new(struct kb_attack *a);
/* The same, drawn from `rng` (an attack's own stream, e.g. kb_rng_init_seed
 * from a value of kb_attack_rng): keys that stay the same whatever else the
 * attack draws. */
KB_API void *kb_attack_key_new_from(struct kb_attack *a, struct kb_rng *rng);
KB_API void kb_attack_key_copy(const struct kb_attack *a, void *dst, const void *src);
KB_API void kb_attack_key_free(struct kb_attack *a, void *key);
/* Reporting only: the fraction of key components on which `key` agrees
 * with the true key. */
KB_API double kb_attack_key_agreement(const struct kb_attack *a, const void *key);

/* ---- data ------------------------------------------------------------------ */
KB_API size_t kb_attack_split_size(const struct kb_attack *a, enum kb_attack_split split);
/* Image shape and class count of the cell's dataset. */
KB_API void kb_attack_shape(const struct kb_attack *a, uint32_t *h, uint32_t *w, uint32_t *c,
                            uint32_t *n_classes);
/* Images [start, start+count) of a split (the attacker split is in a
 * stratified shuffled order, so any prefix is class-balanced), transformed
 * with `key` (NULL: plain; KB_ATTACK_TRUE_KEY; or an attack's key):
 *  - kb_attack_batch: normalised NCHW, what the model takes;
 *  - kb_attack_batch01: the transform's [0,1] output, NCHW, not normalised
 *    (for perturbations measured in image space, e.g. PGD's ε);
 *  - kb_attack_images: uint8 H×W×C (the transform's output rounded back to
 *    8 bits; exact for transforms whose values are k/255).
 * x holds count·C·H·W floats (or bytes); y (may be NULL) count labels. */
KB_API int kb_attack_batch(struct kb_attack *a, float *x, int32_t *y, enum kb_attack_split split,
                           const void *key, size_t start, size_t count, struct kb_error *err) KB_WUR;
KB_API int kb_attack_batch01(struct kb_attack *a, float *x, int32_t *y,
                             enum kb_attack_split split, const void *key, size_t start,
                             size_t count, struct kb_error *err) KB_WUR;
KB_API int kb_attack_images(struct kb_attack *a, uint8_t *x, int32_t *y,
                            enum kb_attack_split split, const void *key, size_t start,
                            size_t count, struct kb_error *err) KB_WUR;
/* Normalise n NCHW [0,1] images in place, as kb_attack_batch does. */
KB_API void kb_attack_normalize(const struct kb_attack *a, float *x, size_t n);
/* The gradient of a loss with respect to [0,1] inputs from its gradient with
 * respect to normalised inputs (divide by std), in place. */
KB_API void kb_attack_unnormalize_grad(const struct kb_attack *a, float *dx, size_t n);

/* ---- differentiating through the transform ------------------------------ */
/* For gradient attacks that perturb PLAIN images and need the gradient of a
 * loss on the transformed image (surrogate keys, EOT, a white box through the
 * true key). Built on the transform's key_layout op (plugin.h): each output
 * value is an input value copied or negated (linear in [0,1] space: x·g or
 * (1 − x)·g, g = 255/denominator) or sent through a key-dependent table.
 * The key is an attack's key or KB_ATTACK_TRUE_KEY (NULL: the identity); the
 * layout itself is never returned, but the two calls below reveal it for the
 * true key (see "What opaque means" above: white box and scoring only). A
 * layout that breaks key_layout's contract (a source outside the image, a
 * sign other than -1/0/+1, a denominator that is not a positive number)
 * fails the call with one error naming the transform.
 *
 * Whether the cell's transform offers key_layout; without it the two calls
 * below fail (refuse such cells at plan time: kb_attack_ops.check). */
KB_API bool kb_attack_differentiable(const struct kb_attack *a);
/* y := T_key(x) for n NCHW images with values in [0,1], off the 8-bit grid
 * too: copied and negated positions by the linear map above; table positions
 * take the transform's own output for round(x·255) (piecewise constant). On
 * 8-bit images it is kb_attack_batch01's output up to float rounding (exact
 * where values are copied with denominator 255). */
KB_API int kb_attack_transform01(struct kb_attack *a, const void *key, float *y, const float *x,
                                 size_t n, struct kb_error *err) KB_WUR;
/* dx := J^T dy for n NCHW images: the vector–Jacobian product of
 * kb_attack_transform01 (the map is affine: it does not depend on x). Table
 * positions use BPDA (Athalye et al. 2018): the table is replaced by the
 * identity value map in the backward pass, so their gradient flows back as if
 * the value were copied — an estimate, the true derivative is 0 almost
 * everywhere. */
KB_API int kb_attack_transform01_vjp(struct kb_attack *a, const void *key, float *dx,
                                     const float *dy, size_t n, struct kb_error *err) KB_WUR;

/* ---- training and evaluation, the runner's way ---------------------------- */
/* Accuracy of `m` (eval mode) on the first `limit` images of a split (0: all)
 * transformed with `key`. */
KB_API int kb_attack_evaluate(struct kb_attack *a, struct kb_model *m, enum kb_attack_split split,
                              const void *key, size_t limit, double *accuracy,
                              struct kb_error *err) KB_WUR;
/* Train `m` on the first `n_images` attacker images transformed with `key`
 * (NULL: plain) with `cfg` (NULL: the cell's fine-tune schedule). */
KB_API int kb_attack_train(struct kb_attack *a, struct kb_model *m, const void *key,
                           size_t n_images, const struct kb_train_config *cfg,
                           struct kb_error *err) KB_WUR;
/* The cell's fine-tune schedule (what "the same budget" means). */
KB_API struct kb_train_config kb_attack_finetune_config(const struct kb_attack *a);

/* ---- randomness, progress, results ---------------------------------------- */
/* Seeded from the cell's seed and the attack's name: reruns are identical. */
KB_API struct kb_rng *kb_attack_rng(struct kb_attack *a);
KB_API uint64_t kb_attack_seed(const struct kb_attack *a);
/* Report progress: `what` (e.g. "random search"), done of total units. */
KB_API void kb_attack_progress(struct kb_attack *a, const char *what, double done, double total);
/* One result in the journal: condition = the attack's name, `metric`, `value`,
 * `n` (images behind it; accuracies get a Wilson interval when value·n is a
 * count), and optional extra fields as a JSON object text (curves, params),
 * e.g. "{\"evaluations\": 20000, \"curve\": [[1, 0.1], [10, 0.3]]}". */
KB_API int kb_attack_metric(struct kb_attack *a, const char *metric, double value, uint64_t n,
                            const char *extra_json, struct kb_error *err) KB_WUR;

#ifdef __cplusplus
}
#endif
#endif

/* jigsaw — ciphertext-only attack on transforms that move whole blocks
 * (Chuman, Kurihara, Kiya, ICASSP 2017 / IEICE E101-D(1) 2018).
 *
 * The attacker sees only test images encrypted with the true key. It cuts
 * each into blocks and reassembles them with a greedy jigsaw solver
 * (jigsaw_solver.h) from edge compatibility alone, inside the block grid. The
 * block size follows from the key length (one key component per block); the
 * per-block steps the transform applies (rotation, flip, negation) are found
 * by encrypting a random image of the attacker's own with a random key of its
 * own (the algorithm is public, Kerckhoffs), and the solver then searches
 * over those block variants. Two solvers: each image alone (the paper's
 * setting) and jointly — every image shares the key, so the dissimilarities
 * summed over all images give one arrangement applied to all.
 *
 * Ground truth comes from the plain test images of the same indices, never
 * from the key: a block is placed correctly when it equals the plain block at
 * that position. The unprotected (pretrained) model is then run on the
 * reassembled images, on the ciphertexts and on the plain images. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <keybench/attack.h>
#include <keybench/plugin.h>

#include "jigsaw_solver.h"
#include "ka_util.h"

static const struct kb_param jigsaw_params[] = {
    { "images", KB_PARAM_INT, "100", 1, 1000000, NULL, "test images to reassemble" },
    { "seeds", KB_PARAM_INT, "4", 1, 64, NULL, "seed pieces the greedy solver grows from (keeps the best)" },
    { "joint", KB_PARAM_BOOL, "true", 0, 0, NULL, "also solve all images at once (they share the key)" },
    { NULL, 0, NULL, 0, 0, NULL, NULL }
};

/* Which block variants the transform uses: encrypt a random image with a
 * random key and find every ciphertext block among the plain blocks' variants. */
static int probe_variants(struct kb_attack *a, uint32_t *variants, uint32_t h, uint32_t w,
                          uint32_t c, uint32_t m, struct kb_error *err)
{
    const void *state;
    const struct kb_transform_ops *ops = kb_attack_transform(a, &state);
    size_t px = (size_t)h * w * c, n = (size_t)(h / m) * (w / m), bsz = (size_t)m * m * c;
    uint8_t *img = malloc(px), *enc = malloc(px), *pc = malloc(n * 16 * bsz), *ec = malloc(n * bsz);
    float *f = malloc(px * sizeof *f);
    void *key = kb_attack_key_new(a);
    int rc = 0;
    if (!img || !enc || !pc || !ec || !f || !key) {
        rc = kb_error_set(err, "jigsaw: out of memory probing the transform");
        goto out;
    }
    kb_rng_bytes(kb_attack_rng(a), img, px);
    ops->encrypt(state, key, f, img, 1);
    for (size_t i = 0; i < px; i++) {
        float v = roundf(f[i] * 255.0f);
        enc[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
    }
    kb_jigsaw_split(pc, img, h, w, c, m, 16);
    kb_jigsaw_split(ec, enc, h, w, c, m, 1);
    bool geo = false, neg = false;
    for (size_t j = 0; j < n; j++) {
        bool found = false;
        for (uint32_t v = 0; v < 16 && !found; v++)
            for (size_t i = 0; i < n && !found; i++)
                if (!memcmp(ec + j * bsz, pc + (i * 16 + v) * bsz, bsz)) {
                    found = true;
                    geo |= (v & 7) != 0;
                    neg |= (v & 8) != 0;
                }
        if (!found) {
            rc = kb_error_set(err, "jigsaw: block %zu of a probe ciphertext is no rotation, flip or "
                              "negation of any plain block (channel shuffle or a non-block "
                              "transform?); the solver handles only those", j);
            goto out;
        }
    }
    *variants = geo ? (neg ? 16 : 8) : (neg ? 2 : 1);
out:
    kb_attack_key_free(a, key);
    free(img), free(enc), free(pc), free(ec), free(f);
    return rc;
}

/* The logits of m (eval mode) on b uint8 H×W×C images: converted into x
 * ([0,1] NCHW, room for b images) and normalised first. */
static const float *forward_u8(struct kb_attack *a, struct kb_model *m, float *x,
                               const uint8_t *img, size_t b, uint32_t h, uint32_t w, uint32_t c)
{
    const size_t px = (size_t)h * w * c;
    for (size_t i = 0; i < b; i++)
        for (uint32_t ch = 0; ch < c; ch++)
            for (size_t p = 0; p < (size_t)h * w; p++)
                x[(i * c + ch) * h * w + p] = img[i * px + p * c + ch] / 255.0f;
    kb_attack_normalize(a, x, b);
    return kb_model_forward(m, x, (int64_t)b, false);
}

#define EVAL_BATCH 64

/* Accuracy of m on n uint8 H×W×C images: [0,1] NCHW, normalised, eval mode. */
static int accuracy_u8(struct kb_attack *a, struct kb_model *m, double *acc, const uint8_t *img,
                       const int32_t *y, size_t n, uint32_t h, uint32_t w, uint32_t c,
                       uint32_t classes, struct kb_error *err)
{
    const size_t px = (size_t)h * w * c;
    float *x = malloc(EVAL_BATCH * px * sizeof *x);
    if (!x)
        return kb_error_set(err, "jigsaw: out of memory for an evaluation batch");
    size_t correct = 0;
    for (size_t s = 0; s < n; s += EVAL_BATCH) {
        size_t b = n - s < EVAL_BATCH ? n - s : EVAL_BATCH;
        correct += ka_count_correct(forward_u8(a, m, x, img + s * px, b, h, w, c), y + s, b,
                                    classes);
    }
    free(x);
    *acc = n ? (double)correct / (double)n : 0;
    return 0;
}

/* Mean max-softmax probability of m on n uint8 images (the attacker's own
 * plausibility score: it has the public pretrained model). */
static int confidence_u8(struct kb_attack *a, struct kb_model *m, double *conf, const uint8_t *img,
                         size_t n, uint32_t h, uint32_t w, uint32_t c, uint32_t classes,
                         struct kb_error *err)
{
    const size_t px = (size_t)h * w * c;
    float *x = malloc(EVAL_BATCH * px * sizeof *x);
    if (!x)
        return kb_error_set(err, "jigsaw: out of memory for an evaluation batch");
    double sum = 0;
    for (size_t s = 0; s < n; s += EVAL_BATCH) {
        size_t b = n - s < EVAL_BATCH ? n - s : EVAL_BATCH;
        const float *lg = forward_u8(a, m, x, img + s * px, b, h, w, c);
        for (size_t i = 0; i < b; i++) {
            float mx = lg[i * classes];
            for (uint32_t k = 1; k < classes; k++)
                mx = lg[i * classes + k] > mx ? lg[i * classes + k] : mx;
            double z = 0;
            for (uint32_t k = 0; k < classes; k++)
                z += exp((double)(lg[i * classes + k] - mx));
            sum += 1.0 / z;
        }
    }
    free(x);
    *conf = n ? sum / (double)n : 0;
    return 0;
}

/* Whole images under the global symmetry `code` (an image is one h×w block;
 * odd rotations only for square images). */
static void apply_symmetry(uint8_t *out, const uint8_t *in, size_t n, uint32_t h, uint32_t c,
                           uint32_t code)
{
    size_t px = (size_t)h * h * c;
    for (size_t i = 0; i < n; i++)
        kb_jigsaw_variant(out + i * px, in + i * px, h, c, code);
}

static int jigsaw_run(struct kb_attack *a, const struct kb_params *params, struct kb_error *err)
{
    uint32_t h, w, c, classes;
    kb_attack_shape(a, &h, &w, &c, &classes);
    const void *state;
    const struct kb_transform_ops *ops = kb_attack_transform(a, &state);
    size_t nblocks = ops->key_length(state);
    uint32_t m = nblocks ? (uint32_t)lround(sqrt((double)h * w / (double)nblocks)) : 0;
    if (!m || h % m || w % m || (size_t)(h / m) * (w / m) != nblocks)
        return kb_error_set(err, "jigsaw: the transform's key has %zu components; expected one per "
                            "square block of the %ux%u image", nblocks, h, w);
    uint32_t rows = h / m, cols = w / m, V = 1;
    if (probe_variants(a, &V, h, w, c, m, err) < 0)
        return -1;
    size_t ncand = nblocks * V;
    if (ncand > KB_JIGSAW_MAX_CANDIDATES)
        return kb_error_set(err, "jigsaw: %zu blocks in %u variants is more than the solver's %u "
                            "candidates (block size %u too small)", nblocks, V,
                            KB_JIGSAW_MAX_CANDIDATES, m);
    size_t avail = kb_attack_split_size(a, KB_ATTACK_SPLIT_TEST);
    size_t N = (size_t)kb_params_int(params, "images");
    if (N > avail)
        N = avail;
    uint32_t seeds = (uint32_t)kb_params_int(params, "seeds");
    bool joint = kb_params_bool(params, "joint");
    size_t px = (size_t)h * w * c, bsz = (size_t)m * m * c;

    uint8_t *enc = malloc(N * px), *plain = malloc(N * px), *recon = malloc(N * px);
    uint8_t *jrec = malloc(N * px), *scratch = malloc(N * px), *cands = malloc(N * ncand * bsz);
    int32_t *y = malloc(N * sizeof *y);
    float *dlr = malloc(ncand * ncand * sizeof *dlr), *dtb = malloc(ncand * ncand * sizeof *dtb);
    float *jlr = calloc(ncand * ncand, sizeof *jlr), *jtb = calloc(ncand * ncand, sizeof *jtb);
    uint32_t *slot = malloc(nblocks * sizeof *slot);
    struct kb_model *model = NULL;
    int rc = 0;
    if (!N || !enc || !plain || !recon || !jrec || !scratch || !cands || !y || !dlr || !dtb || !jlr || !jtb ||
        !slot) {
        rc = N ? kb_error_set(err, "jigsaw: out of memory for %zu images", N)
               : kb_error_set(err, "jigsaw: the test split is empty");
        goto out;
    }
    if (kb_attack_images(a, enc, y, KB_ATTACK_SPLIT_TEST, KB_ATTACK_TRUE_KEY, 0, N, err) < 0 ||
        kb_attack_images(a, plain, NULL, KB_ATTACK_SPLIT_TEST, NULL, 0, N, err) < 0) {
        rc = -1;
        goto out;
    }
    size_t placed = 0, pairs_ok = 0, pairs = 0;
    for (size_t i = 0; i < N; i++) {
        uint8_t *ci = cands + i * ncand * bsz;
        kb_jigsaw_split(ci, enc + i * px, h, w, c, m, V);
        memset(dlr, 0, ncand * ncand * sizeof *dlr);
        memset(dtb, 0, ncand * ncand * sizeof *dtb);
        if (kb_jigsaw_dissim_add(dlr, dtb, ci, ncand, m, c, err) < 0 ||
            kb_jigsaw_solve(slot, dlr, dtb, rows, cols, V, seeds, err) < 0) {
            rc = -1;
            goto out;
        }
        if (joint)
            for (size_t k = 0; k < ncand * ncand; k++)
                jlr[k] += dlr[k], jtb[k] += dtb[k];
        kb_jigsaw_assemble(recon + i * px, ci, slot, h, w, c, m);
        size_t p, po, pt;
        kb_jigsaw_score(&p, &po, &pt, recon + i * px, plain + i * px, h, w, c, m);
        placed += p, pairs_ok += po, pairs += pt;
        kb_attack_progress(a, "jigsaw: reassembling", (double)(i + 1), (double)N);
    }
    size_t jplaced = 0, jpairs_ok = 0, jpairs = 0, oplaced = 0;
    uint32_t sym = 0;
    double acc_rec = 0, acc_joint = 0, acc_enc = 0, acc_plain = 0;
    if (kb_attack_model(a, KB_ATTACK_MODEL_PRETRAINED, &model, err) < 0) {
        rc = -1;
        goto out;
    }
    if (joint) {
        if (kb_jigsaw_solve(slot, jlr, jtb, rows, cols, V, seeds, err) < 0) {
            rc = -1;
            goto out;
        }
        for (size_t i = 0; i < N; i++)
            kb_jigsaw_assemble(jrec + i * px, cands + i * ncand * bsz, slot, h, w, c, m);
        /* The arrangement is found up to the symmetries of the variant set
         * (the solver fixes its seed block's variant): keep the global
         * symmetry under which the pretrained model is most confident. For
         * reference only, also the best placement over them (an oracle). */
        double best_conf = -1;
        uint32_t nsym = h == w ? V : 1;  /* whole-image symmetries: square images only */
        for (uint32_t g = 0; g < nsym; g++) {
            uint32_t code = kb_jigsaw_variant_code(g, V);
            apply_symmetry(scratch, jrec, N, h, c, code);
            double conf = 0;
            if (confidence_u8(a, model, &conf, scratch, N, h, w, c, classes, err) < 0) {
                rc = -1;
                goto out;
            }
            size_t op = 0;
            for (size_t i = 0; i < N; i++) {
                size_t p, po, pt;
                kb_jigsaw_score(&p, &po, &pt, scratch + i * px, plain + i * px, h, w, c, m);
                op += p;
            }
            if (op > oplaced)
                oplaced = op;
            if (conf > best_conf)
                best_conf = conf, sym = code;
        }
        if (sym) {
            apply_symmetry(scratch, jrec, N, h, c, sym);
            memcpy(jrec, scratch, N * px);
        }
        for (size_t i = 0; i < N; i++) {
            size_t p, po, pt;
            kb_jigsaw_score(&p, &po, &pt, jrec + i * px, plain + i * px, h, w, c, m);
            jplaced += p, jpairs_ok += po, jpairs += pt;
        }
    }
    if (accuracy_u8(a, model, &acc_rec, recon, y, N, h, w, c, classes, err) < 0 ||
        (joint && accuracy_u8(a, model, &acc_joint, jrec, y, N, h, w, c, classes, err) < 0) ||
        accuracy_u8(a, model, &acc_enc, enc, y, N, h, w, c, classes, err) < 0 ||
        accuracy_u8(a, model, &acc_plain, plain, y, N, h, w, c, classes, err) < 0) {
        rc = -1;
        goto out;
    }
    char extra[256];
    snprintf(extra, sizeof extra,
             "{\"images\": %zu, \"block_size\": %u, \"variants\": %u, \"seeds\": %u, "
             "\"joint_symmetry\": %u}", N, m, V, seeds, sym);
    size_t nb = N * nblocks;
    if (kb_attack_metric(a, "placement_accuracy", (double)placed / (double)nb, nb, extra, err) < 0 ||
        kb_attack_metric(a, "neighbor_accuracy", pairs ? (double)pairs_ok / (double)pairs : 0,
                         pairs, extra, err) < 0 ||
        kb_attack_metric(a, "pretrained_accuracy_reassembled", acc_rec, N, extra, err) < 0 ||
        kb_attack_metric(a, "pretrained_accuracy_encrypted", acc_enc, N, extra, err) < 0 ||
        kb_attack_metric(a, "pretrained_accuracy_plain", acc_plain, N, extra, err) < 0 ||
        (joint &&
         (kb_attack_metric(a, "joint_placement_accuracy", (double)jplaced / (double)nb, nb, extra,
                           err) < 0 ||
          kb_attack_metric(a, "joint_neighbor_accuracy",
                           jpairs ? (double)jpairs_ok / (double)jpairs : 0, jpairs, extra, err) < 0 ||
          kb_attack_metric(a, "joint_placement_accuracy_best_symmetry",
                           (double)oplaced / (double)nb, nb, extra, err) < 0 ||
          kb_attack_metric(a, "pretrained_accuracy_joint", acc_joint, N, extra, err) < 0)))
        rc = -1;
out:
    kb_model_free(model);
    free(enc), free(plain), free(recon), free(jrec), free(scratch), free(cands), free(y);
    free(dlr), free(dtb), free(jlr), free(jtb), free(slot);
    return rc;
}

static const struct kb_attack_ops jigsaw_ops = {
    .struct_size = sizeof jigsaw_ops,
    .run = jigsaw_run,
};

static const struct kb_plugin jigsaw_plugin = {
    KB_PLUGIN_HEADER,
    .kind = KB_KIND_ATTACK,
    .name = "jigsaw",
    .version = "1.0.0",
    .summary = "ciphertext-only: reassemble block-scrambled test images with a greedy jigsaw solver",
    .params = jigsaw_params,
    .caps = KB_ATTACK_NEEDS_BLOCK_PERM,
    .ops = &jigsaw_ops,
};

KB_PLUGIN_ENTRY(&jigsaw_plugin)

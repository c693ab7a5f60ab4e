/* keybench/dataset.h — labelled image sets in memory, their loaders, and
 * seeded stratified subsets.
 *
 * A dataset is N uint8 images of H×W×C (row-major, channel fastest, the
 * layout every transform takes) with one label in [0, n_classes) each:
 *
 *     struct kb_dataset train = {0}, test = {0};
 *     if (kb_dataset_open(&train, &test, "fashion-mnist", NULL, &err) < 0) ...
 *     // train.n == 60000, 28×28×1, 10 classes
 *
 *     // 10% of the training set, same class proportions, reproducible:
 *     uint8_t *taken = calloc(train.n, 1);
 *     size_t n_ft = kb_subset_count(train.n, 0.10);
 *     uint32_t *idx = malloc(n_ft * sizeof *idx);
 *     if (kb_dataset_subset(idx, &train, n_ft, taken, seed, "finetune", &err) < 0) ...
 *     // `taken` now marks idx, so the next subset (e.g. "attacker") is disjoint
 *     struct kb_dataset ft = {0};
 *     if (kb_dataset_gather(&ft, &train, idx, n_ft, &err) < 0) ...
 *     kb_dataset_free(&ft); kb_dataset_free(&train); kb_dataset_free(&test);
 *
 * Formats, layouts, default paths, the subset algorithm and the error
 * behaviour are described in docs/datasets.md. Every loader checks the
 * header against sane limits and the real file size before it allocates, and
 * fails with ONE error line naming the file and what was expected.
 */
#ifndef KEYBENCH_DATASET_H
#define KEYBENCH_DATASET_H

#include <keybench/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Sane limits on what a loader accepts (checked before any allocation). */
#define KB_DATASET_MAX_SIDE    16384u        /* H and W */
#define KB_DATASET_MAX_CHANNELS 4u           /* C (loaders produce 1 or 3) */
#define KB_DATASET_MAX_IMAGES  2000000000u   /* N */
#define KB_DATASET_MAX_CLASSES 65536u
#define KB_DATASET_MAX_BYTES   (1ull << 36)  /* N×H×W×C: 64 GiB */

struct kb_dataset {
    uint32_t n;             /* number of images */
    uint32_t h, w, c;       /* image shape; c = 1 (gray) or 3 (RGB) */
    uint32_t n_classes;
    uint8_t *images;        /* n×h×w×c, row-major, channel fastest; malloc'd */
    uint32_t *labels;       /* n labels in [0, n_classes); malloc'd */
    char **class_names;     /* n_classes NUL-terminated names; malloc'd */
};

/* Bytes of one image: h×w×c. */
KB_API size_t kb_dataset_image_size(const struct kb_dataset *ds);
/* Pointer to image i (no bounds check beyond an assert). */
KB_API const uint8_t *kb_dataset_image(const struct kb_dataset *ds, size_t i);
/* Free everything and zero the struct (safe on a zeroed struct). */
KB_API void kb_dataset_free(struct kb_dataset *ds);

/* Allocate an all-zero dataset with class names "0".."n_classes-1". */
KB_API int kb_dataset_alloc(struct kb_dataset *ds, uint32_t n, uint32_t h, uint32_t w,
                            uint32_t c, uint32_t n_classes, struct kb_error *err) KB_WUR;
/* Replace the class names with copies of names[0..ds->n_classes). */
KB_API int kb_dataset_set_class_names(struct kb_dataset *ds, const char *const *names,
                                      struct kb_error *err) KB_WUR;
/* counts[k] := number of images with label k, for k < ds->n_classes. */
KB_API void kb_dataset_class_counts(uint64_t *counts, const struct kb_dataset *ds);

/* --- loaders (each fills a zeroed `ds`; on failure `ds` stays empty) ------ */

/* IDX image + label files (gzipped or not: detected by the gzip magic).
 * Images: magic 0x00000803 (unsigned bytes, 3 dims N×H×W), C = 1.
 * Labels: magic 0x00000801 (unsigned bytes, 1 dim N).
 * n_classes = 0: max label + 1 (names "0".."n-1"); otherwise a label >=
 * n_classes is an error. */
KB_API int kb_dataset_load_idx(struct kb_dataset *ds, const char *images_path,
                               const char *labels_path, uint32_t n_classes,
                               struct kb_error *err) KB_WUR;

/* CIFAR binary batches, concatenated in the given order. Records are
 * `label_bytes` label bytes (1: CIFAR-10; 2: CIFAR-100 coarse, fine — the fine
 * label is used) then 3072 bytes of planar R, G, B 32×32, converted to
 * 32×32×3. Names "0".."n_classes-1" (see kb_dataset_read_class_names). */
KB_API int kb_dataset_load_cifar(struct kb_dataset *ds, const char *const *paths,
                                 size_t n_paths, unsigned label_bytes, uint32_t n_classes,
                                 struct kb_error *err) KB_WUR;

/* Class names from a text file: one per line, blank lines ignored, trailing
 * white space trimmed; exactly ds->n_classes names expected. */
KB_API int kb_dataset_read_class_names(struct kb_dataset *ds, const char *path,
                                       struct kb_error *err) KB_WUR;

/* A PNG folder: DIR/<class>/<file>.png. Classes are the sub-folder names in byte
 * order (strcmp); files in a class folder are read in byte order; files not
 * ending in .png and names starting with '.' are ignored. All images must
 * have one size and channel count. */
KB_API int kb_dataset_load_png_dir(struct kb_dataset *ds, const char *dir,
                                   struct kb_error *err) KB_WUR;

/* The names kb_dataset_open knows, NULL-terminated:
 * fashion-mnist, mnist, cifar10, cifar100, idx, png. */
KB_API const char *const *kb_dataset_names(void);

/* Default folder of a named dataset: $KEYBENCH_DATASETS/<sub> (default root
 * /usr/share/datasets): fashion-mnist, mnist, cifar-10-batches-bin,
 * cifar-100-binary. Returns 0 and writes "" for idx/png (a path is
 * required), -1 for an unknown name. */
KB_API int kb_dataset_default_path(char *out, size_t out_size, const char *name);

/* Open a named dataset's train and test sets from `path` (NULL: the default
 * path). Layouts are in docs/datasets.md. Train and test always share
 * h, w, c, n_classes and class names. A PNG folder without train/ and test/
 * sub-folders is loaded whole as `train` and `test` is left empty (n = 0). */
KB_API int kb_dataset_open(struct kb_dataset *train, struct kb_dataset *test,
                           const char *name, const char *path, struct kb_error *err) KB_WUR;

/* --- subsets ---------------------------------------------------------------- */

/* round(fraction × n) (half away from zero), clamped to [0, n]. */
KB_API size_t kb_subset_count(size_t n, double fraction);

/* Pick `count` distinct indices of `ds` with the class proportions of the
 * indices still available, written to idx[0..count) in ascending order.
 * If `taken` is non-NULL (ds->n flags), indices with taken[i] != 0 are never
 * picked and the picked ones are marked 1 — so successive calls with one
 * `taken` array give disjoint subsets. Deterministic in (labels, taken,
 * count, seed, domain). Algorithm: docs/datasets.md ("Subsets"). Error if
 * count exceeds the available indices. */
KB_API int kb_dataset_subset(uint32_t *idx, const struct kb_dataset *ds, size_t count,
                             uint8_t *taken, uint64_t seed, const char *domain,
                             struct kb_error *err) KB_WUR;

/* The same on a bare label array (labels[i] < n_classes, n labels). */
KB_API int kb_labels_subset(uint32_t *idx, const uint32_t *labels, uint8_t *taken,
                            size_t count, uint64_t seed, const char *domain, size_t n,
                            uint32_t n_classes, struct kb_error *err) KB_WUR;

/* out := the images and labels of src at idx[0..count) (copies), same shape,
 * classes and names. Indices must be < src->n. */
KB_API int kb_dataset_gather(struct kb_dataset *out, const struct kb_dataset *src,
                             const uint32_t *idx, size_t count, struct kb_error *err) KB_WUR;

#ifdef __cplusplus
}
#endif
#endif

/* CIFAR-10 / CIFAR-100 binary batches: records of `label_bytes` label bytes
 * then 3072 bytes of planar R, G, B 32×32 (row-major), converted to 32×32×3. */
#include <stdlib.h>
#include <string.h>

#include <keybench/dataset.h>

#include "data/dataset_internal.h"
#include "data/reader.h"

#define CIFAR_SIDE 32u
#define CIFAR_PIXELS (CIFAR_SIDE * CIFAR_SIDE)
#define CIFAR_IMAGE (3u * CIFAR_PIXELS)
#define CIFAR100_COARSE 20u

int kb_dataset_load_cifar(struct kb_dataset *ds, const char *const *paths, size_t n_paths,
                          unsigned label_bytes, uint32_t n_classes, struct kb_error *err)
{
    memset(ds, 0, sizeof *ds);
    if (label_bytes != 1 && label_bytes != 2)
        return kb_error_set(err, "cifar: %u label bytes; expected 1 (CIFAR-10) or 2 (CIFAR-100)",
                            label_bytes);
    if (n_paths == 0)
        return kb_error_set(err, "cifar: no batch files given; expected at least one");
    if (n_classes == 0 || n_classes > 256)
        return kb_error_set(err, "%s: %u classes; expected 1..256", paths[0], n_classes);
    const size_t rec = label_bytes + CIFAR_IMAGE;
    uint8_t **bufs = calloc(n_paths, sizeof *bufs);
    size_t *counts = calloc(n_paths, sizeof *counts);
    if (!bufs || !counts) {
        free(bufs);
        free(counts);
        return kb_error_set(err, "cifar: out of memory");
    }
    uint64_t total = 0;
    int rc = -1;
    /* Pass 1: read every file (plain: size checked against the records first). */
    for (size_t f = 0; f < n_paths; f++) {
        struct kb_reader r;
        if (kb_reader_open(&r, paths[f], err) < 0)
            goto out;
        if (!kb_reader_gzipped(&r) && (r.file_size == 0 || r.file_size % rec)) {
            kb_error_set(err, "%s: %llu bytes is not a whole number of %zu-byte records "
                         "(%u label byte%s + 3x32x32 pixels); expected a non-empty multiple of %zu",
                         paths[f], (unsigned long long)r.file_size, rec, label_bytes,
                         label_bytes == 1 ? "" : "s", rec);
            kb_reader_close(&r);
            goto out;
        }
        size_t size = 0;
        int e = kb_reader_read_all(&r, &bufs[f], &size, KB_DATASET_MAX_BYTES, err);
        kb_reader_close(&r);
        if (e < 0)
            goto out;
        if (size == 0 || size % rec) {
            kb_error_set(err, "%s: %zu bytes (uncompressed) is not a whole number of %zu-byte "
                         "records (%u label byte%s + 3x32x32 pixels); expected a non-empty "
                         "multiple of %zu", paths[f], size, rec, label_bytes,
                         label_bytes == 1 ? "" : "s", rec);
            goto out;
        }
        counts[f] = size / rec;
        total += counts[f];
        if (total > KB_DATASET_MAX_IMAGES) {
            kb_error_set(err, "%s: %llu images in all; expected at most %u", paths[f],
                         (unsigned long long)total, KB_DATASET_MAX_IMAGES);
            goto out;
        }
        /* Labels. */
        const uint8_t *b = bufs[f];
        for (size_t i = 0; i < counts[f]; i++) {
            const uint8_t *p = b + i * rec;
            if (label_bytes == 2 && p[0] >= CIFAR100_COARSE) {
                kb_error_set(err, "%s: record %zu (byte offset %zu): coarse label %u is out of "
                             "range; expected 0..%u", paths[f], i, i * rec, p[0],
                             CIFAR100_COARSE - 1);
                goto out;
            }
            uint8_t lab = p[label_bytes - 1];
            if (lab >= n_classes) {
                kb_error_set(err, "%s: record %zu (byte offset %zu): label %u is out of range; "
                             "expected 0..%u", paths[f], i, i * rec + label_bytes - 1, lab,
                             n_classes - 1);
                goto out;
            }
        }
    }
    /* Pass 2: convert planar CHW records to HWC. */
    if (kb_dataset_alloc_raw(ds, (uint32_t)total, CIFAR_SIDE, CIFAR_SIDE, 3, paths[0], err) < 0)
        goto out;
    size_t j = 0;
    for (size_t f = 0; f < n_paths; f++) {
        for (size_t i = 0; i < counts[f]; i++, j++) {
            const uint8_t *p = bufs[f] + i * rec;
            const uint8_t *px = p + label_bytes;
            uint8_t *o = ds->images + j * CIFAR_IMAGE;
            for (size_t q = 0; q < CIFAR_PIXELS; q++) {
                o[3 * q + 0] = px[q];
                o[3 * q + 1] = px[CIFAR_PIXELS + q];
                o[3 * q + 2] = px[2 * CIFAR_PIXELS + q];
            }
            ds->labels[j] = p[label_bytes - 1];
        }
        free(bufs[f]);
        bufs[f] = NULL;
    }
    ds->n_classes = n_classes;
    if (kb_dataset_default_names(ds, n_classes, paths[0], err) < 0) {
        kb_dataset_free(ds);
        goto out;
    }
    rc = 0;
out:
    for (size_t f = 0; f < n_paths; f++)
        free(bufs[f]);
    free(bufs);
    free(counts);
    return rc;
}

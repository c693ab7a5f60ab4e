/* IDX files (MNIST, Fashion-MNIST): big-endian header, then unsigned bytes.
 *   images: 00 00 08 03, N, H, W (uint32 BE each), N×H×W pixels
 *   labels: 00 00 08 01, N, N label bytes
 * Gzipped or not (reader.c detects the gzip magic). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <keybench/dataset.h>

#include "data/dataset_internal.h"
#include "data/reader.h"

#define IDX_UBYTE 0x08u

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Read the magic and `ndims` dimensions; `kind` names what the file should hold. */
static int idx_header(struct kb_reader *r, uint32_t *dims, unsigned ndims, const char *kind,
                      struct kb_error *err)
{
    uint8_t m[4];
    uint32_t want = 0x00000800u | ndims;
    if (kb_reader_read(r, m, 4, "IDX magic number", err) < 0)
        return -1;
    uint32_t magic = be32(m);
    if (magic != want) {
        const char *why = (m[0] || m[1]) ? "not an IDX file"
                          : m[2] != IDX_UBYTE ? "IDX element type is not unsigned byte"
                          : "wrong number of IDX dimensions";
        return kb_error_set(err, "%s: wrong magic number 0x%08x (%s); expected 0x%08x "
                            "(IDX unsigned bytes, %u dimension%s: %s)", r->path, magic, why,
                            want, ndims, ndims == 1 ? "" : "s", kind);
    }
    uint8_t d[4 * 3];
    if (kb_reader_read(r, d, 4u * ndims, "IDX dimensions", err) < 0)
        return -1;
    for (unsigned i = 0; i < ndims; i++)
        dims[i] = be32(d + 4 * i);
    return 0;
}

/* Check that `need` bytes of data follow the header (exactly, for a plain file). */
static int idx_check_size(struct kb_reader *r, uint64_t need, const char *what,
                          struct kb_error *err)
{
    uint64_t left = kb_reader_max_left(r);
    if (!kb_reader_gzipped(r)) {
        if (left != need)
            return kb_error_set(err, "%s: file has %llu bytes; expected %llu (%llu-byte header + "
                                "%s)%s", r->path, (unsigned long long)r->file_size,
                                (unsigned long long)(r->pos + need), (unsigned long long)r->pos,
                                what, left < need ? ": truncated" : ": extra data at the end");
    } else if (need > left) {
        return kb_error_set(err, "%s: header claims %s = %llu bytes, more than a %llu-byte gzip "
                            "file can hold; expected a consistent header", r->path, what,
                            (unsigned long long)need, (unsigned long long)r->file_size);
    }
    return 0;
}

static int idx_check_end(struct kb_reader *r, const char *what, struct kb_error *err)
{
    int e = kb_reader_at_end(r, err);
    if (e < 0)
        return -1;
    if (e == 0)
        return kb_error_set(err, "%s: extra data after byte %llu (uncompressed); expected the file "
                            "to end after %s", r->path, (unsigned long long)r->pos, what);
    return 0;
}

static int load_images(struct kb_dataset *ds, const char *path, struct kb_error *err)
{
    struct kb_reader r;
    if (kb_reader_open(&r, path, err) < 0)
        return -1;
    uint32_t dims[3];
    if (idx_header(&r, dims, 3, "N images x H rows x W columns", err) < 0)
        goto fail;
    uint32_t n = dims[0], h = dims[1], w = dims[2];
    if (n == 0 || n > KB_DATASET_MAX_IMAGES || h == 0 || h > KB_DATASET_MAX_SIDE || w == 0 ||
        w > KB_DATASET_MAX_SIDE) {
        kb_error_set(err, "%s: header says %u images of %ux%u; expected 1..%u images of sides "
                     "1..%u", path, n, h, w, KB_DATASET_MAX_IMAGES, KB_DATASET_MAX_SIDE);
        goto fail;
    }
    uint64_t need = (uint64_t)n * h * w;
    char what[128];
    snprintf(what, sizeof what, "%u images of %ux%u pixels", n, h, w);
    if (need > KB_DATASET_MAX_BYTES) {
        kb_error_set(err, "%s: header says %s = %llu bytes; expected at most %llu", path, what,
                     (unsigned long long)need, (unsigned long long)KB_DATASET_MAX_BYTES);
        goto fail;
    }
    if (idx_check_size(&r, need, what, err) < 0)
        goto fail;
    if (kb_dataset_alloc_raw(ds, n, h, w, 1, path, err) < 0)
        goto fail;
    if (kb_reader_read(&r, ds->images, (size_t)need, what, err) < 0 ||
        idx_check_end(&r, what, err) < 0) {
        kb_dataset_free(ds);
        goto fail;
    }
    kb_reader_close(&r);
    return 0;
fail:
    kb_reader_close(&r);
    return -1;
}

static int load_labels(struct kb_dataset *ds, const char *path, const char *images_path,
                       uint32_t n_classes, struct kb_error *err)
{
    struct kb_reader r;
    uint8_t *lab = NULL;
    if (kb_reader_open(&r, path, err) < 0)
        return -1;
    uint32_t n;
    if (idx_header(&r, &n, 1, "N labels", err) < 0)
        goto fail;
    if (n != ds->n) {
        kb_error_set(err, "%s: %u labels but %u images in %s; expected one label per image", path,
                     n, ds->n, images_path);
        goto fail;
    }
    char what[64];
    snprintf(what, sizeof what, "%u labels", n);
    if (idx_check_size(&r, n, what, err) < 0)
        goto fail;
    lab = malloc(n);
    if (!lab) {
        kb_error_set(err, "%s: out of memory for %u labels", path, n);
        goto fail;
    }
    if (kb_reader_read(&r, lab, n, what, err) < 0 || idx_check_end(&r, what, err) < 0)
        goto fail;
    uint32_t max = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (n_classes && lab[i] >= n_classes) {
            kb_error_set(err, "%s: label %u at index %u (byte offset %u) is out of range; "
                         "expected 0..%u", path, lab[i], i, 8 + i, n_classes - 1);
            goto fail;
        }
        if (lab[i] > max)
            max = lab[i];
        ds->labels[i] = lab[i];
    }
    ds->n_classes = n_classes ? n_classes : max + 1;
    free(lab);
    kb_reader_close(&r);
    return 0;
fail:
    free(lab);
    kb_reader_close(&r);
    return -1;
}

int kb_dataset_load_idx(struct kb_dataset *ds, const char *images_path, const char *labels_path,
                        uint32_t n_classes, struct kb_error *err)
{
    memset(ds, 0, sizeof *ds);
    if (n_classes > 256)
        return kb_error_set(err, "%s: %u classes requested; expected at most 256 (IDX labels are "
                            "bytes)", labels_path, n_classes);
    if (load_images(ds, images_path, err) < 0)
        return -1;
    if (load_labels(ds, labels_path, images_path, n_classes, err) < 0 ||
        kb_dataset_default_names(ds, ds->n_classes, labels_path, err) < 0) {
        kb_dataset_free(ds);
        return -1;
    }
    return 0;
}

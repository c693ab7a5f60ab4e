/* struct kb_dataset: allocation, class names, gather, and the named-dataset
 * front door kb_dataset_open. */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <keybench/dataset.h>

#include "data/dataset_internal.h"
#include "data/reader.h"

size_t kb_dataset_image_size(const struct kb_dataset *ds)
{
    return (size_t)ds->h * ds->w * ds->c;
}

const uint8_t *kb_dataset_image(const struct kb_dataset *ds, size_t i)
{
    assert(i < ds->n);
    return ds->images + i * kb_dataset_image_size(ds);
}

static void free_names(char **names, uint32_t n)
{
    if (!names)
        return;
    for (uint32_t k = 0; k < n; k++)
        free(names[k]);
    free(names);
}

void kb_dataset_free(struct kb_dataset *ds)
{
    if (!ds)
        return;
    free(ds->images);
    free(ds->labels);
    free_names(ds->class_names, ds->n_classes);
    memset(ds, 0, sizeof *ds);
}

int kb_dataset_alloc_raw(struct kb_dataset *ds, uint32_t n, uint32_t h, uint32_t w, uint32_t c,
                         const char *what, struct kb_error *err)
{
    memset(ds, 0, sizeof *ds);
    if (n > KB_DATASET_MAX_IMAGES || h == 0 || w == 0 || h > KB_DATASET_MAX_SIDE ||
        w > KB_DATASET_MAX_SIDE || c == 0 || c > KB_DATASET_MAX_CHANNELS)
        return kb_error_set(err, "%s: dataset of %u images of %ux%ux%u; expected at most %u "
                            "images, sides 1..%u, 1..%u channels", what, n, h, w, c,
                            KB_DATASET_MAX_IMAGES, KB_DATASET_MAX_SIDE, KB_DATASET_MAX_CHANNELS);
    uint64_t bytes = (uint64_t)n * h * w * c;
    if (bytes > KB_DATASET_MAX_BYTES || bytes > SIZE_MAX)
        return kb_error_set(err, "%s: %u images of %ux%ux%u = %llu bytes; expected at most %llu",
                            what, n, h, w, c, (unsigned long long)bytes,
                            (unsigned long long)KB_DATASET_MAX_BYTES);
    ds->images = malloc(bytes ? (size_t)bytes : 1);
    ds->labels = malloc(n ? (size_t)n * sizeof *ds->labels : 1);
    if (!ds->images || !ds->labels) {
        kb_dataset_free(ds);
        return kb_error_set(err, "%s: out of memory for %u images of %ux%ux%u (%llu bytes)", what,
                            n, h, w, c, (unsigned long long)bytes);
    }
    ds->n = n;
    ds->h = h;
    ds->w = w;
    ds->c = c;
    return 0;
}

int kb_dataset_default_names(struct kb_dataset *ds, uint32_t n_classes, const char *what,
                             struct kb_error *err)
{
    char **names = calloc(n_classes ? n_classes : 1, sizeof *names);
    if (!names)
        return kb_error_set(err, "%s: out of memory for %u class names", what, n_classes);
    for (uint32_t k = 0; k < n_classes; k++) {
        char buf[16];
        snprintf(buf, sizeof buf, "%u", k);
        names[k] = strdup(buf);
        if (!names[k]) {
            free_names(names, n_classes);
            return kb_error_set(err, "%s: out of memory for class names", what);
        }
    }
    free_names(ds->class_names, ds->n_classes);  /* the old array has the old count */
    ds->class_names = names;
    ds->n_classes = n_classes;
    return 0;
}

int kb_dataset_alloc(struct kb_dataset *ds, uint32_t n, uint32_t h, uint32_t w, uint32_t c,
                     uint32_t n_classes, struct kb_error *err)
{
    if (n_classes == 0 || n_classes > KB_DATASET_MAX_CLASSES)
        return kb_error_set(err, "dataset: %u classes; expected 1..%u", n_classes,
                            KB_DATASET_MAX_CLASSES);
    if (kb_dataset_alloc_raw(ds, n, h, w, c, "dataset", err) < 0)
        return -1;
    memset(ds->images, 0, (size_t)n * h * w * c);
    memset(ds->labels, 0, (size_t)n * sizeof *ds->labels);
    ds->n_classes = n_classes;
    if (kb_dataset_default_names(ds, n_classes, "dataset", err) < 0) {
        kb_dataset_free(ds);
        return -1;
    }
    return 0;
}

int kb_dataset_set_class_names(struct kb_dataset *ds, const char *const *names,
                               struct kb_error *err)
{
    char **copy = calloc(ds->n_classes ? ds->n_classes : 1, sizeof *copy);
    if (!copy)
        return kb_error_set(err, "dataset: out of memory for class names");
    for (uint32_t k = 0; k < ds->n_classes; k++) {
        copy[k] = strdup(names[k]);
        if (!copy[k]) {
            free_names(copy, ds->n_classes);
            return kb_error_set(err, "dataset: out of memory for class names");
        }
    }
    free_names(ds->class_names, ds->n_classes);
    ds->class_names = copy;
    return 0;
}

void kb_dataset_class_counts(uint64_t *counts, const struct kb_dataset *ds)
{
    memset(counts, 0, (size_t)ds->n_classes * sizeof *counts);
    for (uint32_t i = 0; i < ds->n; i++)
        if (ds->labels[i] < ds->n_classes)
            counts[ds->labels[i]]++;
}

int kb_dataset_read_class_names(struct kb_dataset *ds, const char *path, struct kb_error *err)
{
    uint8_t *text = NULL;
    size_t size = 0;
    if (kb_file_read_all(path, 16u << 20, &text, &size, err) < 0)
        return -1;
    char **names = calloc(ds->n_classes ? ds->n_classes : 1, sizeof *names);
    if (!names) {
        free(text);
        return kb_error_set(err, "%s: out of memory", path);
    }
    uint32_t found = 0;
    unsigned line = 0;
    char *p = (char *)text, *end = (char *)text + size;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *e = nl ? nl : end;
        line++;
        char *s = p, *t = e;
        while (t > s && (t[-1] == ' ' || t[-1] == '\t' || t[-1] == '\r'))
            t--;
        while (s < t && (*s == ' ' || *s == '\t'))
            s++;
        if (t > s) {
            if (memchr(s, '\0', (size_t)(t - s))) {
                kb_error_set(err, "%s:%u: NUL byte in a class name; expected a text file", path,
                             line);
                goto fail;
            }
            if (found >= ds->n_classes) {
                kb_error_set(err, "%s:%u: more than %u class names; expected exactly %u (one per "
                             "line)", path, line, ds->n_classes, ds->n_classes);
                goto fail;
            }
            names[found] = strndup(s, (size_t)(t - s));
            if (!names[found]) {
                kb_error_set(err, "%s: out of memory", path);
                goto fail;
            }
            found++;
        }
        p = nl ? nl + 1 : end;
    }
    if (found != ds->n_classes) {
        kb_error_set(err, "%s: %u class names; expected exactly %u (one per line)", path, found,
                     ds->n_classes);
        goto fail;
    }
    free(text);
    free_names(ds->class_names, ds->n_classes);
    ds->class_names = names;
    return 0;
fail:
    free(text);
    free_names(names, ds->n_classes);
    return -1;
}

int kb_dataset_gather(struct kb_dataset *out, const struct kb_dataset *src, const uint32_t *idx,
                      size_t count, struct kb_error *err)
{
    memset(out, 0, sizeof *out);
    if (count > src->n)
        return kb_error_set(err, "dataset gather: %zu indices; expected at most %u (the dataset "
                            "size)", count, src->n);
    for (size_t j = 0; j < count; j++)
        if (idx[j] >= src->n)
            return kb_error_set(err, "dataset gather: index %u at position %zu; expected < %u",
                                idx[j], j, src->n);
    if (kb_dataset_alloc_raw(out, (uint32_t)count, src->h, src->w, src->c, "dataset gather",
                             err) < 0)
        return -1;
    out->n_classes = src->n_classes;
    if (kb_dataset_set_class_names(out, (const char *const *)src->class_names, err) < 0) {
        out->n_classes = 0;
        kb_dataset_free(out);
        return -1;
    }
    size_t sz = kb_dataset_image_size(src);
    for (size_t j = 0; j < count; j++) {
        memcpy(out->images + j * sz, src->images + (size_t)idx[j] * sz, sz);
        out->labels[j] = src->labels[idx[j]];
    }
    return 0;
}

/* --- named datasets ---------------------------------------------------------- */

static const char *const dataset_names[] = {
    "fashion-mnist", "mnist", "cifar10", "cifar100", "idx", "png", NULL
};

static const char *const fashion_names[10] = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"
};

static const char *const cifar10_names[10] = {
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck"
};

const char *const *kb_dataset_names(void)
{
    return dataset_names;
}

static const char *default_subdir(const char *name)
{
    if (!strcmp(name, "fashion-mnist"))
        return "fashion-mnist";
    if (!strcmp(name, "mnist"))
        return "mnist";
    if (!strcmp(name, "cifar10"))
        return "cifar-10-batches-bin";
    if (!strcmp(name, "cifar100"))
        return "cifar-100-binary";
    return NULL;
}

int kb_dataset_default_path(char *out, size_t out_size, const char *name)
{
    if (out_size)
        out[0] = '\0';
    if (!strcmp(name, "idx") || !strcmp(name, "png"))
        return 0;
    const char *sub = default_subdir(name);
    if (!sub)
        return -1;
    const char *root = getenv("KEYBENCH_DATASETS");
    if (!root || !*root)
        root = "/usr/share/datasets";
    if ((size_t)snprintf(out, out_size, "%s/%s", root, sub) >= out_size)
        return -1;
    return 0;
}

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* dir/base.gz if it exists, else dir/base if it exists, else an error naming both. */
static int find_idx_file(char *out, size_t out_size, const char *dir, const char *base,
                         struct kb_error *err)
{
    for (int gz = 1; gz >= 0; gz--) {
        if ((size_t)snprintf(out, out_size, "%s/%s%s", dir, base, gz ? ".gz" : "") >= out_size)
            return kb_error_set(err, "%s: path too long", dir);
        if (is_file(out))
            return 0;
    }
    return kb_error_set(err, "%s: no %s.gz or %s; expected the IDX files train-images-idx3-ubyte, "
                        "train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte "
                        "(gzipped or not)", dir, base, base);
}

static int open_idx(struct kb_dataset *train, struct kb_dataset *test, const char *dir,
                    uint32_t n_classes, struct kb_error *err)
{
    char ti[4096], tl[4096], vi[4096], vl[4096];
    if (find_idx_file(ti, sizeof ti, dir, "train-images-idx3-ubyte", err) < 0 ||
        find_idx_file(tl, sizeof tl, dir, "train-labels-idx1-ubyte", err) < 0 ||
        find_idx_file(vi, sizeof vi, dir, "t10k-images-idx3-ubyte", err) < 0 ||
        find_idx_file(vl, sizeof vl, dir, "t10k-labels-idx1-ubyte", err) < 0)
        return -1;
    if (kb_dataset_load_idx(train, ti, tl, n_classes, err) < 0)
        return -1;
    if (kb_dataset_load_idx(test, vi, vl, n_classes, err) < 0)
        return -1;
    if (!n_classes && train->n_classes != test->n_classes) {
        /* Inferred class counts: use the larger for both. */
        uint32_t k = train->n_classes > test->n_classes ? train->n_classes : test->n_classes;
        if (kb_dataset_default_names(train, k, tl, err) < 0 ||
            kb_dataset_default_names(test, k, vl, err) < 0)
            return -1;
    }
    return 0;
}

static int open_cifar(struct kb_dataset *train, struct kb_dataset *test, const char *path,
                      bool c100, struct kb_error *err)
{
    char dir[4096];
    const char *sub = c100 ? "cifar-100-binary" : "cifar-10-batches-bin";
    /* Accept the batches folder itself or its parent. */
    if ((size_t)snprintf(dir, sizeof dir, "%s/%s", path, sub) >= sizeof dir)
        return kb_error_set(err, "%s: path too long", path);
    if (!is_dir(dir))
        snprintf(dir, sizeof dir, "%s", path);
    if (!is_dir(dir))
        return kb_error_set(err, "%s: no such folder; expected the %s binary batches "
                            "(folder %s)", path, c100 ? "CIFAR-100" : "CIFAR-10", sub);
    char files[6][4200];
    const char *ptrs[6];
    size_t n_train;
    if (c100) {
        snprintf(files[0], sizeof files[0], "%s/train.bin", dir);
        snprintf(files[1], sizeof files[1], "%s/test.bin", dir);
        n_train = 1;
    } else {
        for (int i = 0; i < 5; i++)
            snprintf(files[i], sizeof files[i], "%s/data_batch_%d.bin", dir, i + 1);
        snprintf(files[5], sizeof files[5], "%s/test_batch.bin", dir);
        n_train = 5;
    }
    for (size_t i = 0; i <= n_train; i++)
        ptrs[i] = files[i];
    unsigned lb = c100 ? 2 : 1;
    uint32_t k = c100 ? 100 : 10;
    if (kb_dataset_load_cifar(train, ptrs, n_train, lb, k, err) < 0 ||
        kb_dataset_load_cifar(test, ptrs + n_train, 1, lb, k, err) < 0)
        return -1;
    char names[4200];
    snprintf(names, sizeof names, "%s/%s", dir, c100 ? "fine_label_names.txt" : "batches.meta.txt");
    if (is_file(names)) {
        if (kb_dataset_read_class_names(train, names, err) < 0)
            return -1;
    } else if (!c100) {
        if (kb_dataset_set_class_names(train, cifar10_names, err) < 0)
            return -1;
    }
    return kb_dataset_set_class_names(test, (const char *const *)train->class_names, err);
}

static int open_png(struct kb_dataset *train, struct kb_dataset *test, const char *path,
                    struct kb_error *err)
{
    char tr[4096], te[4096];
    if ((size_t)snprintf(tr, sizeof tr, "%s/train", path) >= sizeof tr ||
        (size_t)snprintf(te, sizeof te, "%s/test", path) >= sizeof te)
        return kb_error_set(err, "%s: path too long", path);
    if (!is_dir(tr)) {
        if (is_dir(te))
            return kb_error_set(err, "%s: has test/ but no train/; expected both (or neither: "
                                "then %s/<class>/*.png is one set)", path, path);
        if (kb_dataset_load_png_dir(train, path, err) < 0 ||
            kb_dataset_alloc_raw(test, 0, train->h, train->w, train->c, path, err) < 0)
            return -1;
        test->n_classes = train->n_classes;
        return kb_dataset_set_class_names(test, (const char *const *)train->class_names, err);
    }
    if (!is_dir(te))
        return kb_error_set(err, "%s: has train/ but no test/; expected both %s and %s", path, tr,
                            te);
    if (kb_dataset_load_png_dir(train, tr, err) < 0 || kb_dataset_load_png_dir(test, te, err) < 0)
        return -1;
    if (train->n_classes != test->n_classes)
        return kb_error_set(err, "%s: %u classes but %s has %u; expected the same class folders",
                            te, test->n_classes, tr, train->n_classes);
    for (uint32_t k = 0; k < train->n_classes; k++)
        if (strcmp(train->class_names[k], test->class_names[k]))
            return kb_error_set(err, "%s: class folder '%s' where %s has '%s'; expected the same "
                                "class folders", te, test->class_names[k], tr,
                                train->class_names[k]);
    return 0;
}

int kb_dataset_open(struct kb_dataset *train, struct kb_dataset *test, const char *name,
                    const char *path, struct kb_error *err)
{
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    bool known = false;
    for (size_t i = 0; dataset_names[i]; i++)
        known |= !strcmp(dataset_names[i], name);
    if (!known) {
        char sug[256];
        int ns = kb_suggest(sug, sizeof sug, name, dataset_names, 6);
        return kb_error_set(err, "unknown dataset '%s'%s%s%s; expected one of fashion-mnist, "
                            "mnist, cifar10, cifar100, idx, png", name, ns ? " (did you mean " : "",
                            ns ? sug : "", ns ? "?)" : "");
    }
    char def[4096];
    if (!path || !*path) {
        if (kb_dataset_default_path(def, sizeof def, name) < 0)
            return kb_error_set(err, "dataset '%s': default path too long", name);
        if (!def[0])
            return kb_error_set(err, "dataset '%s': a path is required (no default folder)", name);
        path = def;
    }
    if (!is_dir(path)) {
        return kb_error_set(err, "%s: no such folder; expected the %s dataset there%s", path, name,
                            path == def ? " (its default path; set KEYBENCH_DATASETS or give a "
                                          "path)" : "");
    }
    int rc;
    if (!strcmp(name, "fashion-mnist") || !strcmp(name, "mnist")) {
        rc = open_idx(train, test, path, 10, err);
        if (rc == 0 && !strcmp(name, "fashion-mnist"))
            rc = kb_dataset_set_class_names(train, fashion_names, err) < 0 ||
                 kb_dataset_set_class_names(test, fashion_names, err) < 0 ? -1 : 0;
    } else if (!strcmp(name, "idx")) {
        rc = open_idx(train, test, path, 0, err);
    } else if (!strcmp(name, "cifar10") || !strcmp(name, "cifar100")) {
        rc = open_cifar(train, test, path, !strcmp(name, "cifar100"), err);
    } else {
        rc = open_png(train, test, path, err);
    }
    if (rc == 0 && test->n &&
        (train->h != test->h || train->w != test->w || train->c != test->c)) {
        rc = kb_error_set(err, "%s: test images are %ux%ux%u but train images are %ux%ux%u; "
                          "expected one shape", path, test->h, test->w, test->c, train->h,
                          train->w, train->c);
    }
    if (rc < 0) {
        kb_dataset_free(train);
        kb_dataset_free(test);
        return -1;
    }
    return 0;
}

/* bench_dataset — how long loading a dataset takes, and (when the transform
 * plugins are built) how long each transform takes over the whole train set.
 *
 *   build/bench/bench_dataset [--dataset fashion-mnist] [--path DIR]
 *                             [--repeat 5] [--no-transforms]
 *
 * Prints one line per measurement: the best and median wall time of
 * `--repeat` runs (CLOCK_MONOTONIC), and a throughput. Transforms run with
 * their default parameters and a fixed (non-secret) bench key, in batches of
 * 1000 images, and decrypt(encrypt(x)) == x is checked. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <keybench/dataset.h>
#include <keybench/params.h>
#include <keybench/plugin.h>
#include <keybench/registry.h>

#define BATCH 1000u

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void report(const char *what, double *t, int r, double items, const char *unit)
{
    qsort(t, (size_t)r, sizeof *t, cmp_d);
    double med = t[r / 2];
    printf("%-34s best %8.1f ms  median %8.1f ms  (%.0f %s/s)\n", what, 1e3 * t[0], 1e3 * med,
           items / t[0], unit);
}

static int bench_transforms(const struct kb_dataset *ds, int repeat)
{
    struct kb_error err = {0};
    struct kb_registry *reg = NULL;
    if (kb_registry_open(&reg, NULL, 0, &err) < 0) {
        printf("transforms: skipped (%s)\n", err.msg);
        return 0;
    }
    size_t isz = kb_dataset_image_size(ds);
    float *f = malloc((size_t)BATCH * isz * sizeof *f);
    uint8_t *back = malloc((size_t)BATCH * isz);
    uint8_t secret[32] = { 1, 2, 3, 4, 5, 6, 7, 8 }; /* bench key: not secret */
    int found = 0, rc = 0;
    struct kb_image_shape shape = { ds->h, ds->w, ds->c };
    for (size_t i = 0; i < kb_registry_count(reg); i++) {
        const struct kb_plugin *p = kb_registry_get(reg, i, NULL);
        if (p->kind != KB_KIND_TRANSFORM)
            continue;
        found++;
        const struct kb_transform_ops *ops = p->ops;
        struct kb_params *params = NULL;
        void *state = NULL;
        if (kb_params_new(&params, p->params, &err) < 0 ||
            ops->create(&state, params, &shape, &err) < 0) {
            printf("transform %-24s skipped: %s\n", p->name, err.msg);
            kb_params_free(params);
            continue;
        }
        void *key = calloc(1, ops->key_size(state) + 1);
        ops->key_make(state, key, secret);
        double *te = calloc((size_t)repeat, sizeof *te), *td = calloc((size_t)repeat, sizeof *td);
        int ok = 1;
        for (int r = 0; r < repeat; r++) {
            for (uint32_t b = 0; b < ds->n; b += BATCH) {
                size_t n = ds->n - b < BATCH ? ds->n - b : BATCH;
                const uint8_t *in = ds->images + (size_t)b * isz;
                double t0 = now();
                ops->encrypt(state, key, f, in, n);
                double t1 = now();
                ops->decrypt(state, key, back, f, n);
                double t2 = now();
                te[r] += t1 - t0;
                td[r] += t2 - t1;
                if (r == 0 && memcmp(back, in, n * isz))
                    ok = 0;
            }
        }
        char what[96];
        snprintf(what, sizeof what, "transform %s encrypt", p->name);
        report(what, te, repeat, ds->n, "img");
        snprintf(what, sizeof what, "transform %s decrypt", p->name);
        report(what, td, repeat, ds->n, "img");
        if (!ok) {
            printf("transform %s: decrypt(encrypt(x)) != x\n", p->name);
            rc = 1;
        }
        free(te);
        free(td);
        free(key);
        ops->destroy(state);
        kb_params_free(params);
    }
    if (!found)
        printf("transforms: none found (build the transforms first)\n");
    free(f);
    free(back);
    kb_registry_free(reg);
    return rc;
}

int main(int argc, char **argv)
{
    const char *name = "fashion-mnist", *path = NULL;
    int repeat = 5, transforms = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--dataset") && i + 1 < argc)
            name = argv[++i];
        else if (!strcmp(argv[i], "--path") && i + 1 < argc)
            path = argv[++i];
        else if (!strcmp(argv[i], "--repeat") && i + 1 < argc)
            repeat = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--no-transforms"))
            transforms = 0;
        else {
            fprintf(stderr, "usage: %s [--dataset NAME] [--path DIR] [--repeat N] "
                    "[--no-transforms]\n", argv[0]);
            return 2;
        }
    }
    if (repeat < 1)
        repeat = 1;
    struct kb_error err = {0};
    struct kb_dataset train = {0}, test = {0};
    double *t = calloc((size_t)repeat, sizeof *t);
    for (int r = 0; r < repeat; r++) {
        kb_dataset_free(&train);
        kb_dataset_free(&test);
        double t0 = now();
        if (kb_dataset_open(&train, &test, name, path, &err) < 0) {
            fprintf(stderr, "bench_dataset: %s\n", err.msg);
            return 1;
        }
        t[r] = now() - t0;
    }
    printf("dataset %s: train %u, test %u images of %ux%ux%u, %u classes\n", name, train.n,
           test.n, train.h, train.w, train.c, train.n_classes);
    char what[96];
    snprintf(what, sizeof what, "load %s train+test", name);
    report(what, t, repeat, (double)train.n + test.n, "img");

    /* A 10% stratified subset + gather, as the runner does per cell. */
    size_t cnt = kb_subset_count(train.n, 0.10);
    uint32_t *idx = malloc((cnt ? cnt : 1) * sizeof *idx);
    for (int r = 0; r < repeat; r++) {
        struct kb_dataset sub = {0};
        double t0 = now();
        if (kb_dataset_subset(idx, &train, cnt, NULL, (uint64_t)r, "bench", &err) < 0 ||
            kb_dataset_gather(&sub, &train, idx, cnt, &err) < 0) {
            fprintf(stderr, "bench_dataset: %s\n", err.msg);
            return 1;
        }
        t[r] = now() - t0;
        kb_dataset_free(&sub);
    }
    report("stratified 10% subset + gather", t, repeat, (double)cnt, "img");
    free(idx);
    free(t);
    int rc = transforms ? bench_transforms(&train, repeat) : 0;
    kb_dataset_free(&train);
    kb_dataset_free(&test);
    return rc;
}

/* keybench samples — one PNG grid: rows are images, columns are the original,
 * then every transform in the registry (default params plus --set), then a
 * wrong-key decryption of one keyed transform.
 *
 *   keybench samples [--dataset NAME] [--data PATH] [-n 8] [--set block_size=4]
 *                    [--key FILE] [--seed N] [--scale S] [--plugin-path DIR]...
 *                    -o grid.png [IN.png...]
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <keybench/dataset.h>
#include <keybench/image.h>
#include <keybench/keys.h>
#include <keybench/registry.h>
#include <keybench/samples.h>
#include <keybench/secret.h>
#include "cli_util.h"
#include "commands.h"


struct sopts {
    const char *dataset, *data, *key_path, *out;
    unsigned long n, scale;
    uint64_t seed;
    const char **sets, **dirs, **inputs;
    size_t n_sets, n_dirs, n_inputs;
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: keybench samples [--dataset NAME] [--data PATH] [-n N] [--set KEY=VALUE]...\n"
            "                        [--key FILE] [--seed N] [--scale S] [--plugin-path DIR]...\n"
            "                        -o GRID.png [IN.png...]\n\n"
            "Write one PNG grid: a row per image; columns: the original, then every transform\n"
            "found (in name order) with its default parameters and the --set values it has\n"
            "(e.g. --set block_size=4), then the decryption of one keyed transform\n"
            "(pixel_shuffle if present) with a wrong, random key. Encrypted values are shown\n"
            "as round(x * 255) (FFX codes scaled by the table maximum). The column order is\n"
            "printed on stdout.\n\n"
            "  --dataset NAME     images from a dataset's test split (default fashion-mnist),\n"
            "                     one per class in turn; ignored when PNG inputs are given\n"
            "  --data PATH        the dataset's folder (default: its standard path)\n"
            "  -n N               number of images (rows), default 8\n"
            "  --set KEY=VALUE    a parameter for every transform that has it (repeatable)\n"
            "  --key FILE         derive keys from this master secret as 'keybench encrypt'\n"
            "                     does (default: fresh random keys)\n"
            "  --seed N           seed of the key context (default 0)\n"
            "  --scale S          pixel magnification (default 2 below 64 pixels, else 1)\n"
            "  --plugin-path DIR  also search DIR for plugins (repeatable)\n"
            "  -o GRID.png        the output file\n");
}

static int parse_uint(unsigned long long *out, const char *v, const char *what,
                      unsigned long long max)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (!*v || *end || errno || v[0] == '-' || x > max) {
        fprintf(stderr, "keybench samples: %s needs an integer in [0, %llu], got '%s'\n", what,
                max, v);
        return -1;
    }
    *out = x;
    return 0;
}

static int parse_args(struct sopts *o, int argc, char **argv)
{
    o->dataset = "fashion-mnist";
    o->n = 8;
    o->sets = calloc((size_t)argc + 1, sizeof *o->sets);
    o->dirs = calloc((size_t)argc + 1, sizeof *o->dirs);
    o->inputs = calloc((size_t)argc + 1, sizeof *o->inputs);
    if (!o->sets || !o->dirs || !o->inputs)
        return 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        unsigned long long x;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 1;
        } else if ((v = kb_cli_opt_value(argc, argv, &i, "--dataset"))) {
            o->dataset = v;
        } else if ((v = kb_cli_opt_value(argc, argv, &i, "--data"))) {
            o->data = v;
        } else if ((v = kb_cli_opt_value(argc, argv, &i, "--key"))) {
            o->key_path = v;
        } else if ((v = kb_cli_opt_value(argc, argv, &i, "-o")) || (v = kb_cli_opt_value(argc, argv, &i, "--output"))) {
            o->out = v;
        } else if ((v = kb_cli_opt_value(argc, argv, &i, "--set"))) {
            if (!strchr(v, '=')) {
                fprintf(stderr, "keybench samples: --set needs KEY=VALUE, got '%s'\n", v);
                return 2;
            }
            o->sets[o->n_sets++] = v;
        } else if ((v = kb_cli_opt_value(argc, argv, &i, "--plugin-path"))) {
            o->dirs[o->n_dirs++] = v;
        } else if ((v = kb_cli_opt_value(argc, argv, &i, "-n"))) {
            if (parse_uint(&x, v, "-n", 1000) < 0 || x == 0)
                return 2;
            o->n = (unsigned long)x;
        } else if ((v = kb_cli_opt_value(argc, argv, &i, "--scale"))) {
            if (parse_uint(&x, v, "--scale", 16) < 0 || x == 0)
                return 2;
            o->scale = (unsigned long)x;
        } else if ((v = kb_cli_opt_value(argc, argv, &i, "--seed"))) {
            if (parse_uint(&x, v, "--seed", UINT64_MAX) < 0)
                return 2;
            o->seed = x;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "keybench samples: unknown option '%s'; run 'keybench samples --help'\n", a);
            return 2;
        } else {
            o->inputs[o->n_inputs++] = a;
        }
    }
    if (!o->out || !*o->out) {
        fprintf(stderr, "keybench samples: missing -o GRID.png; run 'keybench samples --help'\n");
        return 2;
    }
    return 0;
}

/* The rows: PNG inputs, or n test images of the dataset, one per class in turn. */
static int load_rows(uint8_t **pixels, struct kb_image_shape *shape, size_t *n,
                     const struct sopts *o, struct kb_error *err)
{
    if (o->n_inputs) {
        size_t image = 0;
        *n = o->n_inputs;
        for (size_t i = 0; i < o->n_inputs; i++) {
            struct kb_image img = {0};
            if (kb_png_read(&img, o->inputs[i], err) < 0)
                return -1;
            if (i == 0) {
                *shape = (struct kb_image_shape){ img.h, img.w, img.c };
                image = (size_t)img.h * img.w * img.c;
                *pixels = malloc(*n * image);
            } else if (img.h != shape->h || img.w != shape->w || img.c != shape->c) {
                kb_error_set(err, "%s: image is %ux%ux%u (HxWxC) but %s is %ux%ux%u; all inputs "
                                  "must have one size", o->inputs[i], img.h, img.w, img.c,
                             o->inputs[0], shape->h, shape->w, shape->c);
                kb_image_free(&img);
                return -1;
            }
            if (!*pixels) {
                kb_image_free(&img);
                return kb_error_set(err, "out of memory");
            }
            memcpy(*pixels + i * image, img.pixels, image);
            kb_image_free(&img);
        }
        return 0;
    }
    struct kb_dataset train = {0}, test = {0};
    if (kb_dataset_open(&train, &test, o->dataset, o->data, err) < 0)
        return kb_error_prefix(err, "--dataset %s", o->dataset);
    const struct kb_dataset *ds = test.n ? &test : &train;
    *shape = (struct kb_image_shape){ ds->h, ds->w, ds->c };
    size_t image = kb_dataset_image_size(ds);
    *n = o->n < ds->n ? o->n : ds->n;
    *pixels = malloc(*n * image);
    size_t *idx = calloc(*n ? *n : 1, sizeof *idx);
    if (!*pixels || !idx) {
        free(idx);
        kb_dataset_free(&train);
        kb_dataset_free(&test);
        return kb_error_set(err, "out of memory");
    }
    *n = kb_samples_pick(idx, ds, *n);
    for (size_t r = 0; r < *n; r++)
        memcpy(*pixels + r * image, kb_dataset_image(ds, idx[r]), image);
    free(idx);
    kb_dataset_free(&train);
    kb_dataset_free(&test);
    return 0;
}

struct column {
    char label[160];
    uint8_t *cells; /* n images, uint8 */
};

/* Make transform p's column (and, when `wrong` is non-NULL, the wrong-key
 * decryption of its output) for n images of `shape`. */
static int render_column(struct column *col, struct column *wrong, const struct kb_plugin *p,
                         const struct sopts *o, bool *set_used, const uint8_t *master,
                         const uint8_t *pixels, const struct kb_image_shape *shape, size_t n,
                         bool *keyed, struct kb_error *err)
{
    const struct kb_transform_ops *ops = p->ops;
    struct kb_params *params = NULL;
    void *state = NULL;
    uint8_t *key = NULL, *wkey = NULL, *cell = NULL;
    size_t total = n * shape->h * shape->w * shape->c;
    float *y = malloc(total * sizeof *y);
    int rc = -1;
    *keyed = false;
    if (!y) {
        kb_error_set(err, "out of memory");
        goto out;
    }
    if (kb_params_new(&params, p->params, err) < 0)
        goto out;
    for (size_t s = 0; s < o->n_sets; s++) {
        char name[256];
        const char *eq = strchr(o->sets[s], '=');
        snprintf(name, sizeof name, "%.*s", (int)(eq - o->sets[s]), o->sets[s]);
        if (!kb_param_find(p->params, name))
            continue;
        set_used[s] = true;
        if (kb_params_set(params, name, eq + 1, err) < 0) {
            kb_error_prefix(err, "--set %s (transform %s)", o->sets[s], p->name);
            goto out;
        }
    }
    if (ops->create(&state, params, shape, err) < 0) {
        state = NULL;
        goto out;
    }
    size_t ks = ops->key_size(state);
    key = kb_secret_alloc_size(ks);
    wkey = kb_secret_alloc_size(ks);
    cell = kb_secret_alloc();
    col->cells = malloc(total);
    if (!key || !wkey || !cell || !col->cells) {
        kb_error_set(err, "out of memory");
        goto out;
    }
    if (master) {
        if (kb_key_derive(cell, master, p->name, params, o->seed, err) < 0)
            goto out;
    } else {
        kb_secret_random(cell);
    }
    ops->key_make(state, key, cell);
    char fp[KB_FINGERPRINT_CHARS + 1];
    kb_key_fingerprint(fp, master ? master : cell, key, ks);
    snprintf(col->label, sizeof col->label, "%s (key %s)", p->name, fp);
    ops->encrypt(state, key, y, pixels, n);
    kb_samples_to_u8(col->cells, y, total);
    *keyed = (p->caps & KB_CAP_KEYED) && ops->keyspace_bits(state) > 0;
    if (wrong && *keyed) {
        if (!wrong->cells && !(wrong->cells = malloc(total))) {
            kb_error_set(err, "out of memory");
            goto out;
        }
        kb_secret_random(cell); /* wrong keys are fresh random keys */
        ops->key_make(state, wkey, cell);
        ops->decrypt(state, wkey, wrong->cells, y, n);
        snprintf(wrong->label, sizeof wrong->label, "%s decrypted with a wrong key", p->name);
    }
    rc = 0;
out:
    kb_secret_free(key);
    kb_secret_free(wkey);
    kb_secret_free(cell);
    if (state)
        ops->destroy(state);
    kb_params_free(params);
    free(y);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int kb_cmd_samples(int argc, char **argv)
{
    struct sopts o = {0};
    int pr = parse_args(&o, argc, argv);
    struct kb_error err = {0};
    struct kb_registry *reg = NULL;
    struct kb_image_shape shape = {0};
    uint8_t *pixels = NULL, *master = NULL;
    struct kb_image grid = {0};
    const char **names = NULL;
    struct column *cols = NULL, wrong = {0};
    size_t n = 0, nt = 0, ncols = 0;
    bool *set_used = NULL, have_wrong = false;
    int status = 1;
    if (pr) {
        status = pr == 1 ? 0 : 2;
        goto done;
    }
    set_used = calloc(o.n_sets + 1, sizeof *set_used);
    if (!set_used) {
        kb_error_set(&err, "out of memory");
        goto done;
    }
    if (load_rows(&pixels, &shape, &n, &o, &err) < 0)
        goto done;
    if (o.key_path) {
        bool warn = false;
        if (!(master = kb_secret_alloc())) {
            kb_error_set(&err, "out of memory");
            goto done;
        }
        if (kb_secret_load(master, o.key_path, &warn, &err) < 0)
            goto done;
        if (warn)
            fprintf(stderr, "keybench samples: warning: %s\n", err.msg);
    } else {
        fprintf(stderr, "keybench samples: no --key: using fresh random keys\n");
    }
    if (kb_registry_open(&reg, o.dirs, o.n_dirs, &err) < 0)
        goto done;
    nt = kb_registry_names(reg, KB_KIND_TRANSFORM, &names);
    if (nt == 0) {
        kb_error_set(&err, "no transform plugins found (see 'keybench plugins')");
        goto done;
    }
    qsort(names, nt, sizeof *names, cmp_str);
    cols = calloc(nt + 3, sizeof *cols); /* original, nt transforms, wrong key, and a spare for the cleanup loop */
    if (!cols) {
        kb_error_set(&err, "out of memory");
        goto done;
    }
    snprintf(cols[0].label, sizeof cols[0].label, "original");
    ncols = 1;
    /* the wrong-key column shows pixel_shuffle when present, else the first keyed transform */
    bool has_shf = kb_registry_find(reg, KB_KIND_TRANSFORM, "pixel_shuffle") != NULL;
    for (size_t t = 0; t < nt; t++) {
        const struct kb_plugin *p = kb_registry_find(reg, KB_KIND_TRANSFORM, names[t]);
        bool want_wrong = has_shf ? !strcmp(p->name, "pixel_shuffle") : !have_wrong;
        bool keyed = false;
        if (render_column(&cols[ncols], want_wrong ? &wrong : NULL, p, &o, set_used, master,
                          pixels, &shape, n, &keyed, &err) < 0)
            goto done;
        ncols++;
        have_wrong = have_wrong || (want_wrong && keyed);
    }
    for (size_t s = 0; s < o.n_sets; s++)
        if (!set_used[s]) {
            kb_error_set(&err, "--set %s: no transform has this parameter", o.sets[s]);
            goto done;
        }
    if (have_wrong) {
        cols[ncols++] = wrong;
        wrong.cells = NULL;
    }

    uint32_t s = o.scale ? (uint32_t)o.scale : kb_samples_scale(&shape);
    const uint8_t **strips = calloc(ncols, sizeof *strips);
    if (!strips) {
        kb_error_set(&err, "out of memory");
        goto done;
    }
    for (size_t c = 0; c < ncols; c++)
        strips[c] = c == 0 ? pixels : cols[c].cells;
    int grc = kb_samples_grid(&grid, strips, ncols, n, true, &shape, s, &err);
    free(strips);
    if (grc < 0) {
        kb_error_prefix(&err, "-o %s", o.out);
        goto done;
    }
    if (kb_png_write(o.out, grid.pixels, grid.h, grid.w, grid.c, &err) < 0)
        goto done;
    printf("%s: %zu rows x %zu columns of %ux%ux%u images:", o.out, n, ncols, shape.h, shape.w,
           shape.c);
    for (size_t c = 0; c < ncols; c++)
        printf(" %s%s", c ? "| " : "", cols[c].label);
    printf("\n");
    status = 0;
done:
    if (status && pr == 0)
        fprintf(stderr, "keybench samples: %s\n", err.msg);
    for (size_t c = 0; cols && c <= ncols; c++) /* <=: a column that failed half-way */
        free(cols[c].cells);
    free(cols);
    free(wrong.cells);
    free(names);
    kb_image_free(&grid);
    free(pixels);
    kb_secret_free(master);
    kb_registry_free(reg);
    free(set_used);
    free(o.sets);
    free(o.dirs);
    free(o.inputs);
    return status;
}

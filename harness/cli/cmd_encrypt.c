/* keybench encrypt / decrypt — apply a transform with a key derived from the
 * master secret, or invert it.
 *
 *   keybench encrypt --transform NAME [--set K=V]... --key FILE [--seed N]
 *                    [-o OUT] IN.png...
 *   keybench decrypt --transform NAME [--set K=V]... --key FILE [--seed N]
 *                    [-o OUT] (IN.safetensors | IN.png...)
 *
 * The transform key is kb_key_derive(master, NAME, resolved params, seed) —
 * the same context the runner uses — so a cell's images can be reproduced
 * from the command line. Only the key's fingerprint is printed. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <keybench/image.h>
#include <keybench/keys.h>
#include <keybench/registry.h>
#include <keybench/safetensors.h>
#include <keybench/secret.h>
#include "cli_util.h"
#include "commands.h"


struct xopts {
    const char *cmd;
    const char *transform, *key_path, *out;
    uint64_t seed;
    const char **sets;
    size_t n_sets;
    const char **dirs;
    size_t n_dirs;
    const char **inputs;
    size_t n_inputs;
};

static void usage(FILE *f, const char *cmd)
{
    bool enc = !strcmp(cmd, "encrypt");
    fprintf(f,
            "usage: keybench %s --transform NAME [--set KEY=VALUE]... --key FILE [--seed N]\n"
            "                        [--plugin-path DIR]... [-o OUT] %s\n\n",
            cmd, enc ? "IN.png..." : "(IN.safetensors | IN.png...)");
    if (enc)
        fprintf(f,
                "Encrypt PNG images (all of one size) with a transform. The key is derived from\n"
                "the master secret FILE ('keybench keygen') for this transform, its resolved\n"
                "parameters and the seed, exactly as 'keybench run' derives a cell's key.\n\n"
                "Output (-o):\n"
                "  OUT.safetensors  the float32 values themselves: tensor 'images', N x H x W x C\n"
                "                   (exact; decrypt restores the images bit for bit)\n"
                "  OUT.png          one input only: round(x * 255) as an 8-bit PNG\n"
                "  DIR              one PNG per input, same file names (created if missing)\n"
                "  (none)           IN.enc.png beside each input\n"
                "PNG output is exact for transforms whose values are k/255 (none, pixel_shuffle,\n"
                "negpos, block_scramble). FFX values are code/max(table) and are NOT 8-bit: a PNG\n"
                "of FFX output is lossy, for viewing only; use .safetensors to decrypt later.\n\n");
    else
        fprintf(f,
                "Invert a transform: read the .safetensors 'images' tensor written by\n"
                "'keybench encrypt' (exact for every transform), or PNGs (x = p / 255: exact\n"
                "for none, pixel_shuffle, negpos and block_scramble, not for ffx).\n\n"
                "Output (-o): OUT.safetensors (uint8 tensor 'images'), OUT.png (one image),\n"
                "DIR (one PNG per image), or (none) beside the input: IN.dec.png, or\n"
                "IN-<i>.dec.png for the images of a .safetensors file.\n\n");
    fprintf(f,
            "  --transform NAME    a transform plugin ('keybench plugins --kind transform')\n"
            "  --set KEY=VALUE     a transform parameter, e.g. --set block_size=4 (repeatable)\n"
            "  --key FILE          the 32-byte master secret\n"
            "  --seed N            the seed of the key context (default 0)\n"
            "  --plugin-path DIR   also search DIR for plugins (repeatable)\n"
            "  -o OUT              output, see above\n"
            "The key fingerprint is printed on stderr; key material never is.\n");
}

/* Parse argv into o. Returns 0, 1 (--help printed), or 2 (usage error printed). */
static int parse_args(struct xopts *o, int argc, char **argv)
{
    o->cmd = argv[0];
    o->sets = calloc((size_t)argc + 1, sizeof *o->sets);
    o->dirs = calloc((size_t)argc + 1, sizeof *o->dirs);
    o->inputs = calloc((size_t)argc + 1, sizeof *o->inputs);
    if (!o->sets || !o->dirs || !o->inputs) {
        fprintf(stderr, "keybench %s: out of memory\n", o->cmd);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout, o->cmd);
            return 1;
        } else if ((v = kb_cli_opt_value(argc, argv, &i, "--transform"))) {
            o->transform = v;
        } else if ((v = kb_cli_opt_value(argc, argv, &i, "--key"))) {
            o->key_path = v;
        } else if ((v = kb_cli_opt_value(argc, argv, &i, "--set"))) {
            if (!strchr(v, '=')) {
                fprintf(stderr, "keybench %s: --set needs KEY=VALUE, got '%s'\n", o->cmd, v);
                return 2;
            }
            o->sets[o->n_sets++] = v;
        } else if ((v = kb_cli_opt_value(argc, argv, &i, "--plugin-path"))) {
            o->dirs[o->n_dirs++] = v;
        } else if ((v = kb_cli_opt_value(argc, argv, &i, "--seed"))) {
            char *end;
            errno = 0;
            unsigned long long s = strtoull(v, &end, 10);
            if (!*v || *end || errno || v[0] == '-') {
                fprintf(stderr, "keybench %s: --seed needs a non-negative integer, got '%s'\n",
                        o->cmd, v);
                return 2;
            }
            o->seed = s;
        } else if ((v = kb_cli_opt_value(argc, argv, &i, "-o")) || (v = kb_cli_opt_value(argc, argv, &i, "--output"))) {
            o->out = v;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "keybench %s: unknown option '%s'; run 'keybench %s --help'\n", o->cmd,
                    a, o->cmd);
            return 2;
        } else {
            o->inputs[o->n_inputs++] = a;
        }
    }
    const char *missing = !o->transform || !*o->transform ? "--transform NAME"
                          : !o->key_path || !*o->key_path ? "--key FILE"
                          : o->n_inputs == 0              ? "an input file"
                          : o->out && !*o->out            ? "a value after -o"
                                                          : NULL;
    if (missing) {
        fprintf(stderr, "keybench %s: missing %s; run 'keybench %s --help'\n", o->cmd, missing,
                o->cmd);
        return 2;
    }
    return 0;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcasecmp(s + a - b, suffix);
}

/* A transform ready to use: plugin, params, state and key. */
struct xform {
    struct kb_registry *reg;
    const struct kb_plugin *plugin;
    const struct kb_transform_ops *ops;
    struct kb_params *params;
    void *state;
    uint8_t *key;
    size_t key_size;
    char *context;
    char fingerprint[KB_FINGERPRINT_CHARS + 1];
};

static void xform_free(struct xform *x)
{
    if (x->state)
        x->ops->destroy(x->state);
    kb_params_free(x->params);
    kb_secret_free(x->key);
    free(x->context);
    kb_registry_free(x->reg);
    memset(x, 0, sizeof *x);
}

static int xform_open(struct xform *x, const struct xopts *o, const struct kb_image_shape *shape,
                      struct kb_error *err)
{
    memset(x, 0, sizeof *x);
    if (kb_registry_open(&x->reg, o->dirs, o->n_dirs, err) < 0)
        return -1;
    x->plugin = kb_registry_find(x->reg, KB_KIND_TRANSFORM, o->transform);
    if (!x->plugin) {
        const char **names = NULL;
        size_t n = kb_registry_names(x->reg, KB_KIND_TRANSFORM, &names);
        char hint[256] = "";
        if (kb_suggest(hint, sizeof hint, o->transform, names, n) > 0)
            kb_error_set(err, "--transform %s: no such transform; did you mean %s?", o->transform, hint);
        else
            kb_error_set(err, "--transform %s: no such transform; 'keybench plugins --kind transform' "
                              "lists them", o->transform);
        free(names);
        return -1;
    }
    x->ops = x->plugin->ops;
    if (kb_params_new(&x->params, x->plugin->params, err) < 0)
        return -1;
    for (size_t i = 0; i < o->n_sets; i++) {
        char name[256];
        const char *eq = strchr(o->sets[i], '=');
        size_t len = (size_t)(eq - o->sets[i]);
        if (len >= sizeof name)
            return kb_error_set(err, "--set %s: parameter name too long", o->sets[i]);
        memcpy(name, o->sets[i], len);
        name[len] = 0;
        if (kb_params_set(x->params, name, eq + 1, err) < 0)
            return kb_error_prefix(err, "--set %s (transform %s)", o->sets[i], o->transform);
    }
    if (x->ops->create(&x->state, x->params, shape, err) < 0) {
        x->state = NULL;
        return -1;
    }
    uint8_t *master = kb_secret_alloc(), *cell = kb_secret_alloc();
    x->key_size = x->ops->key_size(x->state);
    x->key = kb_secret_alloc_size(x->key_size);
    if (!master || !cell || !x->key) {
        kb_secret_free(master);
        kb_secret_free(cell);
        return kb_error_set(err, "out of memory for key material");
    }
    bool warn = false;
    if (kb_secret_load(master, o->key_path, &warn, err) < 0) {
        kb_secret_free(master);
        kb_secret_free(cell);
        return -1;
    }
    if (warn)
        fprintf(stderr, "keybench %s: warning: %s\n", o->cmd, err->msg);
    x->context = kb_key_context(o->transform, x->params, o->seed);
    if (!x->context || kb_key_derive(cell, master, o->transform, x->params, o->seed, err) < 0) {
        kb_secret_free(master);
        kb_secret_free(cell);
        return x->context ? -1 : kb_error_set(err, "out of memory");
    }
    x->ops->key_make(x->state, x->key, cell);
    kb_key_fingerprint(x->fingerprint, master, x->key, x->key_size);
    kb_secret_free(master);
    kb_secret_free(cell);
    fprintf(stderr, "keybench %s: %s %ux%ux%u, key fingerprint %s, context %s\n", o->cmd,
            o->transform, shape->h, shape->w, shape->c, x->fingerprint, x->context);
    return 0;
}

/* Read PNG inputs into one N×H×W×C buffer (all of one shape). */
static int read_pngs(uint8_t **pixels, struct kb_image_shape *shape, const char *const *paths,
                     size_t n, struct kb_error *err)
{
    *pixels = NULL;
    size_t image = 0;
    for (size_t i = 0; i < n; i++) {
        struct kb_image img = {0};
        if (kb_png_read(&img, paths[i], err) < 0) {
            free(*pixels);
            *pixels = NULL;
            return -1;
        }
        if (i == 0) {
            *shape = (struct kb_image_shape){ img.h, img.w, img.c };
            image = (size_t)img.h * img.w * img.c;
            if (n > SIZE_MAX / (image ? image : 1) || !(*pixels = malloc(n * image))) {
                kb_image_free(&img);
                return kb_error_set(err, "%s: out of memory for %zu images", paths[i], n);
            }
        } else if (img.h != shape->h || img.w != shape->w || img.c != shape->c) {
            kb_error_set(err, "%s: image is %ux%ux%u (HxWxC) but %s is %ux%ux%u; all inputs "
                              "must have one size", paths[i], img.h, img.w, img.c, paths[0],
                         shape->h, shape->w, shape->c);
            kb_image_free(&img);
            free(*pixels);
            *pixels = NULL;
            return -1;
        }
        memcpy(*pixels + i * image, img.pixels, image);
        kb_image_free(&img);
    }
    return 0;
}

/* Output path of image i: OUT.png, DIR/<name>, or beside the input. */
static int out_path(char *path, size_t size, const struct xopts *o, const char *input, size_t i,
                    size_t n, bool from_tensor, struct kb_error *err)
{
    const char *base = strrchr(input, '/');
    base = base ? base + 1 : input;
    char stem[1024];
    snprintf(stem, sizeof stem, "%s", base);
    char *dot = strrchr(stem, '.');
    if (dot && dot != stem)
        *dot = 0;
    const char *suffix = !strcmp(o->cmd, "encrypt") ? "enc" : "dec";
    char name[1200];
    if (from_tensor)
        snprintf(name, sizeof name, "%s-%zu.%s.png", stem, i, suffix);
    else
        snprintf(name, sizeof name, "%s.%s.png", stem, suffix);
    int r;
    if (!o->out) {
        int dirlen = (int)(base - input);
        r = snprintf(path, size, "%.*s%s", dirlen, input, name);
    } else if (ends_with(o->out, ".png")) {
        if (n != 1)
            return kb_error_set(err, "-o %s: %zu images; a single .png takes one (give a folder "
                                     "or a .safetensors file)", o->out, n);
        r = snprintf(path, size, "%s", o->out);
    } else {
        if (mkdir(o->out, 0755) < 0 && errno != EEXIST)
            return kb_error_set(err, "-o %s: cannot create the folder: %s", o->out, strerror(errno));
        r = snprintf(path, size, "%s/%s", o->out, from_tensor ? name : base);
    }
    if (r < 0 || (size_t)r >= size)
        return kb_error_set(err, "%s: output path too long", input);
    return 0;
}

static uint8_t to_u8(float x)
{
    if (!(x > 0.0f))
        return 0;
    if (x >= 1.0f)
        return 255;
    return (uint8_t)lrintf(x * 255.0f);
}

static int write_pngs(const struct xopts *o, const uint8_t *u8, const struct kb_image_shape *s,
                      size_t n, bool from_tensor, struct kb_error *err)
{
    size_t image = (size_t)s->h * s->w * s->c;
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        const char *input = from_tensor ? o->inputs[0] : o->inputs[i];
        if (out_path(path, sizeof path, o, input, i, n, from_tensor, err) < 0)
            return -1;
        if (kb_png_write(path, u8 + i * image, s->h, s->w, s->c, err) < 0)
            return -1;
    }
    return 0;
}

static int write_tensor(const char *path, enum kb_dtype dt, const void *data,
                        const struct kb_image_shape *s, size_t n, const struct xform *x,
                        struct kb_error *err)
{
    struct kb_st_writer *w = kb_st_writer_new();
    if (!w)
        return kb_error_set(err, "%s: out of memory", path);
    int64_t shape[4] = { (int64_t)n, s->h, s->w, s->c };
    int rc = kb_st_writer_add(w, "images", dt, 4, shape, data, err);
    if (rc == 0)
        rc = kb_st_writer_meta(w, "transform", x->plugin->name, err);
    if (rc == 0)
        rc = kb_st_writer_meta(w, "key_context", x->context, err);
    if (rc == 0)
        rc = kb_st_writer_meta(w, "key_fingerprint", x->fingerprint, err);
    if (rc == 0)
        rc = kb_st_writer_meta(w, "keybench_version", kb_version(), err);
    if (rc == 0)
        rc = kb_st_writer_save(w, path, err);
    kb_st_writer_free(w);
    return rc;
}

static void free_opts(struct xopts *o)
{
    free(o->sets);
    free(o->dirs);
    free(o->inputs);
}

int kb_cmd_encrypt(int argc, char **argv)
{
    struct xopts o = {0};
    int pr = parse_args(&o, argc, argv);
    if (pr) {
        free_opts(&o);
        return pr == 1 ? 0 : 2;
    }
    struct kb_error err = {0};
    struct xform x = {0};
    struct kb_image_shape shape = {0};
    uint8_t *pixels = NULL, *u8 = NULL;
    float *y = NULL;
    int status = 1;
    size_t n = o.n_inputs;
    if (read_pngs(&pixels, &shape, o.inputs, n, &err) < 0 || xform_open(&x, &o, &shape, &err) < 0)
        goto done;
    size_t total = n * shape.h * shape.w * shape.c;
    y = malloc(total * sizeof *y);
    if (!y) {
        kb_error_set(&err, "out of memory for %zu values", total);
        goto done;
    }
    x.ops->encrypt(x.state, x.key, y, pixels, n);
    if (o.out && ends_with(o.out, ".safetensors")) {
        if (write_tensor(o.out, KB_DT_F32, y, &shape, n, &x, &err) < 0)
            goto done;
    } else {
        u8 = malloc(total);
        if (!u8) {
            kb_error_set(&err, "out of memory");
            goto done;
        }
        size_t inexact = 0;
        for (size_t i = 0; i < total; i++) {
            u8[i] = to_u8(y[i]);
            inexact += (float)u8[i] / 255.0f != y[i];
        }
        if (inexact)
            fprintf(stderr, "keybench encrypt: note: %zu of %zu values are not k/255 (%s); the PNG "
                            "is for viewing only (write .safetensors to decrypt exactly)\n",
                    inexact, total, x.plugin->name);
        if (write_pngs(&o, u8, &shape, n, false, &err) < 0)
            goto done;
    }
    status = 0;
done:
    if (status)
        fprintf(stderr, "keybench encrypt: %s\n", err.msg);
    free(pixels);
    free(u8);
    free(y);
    xform_free(&x);
    free_opts(&o);
    return status;
}

/* Read the 'images' tensor of a .safetensors file as float32 N×H×W×C. */
static int read_tensor(float **values, struct kb_image_shape *shape, size_t *n, const char *path,
                       char *context, size_t context_size, struct kb_error *err)
{
    struct kb_safetensors st;
    if (kb_st_open(&st, path, err) < 0)
        return -1;
    const struct kb_st_tensor *t = kb_st_find(&st, "images");
    int rc = -1;
    if (!t) {
        kb_error_set(err, "%s: no tensor 'images' (expected N x H x W x C values from 'keybench "
                          "encrypt -o OUT.safetensors')", path);
    } else if (t->ndim != 4 || t->shape[0] < 1 || t->shape[1] < 1 || t->shape[2] < 1 ||
               (t->shape[3] != 1 && t->shape[3] != 3) || t->shape[1] > 16384 ||
               t->shape[2] > 16384) {
        kb_error_set(err, "%s: tensor 'images' has %d dims; expected N x H x W x C with C = 1 or 3",
                     path, t->ndim);
    } else if (!(*values = malloc(t->numel * sizeof **values))) {
        kb_error_set(err, "%s: out of memory for %zu values", path, t->numel);
    } else if (kb_st_read_f32(&st, t, *values, t->numel, err) < 0) {
        free(*values);
        *values = NULL;
    } else {
        *n = (size_t)t->shape[0];
        *shape = (struct kb_image_shape){ (uint32_t)t->shape[1], (uint32_t)t->shape[2],
                                          (uint32_t)t->shape[3] };
        const char *c = kb_st_meta(&st, "key_context");
        snprintf(context, context_size, "%s", c ? c : "");
        rc = 0;
    }
    kb_st_close(&st);
    return rc;
}

int kb_cmd_decrypt(int argc, char **argv)
{
    struct xopts o = {0};
    int pr = parse_args(&o, argc, argv);
    if (pr) {
        free_opts(&o);
        return pr == 1 ? 0 : 2;
    }
    struct kb_error err = {0};
    struct xform x = {0};
    struct kb_image_shape shape = {0};
    uint8_t *pixels = NULL, *u8 = NULL;
    float *y = NULL;
    int status = 1;
    size_t n = 0;
    bool from_tensor = ends_with(o.inputs[0], ".safetensors");
    char stored_context[1024] = "";
    if (from_tensor) {
        if (o.n_inputs != 1) {
            kb_error_set(&err, "%s: give one .safetensors file (or PNGs), not %zu inputs",
                         o.inputs[0], o.n_inputs);
            goto done;
        }
        if (read_tensor(&y, &shape, &n, o.inputs[0], stored_context, sizeof stored_context, &err) < 0)
            goto done;
    } else {
        n = o.n_inputs;
        if (read_pngs(&pixels, &shape, o.inputs, n, &err) < 0)
            goto done;
        size_t total = n * shape.h * shape.w * shape.c;
        if (!(y = malloc(total * sizeof *y))) {
            kb_error_set(&err, "out of memory");
            goto done;
        }
        for (size_t i = 0; i < total; i++)
            y[i] = (float)pixels[i] / 255.0f;
    }
    if (xform_open(&x, &o, &shape, &err) < 0)
        goto done;
    if (stored_context[0] && strcmp(stored_context, x.context) != 0)
        fprintf(stderr, "keybench decrypt: warning: %s was encrypted with context %s; decrypting "
                        "with %s (other transform, params or seed: the result will be wrong)\n",
                o.inputs[0], stored_context, x.context);
    if (!from_tensor && !strcmp(x.plugin->name, "ffx"))
        fprintf(stderr, "keybench decrypt: warning: ffx values are not 8-bit; decrypting PNGs is "
                        "lossy (use the .safetensors output of 'keybench encrypt')\n");
    size_t total = n * shape.h * shape.w * shape.c;
    if (!(u8 = malloc(total))) {
        kb_error_set(&err, "out of memory");
        goto done;
    }
    x.ops->decrypt(x.state, x.key, u8, y, n);
    if (o.out && ends_with(o.out, ".safetensors")) {
        if (write_tensor(o.out, KB_DT_U8, u8, &shape, n, &x, &err) < 0)
            goto done;
    } else if (write_pngs(&o, u8, &shape, n, from_tensor, &err) < 0) {
        goto done;
    }
    status = 0;
done:
    if (status)
        fprintf(stderr, "keybench decrypt: %s\n", err.msg);
    free(pixels);
    free(u8);
    free(y);
    xform_free(&x);
    free_opts(&o);
    return status;
}

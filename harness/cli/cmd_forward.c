/* keybench forward — run a backbone on a safetensors input, or write fresh
 * weights. This is how anyone checks keybench against PyTorch:
 *
 *   keybench forward --backbone NAME [--set k=v]... --weights W.safetensors
 *                    --input X.safetensors --output Y.safetensors [--train-mode] [-v]
 *       reads the tensor `input` (N,C,H,W), runs the backbone in eval mode
 *       (batch statistics with --train-mode) and writes `logits` (N, classes).
 *       The class count and input channels come from the weights.
 *   keybench forward --backbone NAME [--set k=v]... --in-shape C,H,W --classes K
 *                    [--init-seed S] --save-weights W.safetensors [-v]
 *       writes PyTorch-default initialised weights.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <keybench/model.h>
#include <keybench/registry.h>
#include <keybench/safetensors.h>
#include "commands.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: keybench forward --backbone NAME [--set KEY=VALUE]... --weights W.safetensors\n"
            "                        --input X.safetensors --output Y.safetensors [--train-mode] [-v]\n"
            "       keybench forward --backbone NAME [--set KEY=VALUE]... --in-shape C,H,W\n"
            "                        --classes K [--init-seed S] --save-weights W.safetensors [-v]\n\n"
            "Run a backbone on the tensor 'input' (N,C,H,W) of X and write the tensor 'logits'\n"
            "(N,classes) to Y, in eval mode (running statistics) or, with --train-mode, with\n"
            "batch statistics. The class count and input channels come from the weights.\n"
            "The second form writes freshly initialised weights (PyTorch's default init).\n\n"
            "  --backbone NAME      a backbone plugin (keybench plugins --kind backbone)\n"
            "  --set KEY=VALUE      a backbone parameter (repeatable)\n"
            "  --plugin-path DIR    also search DIR for plugins (repeatable)\n"
            "  -v, --verbose        print one line per layer (stderr)\n");
}

static int parse_i64(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end)
        return -1;
    *out = v;
    return 0;
}

static int parse_shape(const char *s, int64_t shape[3])
{
    char buf[128];
    if (strlen(s) >= sizeof buf)
        return -1;
    strcpy(buf, s);
    char *save = NULL, *tok = strtok_r(buf, ",x", &save);
    for (int i = 0; i < 3; i++) {
        if (!tok || parse_i64(tok, &shape[i]) < 0 || shape[i] < 1)
            return -1;
        tok = strtok_r(NULL, ",x", &save);
    }
    return tok ? -1 : 0;
}

struct opts {
    const char *backbone, *weights, *input, *output, *save_weights, *in_shape;
    int64_t classes, seed;
    bool have_classes, train_mode, verbose;
    const char **sets, **dirs;
    size_t n_sets, n_dirs;
};

static int fail(const char *msg)
{
    fprintf(stderr, "keybench forward: %s\n", msg);
    return 1;
}

/* Resolve the plugin and its parameters. */
static int resolve(const struct opts *o, const struct kb_registry *reg,
                   const struct kb_plugin **plugin, struct kb_params **params,
                   struct kb_error *err)
{
    *plugin = kb_registry_find(reg, KB_KIND_BACKBONE, o->backbone);
    if (!*plugin) {
        const char **names = NULL;
        size_t n = kb_registry_names(reg, KB_KIND_BACKBONE, &names);
        char hint[256] = "";
        if (n && kb_suggest(hint, sizeof hint, o->backbone, names, n) > 0)
            kb_error_set(err, "unknown backbone '%s'; did you mean %s?", o->backbone, hint);
        else
            kb_error_set(err, "unknown backbone '%s' (%zu backbones found; see 'keybench plugins "
                         "--kind backbone')", o->backbone, n);
        free(names);
        return -1;
    }
    if (kb_params_new(params, (*plugin)->params, err) < 0)
        return -1;
    for (size_t i = 0; i < o->n_sets; i++) {
        const char *eq = strchr(o->sets[i], '=');
        if (!eq || eq == o->sets[i]) {
            kb_error_set(err, "--set '%s': expected KEY=VALUE", o->sets[i]);
            return -1;
        }
        char key[128];
        size_t len = (size_t)(eq - o->sets[i]);
        if (len >= sizeof key) {
            kb_error_set(err, "--set '%s': key too long", o->sets[i]);
            return -1;
        }
        memcpy(key, o->sets[i], len);
        key[len] = 0;
        if (kb_params_set(*params, key, eq + 1, err) < 0)
            return kb_error_prefix(err, "--set %s (backbone %s)", o->sets[i], o->backbone);
    }
    return 0;
}

static int write_logits(const char *path, const float *logits, int64_t n, int64_t k,
                        struct kb_error *err)
{
    struct kb_st_writer *w = kb_st_writer_new();
    if (!w)
        return kb_error_set(err, "%s: out of memory", path);
    int64_t shape[2] = { n, k };
    int rc = kb_st_writer_add(w, "logits", KB_DT_F32, 2, shape, logits, err);
    if (rc == 0)
        rc = kb_st_writer_save(w, path, err);
    kb_st_writer_free(w);
    return rc;
}

/* Class count and input channels from a weights file, using a probe model
 * (classes 1) to learn the head and stem tensor names. */
static int infer_from_weights(const struct kb_plugin *plugin, const struct kb_params *params,
                              const char *weights, int64_t h, int64_t w, int64_t c_hint,
                              int64_t *classes, int64_t *channels, struct kb_error *err)
{
    struct kb_model *probe;
    if (kb_model_build(&probe, plugin, params, c_hint, h, w, 1, err) < 0)
        return -1;
    const char *head = kb_model_head_name(probe), *stem = kb_model_stem_name(probe);
    struct kb_tensor *st_probe = stem ? kb_model_find(probe, stem) : NULL;
    bool stem_is_linear = st_probe && st_probe->ndim == 2;
    struct kb_safetensors st;
    if (kb_st_open(&st, weights, err) < 0) {
        kb_model_free(probe);
        return -1;
    }
    int rc = 0;
    *classes = 0;
    *channels = c_hint;
    const struct kb_st_tensor *t = head ? kb_st_find(&st, head) : NULL;
    if (!head)
        rc = kb_error_set(err, "backbone %s: no linear head to read the class count from",
                          plugin->name);
    else if (!t || t->ndim < 1 || t->shape[0] < 1)
        rc = kb_error_set(err, "%s: no tensor '%s' (the %s head) to read the class count from",
                          weights, head, plugin->name);
    else
        *classes = t->shape[0];
    const struct kb_st_tensor *s = (rc == 0 && stem) ? kb_st_find(&st, stem) : NULL;
    if (rc == 0 && s && s->ndim >= 2) {
        if (stem_is_linear) {
            int64_t hw = h * w;
            if (s->shape[1] % hw == 0)
                *channels = s->shape[1] / hw;
        } else {
            *channels = s->shape[1];
        }
    }
    kb_st_close(&st);
    kb_model_free(probe);
    return rc;
}

static int run_forward(const struct opts *o, const struct kb_plugin *plugin,
                       const struct kb_params *params, struct kb_error *err)
{
    struct kb_safetensors in;
    if (kb_st_open(&in, o->input, err) < 0)
        return -1;
    const struct kb_st_tensor *t = kb_st_find(&in, "input");
    if (!t || t->ndim != 4) {
        kb_error_set(err, "%s: expected a tensor 'input' of shape (N,C,H,W)%s", o->input,
                     t ? ", found another rank" : "");
        kb_st_close(&in);
        return -1;
    }
    int64_t n = t->shape[0], c = t->shape[1], h = t->shape[2], w = t->shape[3];
    if (n < 1 || c < 1 || h < 1 || w < 1) {
        kb_error_set(err, "%s: tensor 'input' has an empty shape", o->input);
        kb_st_close(&in);
        return -1;
    }
    float *x = malloc(t->numel * sizeof *x);
    if (!x) {
        kb_st_close(&in);
        return kb_error_set(err, "%s: out of memory for %zu floats", o->input, t->numel);
    }
    if (kb_st_read_f32(&in, t, x, t->numel, err) < 0) {
        free(x);
        kb_st_close(&in);
        return -1;
    }
    kb_st_close(&in);
    int64_t classes, channels;
    if (infer_from_weights(plugin, params, o->weights, h, w, c, &classes, &channels, err) < 0) {
        free(x);
        return -1;
    }
    if (channels != c) {
        free(x);
        return kb_error_set(err, "%s: input has %lld channels but the weights %s expect %lld",
                            o->input, (long long)c, o->weights, (long long)channels);
    }
    struct kb_model *m;
    if (kb_model_build(&m, plugin, params, c, h, w, classes, err) < 0) {
        free(x);
        return -1;
    }
    if (o->verbose)
        kb_model_print(m, stderr);
    int rc = kb_model_load(m, o->weights, NULL, err);
    const float *logits = NULL;
    if (rc == 0) {
        logits = kb_model_forward(m, x, n, o->train_mode);
        if (!logits)
            rc = kb_error_set(err, "out of memory running %s on %lld images", plugin->name,
                              (long long)n);
    }
    if (rc == 0)
        rc = write_logits(o->output, logits, n, classes, err);
    kb_model_free(m);
    free(x);
    return rc;
}

static int run_save(const struct opts *o, const struct kb_plugin *plugin,
                    const struct kb_params *params, struct kb_error *err)
{
    int64_t shape[3];
    if (parse_shape(o->in_shape, shape) < 0)
        return kb_error_set(err, "--in-shape '%s': expected C,H,W (positive integers)",
                            o->in_shape);
    struct kb_model *m;
    if (kb_model_build(&m, plugin, params, shape[0], shape[1], shape[2], o->classes, err) < 0)
        return -1;
    kb_model_init(m, (uint64_t)o->seed);
    if (o->verbose)
        kb_model_print(m, stderr);
    int rc = kb_model_save(m, o->save_weights, err);
    kb_model_free(m);
    return rc;
}

int kb_cmd_forward(int argc, char **argv)
{
    struct opts o = {0};
    o.sets = calloc((size_t)argc + 1, sizeof *o.sets);
    o.dirs = calloc((size_t)argc + 1, sizeof *o.dirs);
    if (!o.sets || !o.dirs) {
        free(o.sets);
        free(o.dirs);
        return fail("out of memory");
    }
    int status = 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define TAKE(flag, dst) if (!strcmp(a, flag) && v) { dst = v; i++; continue; }
        TAKE("--backbone", o.backbone)
        TAKE("--weights", o.weights)
        TAKE("--input", o.input)
        TAKE("--output", o.output)
        TAKE("--save-weights", o.save_weights)
        TAKE("--in-shape", o.in_shape)
#undef TAKE
        if (!strcmp(a, "--set") && v) {
            o.sets[o.n_sets++] = v;
            i++;
        } else if (!strcmp(a, "--plugin-path") && v) {
            o.dirs[o.n_dirs++] = v;
            i++;
        } else if (!strcmp(a, "--classes") && v) {
            if (parse_i64(v, &o.classes) < 0 || o.classes < 1) {
                fprintf(stderr, "keybench forward: --classes '%s': expected a positive integer\n", v);
                goto out;
            }
            o.have_classes = true;
            i++;
        } else if (!strcmp(a, "--init-seed") && v) {
            if (parse_i64(v, &o.seed) < 0 || o.seed < 0) {
                fprintf(stderr, "keybench forward: --init-seed '%s': expected a non-negative "
                        "integer\n", v);
                goto out;
            }
            i++;
        } else if (!strcmp(a, "--train-mode")) {
            o.train_mode = true;
        } else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
            o.verbose = true;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            status = 0;
            goto out;
        } else {
            fprintf(stderr, "keybench forward: unexpected argument '%s'%s\n", a,
                    a[0] == '-' && !v ? " (missing value?)" : "");
            usage(stderr);
            goto out;
        }
    }
    bool save_mode = o.save_weights != NULL;
    if (!o.backbone) {
        fprintf(stderr, "keybench forward: --backbone NAME is required\n");
        goto out;
    }
    if (save_mode && (!o.in_shape || !o.have_classes || o.weights || o.input || o.output)) {
        fprintf(stderr, "keybench forward: --save-weights needs --in-shape C,H,W and --classes K "
                "(and no --weights/--input/--output)\n");
        goto out;
    }
    if (!save_mode && (!o.weights || !o.input || !o.output)) {
        fprintf(stderr, "keybench forward: needs --weights, --input and --output (or "
                "--save-weights with --in-shape and --classes)\n");
        goto out;
    }
    if (!save_mode && (o.in_shape || o.have_classes)) {
        fprintf(stderr, "keybench forward: --in-shape and --classes only go with --save-weights "
                "(the weights and input give them)\n");
        goto out;
    }
    struct kb_error err = {0};
    struct kb_registry *reg = NULL;
    struct kb_params *params = NULL;
    const struct kb_plugin *plugin;
    status = 1;
    if (kb_registry_open(&reg, o.dirs, o.n_dirs, &err) < 0 ||
        resolve(&o, reg, &plugin, &params, &err) < 0 ||
        (save_mode ? run_save(&o, plugin, params, &err) : run_forward(&o, plugin, params, &err)) < 0) {
        fprintf(stderr, "keybench forward: %s\n", err.msg);
    } else {
        status = 0;
    }
    kb_params_free(params);
    kb_registry_free(reg);
out:
    free(o.sets);
    free(o.dirs);
    return status;
}

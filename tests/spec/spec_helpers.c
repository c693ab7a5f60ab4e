/* tests/spec/spec_helpers.c — fake plugins and fixtures for the spec tests. */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <keybench/plugin.h>
#include "spec_helpers.h"

static int t_create(void **state, const struct kb_params *p, const struct kb_image_shape *s,
                    struct kb_error *err)
{
    (void)p; (void)s; (void)err;
    *state = NULL;
    return 0;
}
static void t_destroy(void *state) { (void)state; }
static size_t t_size(const void *state) { (void)state; return 1; }
static double t_bits(const void *state) { (void)state; return 1.0; }
static void t_make(const void *state, void *key, const uint8_t secret[32])
{
    (void)state; (void)key; (void)secret;
}
static void t_mutate(const void *state, void *key, struct kb_rng *rng)
{
    (void)state; (void)key; (void)rng;
}
static double t_agree(const void *state, const void *a, const void *b)
{
    (void)state; (void)a; (void)b;
    return 1.0;
}
static void t_enc(const void *state, const void *key, float *out, const uint8_t *in, size_t n)
{
    (void)state; (void)key; (void)out; (void)in; (void)n;
}
static void t_dec(const void *state, const void *key, uint8_t *out, const float *in, size_t n)
{
    (void)state; (void)key; (void)out; (void)in; (void)n;
}
static const struct kb_transform_ops tops = {
    .struct_size = sizeof tops, .create = t_create, .destroy = t_destroy, .key_size = t_size,
    .keyspace_bits = t_bits, .key_length = t_size, .key_make = t_make, .key_mutate = t_mutate,
    .key_agreement = t_agree, .encrypt = t_enc, .decrypt = t_dec,
};
static int b_build(struct kb_model *m, const struct kb_params *p, int64_t classes,
                   struct kb_error *err)
{
    (void)m; (void)p; (void)classes; (void)err;
    return -1;
}
static const struct kb_backbone_ops bops = { .struct_size = sizeof bops, .build = b_build };
static int a_run(struct kb_attack *a, const struct kb_params *p, struct kb_error *e)
{
    (void)a, (void)p, (void)e;
    return 0;
}
static const struct kb_attack_ops aops = { .struct_size = sizeof aops, .run = a_run };

static const struct kb_param ps_params[] = {
    { "block_size", KB_PARAM_INT, "4", 1, 1024, NULL, "block side" },
    { NULL, 0, NULL, 0, 0, NULL, NULL }
};
static const struct kb_param np_params[] = {
    { "block_size", KB_PARAM_INT, "4", 1, 1024, NULL, "block side" },
    { "bits", KB_PARAM_CHOICE, "fixed", 0, 0, "fixed|uniform", "how bits are drawn" },
    { NULL, 0, NULL, 0, 0, NULL, NULL }
};
static const struct kb_param ffx_params[] = {
    { "block_size", KB_PARAM_INT, "4", 1, 1024, NULL, "block side" },
    { "password", KB_PARAM_STRING, NULL, 0, 0, NULL, "FFX password" },
    { NULL, 0, NULL, 0, 0, NULL, NULL }
};
static const struct kb_param cnn_params[] = {
    { "width", KB_PARAM_INT, "32", 1, 4096, NULL, "channels" },
    { "dropout", KB_PARAM_FLOAT, "0", 0, 1, NULL, "dropout rate" },
    { NULL, 0, NULL, 0, 0, NULL, NULL }
};
static const struct kb_param mlp_params[] = {
    { "hidden", KB_PARAM_INT, "128", 1, 65536, NULL, "hidden units" },
    { NULL, 0, NULL, 0, 0, NULL, NULL }
};
static const struct kb_param wk_params[] = {
    { "trials", KB_PARAM_INT, "10", 1, 1e6, NULL, "wrong keys" },
    { NULL, 0, NULL, 0, 0, NULL, NULL }
};
static const struct kb_param ke_params[] = {
    { "mode", KB_PARAM_CHOICE, "random", 0, 0, "random|heuristic", "search" },
    { "iterations", KB_PARAM_INT, "100", 1, 1e9, NULL, "keys tried" },
    { NULL, 0, NULL, 0, 0, NULL, NULL }
};

#define FAKE(var, KIND, NAME, PARAMS, OPS)                                          \
    static const struct kb_plugin var = { KB_PLUGIN_HEADER, .kind = KIND, .name = NAME, \
                                          .version = "1.0.0", .summary = "fake " NAME, \
                                          .params = PARAMS, .ops = OPS }
FAKE(p_ps, KB_KIND_TRANSFORM, "pixel_shuffle", ps_params, &tops);
FAKE(p_np, KB_KIND_TRANSFORM, "negpos", np_params, &tops);
FAKE(p_ffx, KB_KIND_TRANSFORM, "ffx", ffx_params, &tops);
FAKE(p_none, KB_KIND_TRANSFORM, "none", NULL, &tops);
FAKE(p_cnn, KB_KIND_BACKBONE, "cnn", cnn_params, &bops);
FAKE(p_mlp, KB_KIND_BACKBONE, "mlp", mlp_params, &bops);
FAKE(p_wk, KB_KIND_ATTACK, "wrong_key", wk_params, &aops);
FAKE(p_ke, KB_KIND_ATTACK, "key_estimation", ke_params, &aops);

struct kb_registry *spec_test_registry(void)
{
    static const struct kb_plugin *const all[] = { &p_ps, &p_np, &p_ffx, &p_none,
                                                   &p_cnn, &p_mlp, &p_wk, &p_ke };
    struct kb_registry *r = kb_registry_new();
    struct kb_error err = { { 0 } };
    for (size_t i = 0; r && i < sizeof all / sizeof all[0]; i++)
        if (kb_registry_add(r, all[i], "(test)", &err) < 0) {
            fprintf(stderr, "fake registry: %s\n", err.msg);
            abort();
        }
    return r;
}

static char test_dir[64];
static pid_t test_dir_owner;

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb; (void)flag; (void)ftw;
    return remove(path);
}

static void rm_test_dir(void)
{
    if (test_dir[0] && getpid() == test_dir_owner)
        nftw(test_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

const char *spec_test_dir(void)
{
    if (!test_dir[0]) {
        snprintf(test_dir, sizeof test_dir, "/tmp/kb-spec-XXXXXX");
        if (!mkdtemp(test_dir))
            abort();
        test_dir_owner = getpid();
        atexit(rm_test_dir);
    }
    return test_dir;
}

const char *spec_test_write(const char *name, const char *text)
{
    static char paths[8][512];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, 512, "%s/%s", spec_test_dir(), name);
    FILE *f = fopen(p, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0)
        abort();
    return p;
}

int spec_test_plan(struct kb_plan **plan, const char *path, const char *const *ovr, size_t n_ovr,
                   struct kb_error *err)
{
    static struct kb_registry *reg;
    if (!reg)
        reg = spec_test_registry();
    *plan = NULL;
    struct kb_spec *s = NULL;
    int rc = kb_spec_load(&s, path, ovr, n_ovr, reg, err);
    if (rc == 0)
        rc = kb_plan_expand(plan, s, err);
    kb_spec_free(s);
    return rc;
}

const char *spec_test_error_ovr(const char *name, const char *text, const char *const *ovr,
                                size_t n_ovr)
{
    static struct kb_error err;
    memset(&err, 0, sizeof err);
    const char *path = spec_test_write(name, text);
    struct kb_plan *plan = NULL;
    if (spec_test_plan(&plan, path, ovr, n_ovr, &err) == 0) {
        kb_plan_free(plan);
        return "";
    }
    return err.msg;
}

const char *spec_test_error(const char *name, const char *text)
{
    return spec_test_error_ovr(name, text, NULL, 0);
}

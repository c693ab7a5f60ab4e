/* Parity with torch.optim: 5 steps of SGD (momentum, Nesterov, weight decay),
 * Adam and AdamW on random tensors, through tests/optim/torch_optim.py and
 * Debian's python3-torch. Skips cleanly when torch is not installed. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <keybench/optim.h>
#include <keybench/rng.h>

#define STEPS 5
static const size_t sizes[] = { 37, 256, 5, 1 };
#define NT (sizeof sizes / sizeof sizes[0])
static const double mults[STEPS] = { 1.0, 0.5, 1.5, 0.25, 1.0 };

static size_t total_size(void)
{
    size_t t = 0;
    for (size_t i = 0; i < NT; i++)
        t += sizes[i];
    return t;
}

static float normal(struct kb_rng *r)
{
    double u1 = kb_rng_double(r), u2 = kb_rng_double(r);
    return (float)(sqrt(-2.0 * log(1.0 - u1)) * cos(2.0 * M_PI * u2));
}

static void write_file(const char *dir, const char *name, const void *data, size_t size)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    cr_assert(f, "cannot write %s", path);
    cr_assert_eq(fwrite(data, 1, size, f), size);
    fclose(f);
}

static const char *python(void)
{
    const char *py = getenv("KEYBENCH_PYTHON");
    return py && *py ? py : "/usr/bin/python3";
}

static bool have_torch(void)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s -c 'import torch' >/dev/null 2>&1", python());
    return system(cmd) == 0;
}

/* Runs `cfg` in C (through the public kernels, per-tensor step counts as the
 * optimizer object keeps them) and in PyTorch; compares. */
static void parity(const struct kb_optim_config *cfg, double lr, uint64_t seed)
{
    if (!have_torch())
        cr_skip_test("python3-torch is not installed (%s -c 'import torch' failed)", python());
    const char *src = getenv("KEYBENCH_SOURCE_ROOT");
    cr_assert(src, "KEYBENCH_SOURCE_ROOT is not set (run under meson test)");
    char dir[] = "/tmp/kb_optim_torch_XXXXXX";
    cr_assert(mkdtemp(dir));

    size_t total = total_size();
    float *p = malloc(total * sizeof *p), *g = malloc(STEPS * total * sizeof *g);
    float *st = calloc(2 * total, sizeof *st), *ref = malloc(total * sizeof *ref);
    cr_assert(p && g && st && ref);
    struct kb_rng r;
    kb_rng_init_seed(&r, seed, "optim-parity");
    for (size_t i = 0; i < total; i++)
        p[i] = normal(&r);
    for (size_t i = 0; i < STEPS * total; i++)
        g[i] = 0.1f * normal(&r);
    write_file(dir, "p0.f32", p, total * sizeof *p);
    write_file(dir, "g.f32", g, STEPS * total * sizeof *g);

    const char *kind = kb_optim_kind_name(cfg->kind);
    char spec[1024];
    int len = snprintf(spec, sizeof spec, "%s %.17g %.17g %d %.17g %.17g %.17g %.17g %d\n", kind, lr,
                       cfg->momentum, cfg->nesterov ? 1 : 0, cfg->weight_decay, cfg->beta1,
                       cfg->beta2, cfg->eps, STEPS);
    for (size_t i = 0; i < NT; i++)
        len += snprintf(spec + len, sizeof spec - (size_t)len, "%zu ", sizes[i]);
    len += snprintf(spec + len, sizeof spec - (size_t)len, "\n");
    for (int s = 0; s < STEPS; s++)
        len += snprintf(spec + len, sizeof spec - (size_t)len, "%.17g ", mults[s]);
    len += snprintf(spec + len, sizeof spec - (size_t)len, "\n");
    write_file(dir, "spec.txt", spec, (size_t)len);

    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s %s/tests/optim/torch_optim.py %s", python(), src, dir);
    int rc = system(cmd);
    cr_assert_eq(rc, 0, "'%s' failed (status %d)", cmd, rc);

    /* C side */
    for (int s = 0; s < STEPS; s++) {
        size_t off = 0;
        for (size_t t = 0; t < NT; t++) {
            const float *gs = g + (size_t)s * total + off;
            if (cfg->kind == KB_OPTIM_SGD)
                kb_sgd_update(p + off, st + off, gs, lr * mults[s], cfg->momentum,
                              cfg->weight_decay, cfg->nesterov, s == 0, sizes[t]);
            else
                kb_adam_update(p + off, st + 2 * off, st + 2 * off + sizes[t], gs, lr * mults[s],
                               cfg->beta1, cfg->beta2, cfg->eps, cfg->weight_decay,
                               cfg->kind == KB_OPTIM_ADAMW, s + 1, sizes[t]);
            off += sizes[t];
        }
    }

    char path[512];
    snprintf(path, sizeof path, "%s/out.f32", dir);
    FILE *f = fopen(path, "rb");
    cr_assert(f, "PyTorch wrote no %s", path);
    cr_assert_eq(fread(ref, sizeof *ref, total, f), total);
    fclose(f);

    double max_rel = 0.0, max_abs = 0.0;
    size_t worst = 0, bad = 0;
    for (size_t i = 0; i < total; i++) {
        double d = fabs((double)p[i] - (double)ref[i]);
        double rel = d / fmax(fabs((double)ref[i]), 1e-3);
        if (rel > max_rel)
            max_rel = rel, worst = i;
        if (d > max_abs)
            max_abs = d;
        if (rel > 1e-6)
            bad++;
    }
    cr_log_info("%s: max relative difference %.3g (element %zu: %.9g vs torch %.9g), max abs %.3g",
                kind, max_rel, worst, (double)p[worst], (double)ref[worst], max_abs);
    cr_assert_eq(bad, 0, "%s: %zu of %zu parameters differ from torch.optim by more than 1e-6 "
                 "relative (max %.3g at element %zu: %.9g vs %.9g)",
                 kind, bad, total, max_rel, worst, (double)p[worst], (double)ref[worst]);
    /* the parameters must have moved: an empty implementation fails here */
    kb_rng_init_seed(&r, seed, "optim-parity");
    cr_assert_neq(p[0], normal(&r));

    const char *names[] = { "p0.f32", "g.f32", "spec.txt", "out.f32" };
    for (size_t i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
    free(p), free(g), free(st), free(ref);
}

Test(optim_torch, sgd_momentum_nesterov_wd)
{
    struct kb_optim_config c = kb_optim_config_default(KB_OPTIM_SGD);
    c.momentum = 0.9;
    c.nesterov = true;
    c.weight_decay = 5e-4;
    parity(&c, 0.1, 1);
}

Test(optim_torch, sgd_momentum_wd)
{
    struct kb_optim_config c = kb_optim_config_default(KB_OPTIM_SGD);
    c.momentum = 0.9;
    c.weight_decay = 1e-2;
    parity(&c, 0.05, 2);
}

Test(optim_torch, adam_l2)
{
    struct kb_optim_config c = kb_optim_config_default(KB_OPTIM_ADAM);
    c.weight_decay = 1e-2;
    parity(&c, 1e-2, 3);
}

Test(optim_torch, adamw)
{
    struct kb_optim_config c = kb_optim_config_default(KB_OPTIM_ADAMW);
    c.weight_decay = 0.05;
    c.beta1 = 0.8;
    c.eps = 1e-6;
    parity(&c, 1e-2, 4);
}

/* A test-only attack (`pgd_layout_probe`) that checks, from inside a real
 * attack run, the harness's differentiable transform (kb_attack_transform01
 * and _vjp) for the true key, two random keys and no key, and writes what it
 * measured as metrics for test_pgd to assert on:
 *  - forward_error: max |kb_attack_transform01(x) − kb_attack_batch01| on the
 *    test images (8-bit: the two must agree up to float rounding);
 *  - adjoint_error: the map is affine (T(x) = A·x + c at copied and negated
 *    positions), so for any x, v, dy: <T(x + v) − T(x), dy> = <v, Aᵀ·dy>;
 *    the gap relative to the sum of the terms' magnitudes, worst over keys
 *    and trials (tables — FFX — break it:
 *    BPDA is an estimate, not their derivative);
 *  - adjoint_error_linear: the same gap where every transform is linear,
 *    FFX included: x on the 8-bit grid and |v| < 0.5/255 leave every table
 *    position's output unchanged (the table sees the same round(x·255)), and
 *    dy is 0 where T(x + v) − T(x) is 0, so only copied and negated outputs,
 *    with their per-value divisor (FFX: 255/max(table)), are compared;
 *  - vjp_zero_error: max |vjp(0)| (it must be exactly 0). */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <keybench/attack.h>
#include <keybench/plugin.h>

#define PROBE_IMAGES 4
#define PROBE_TRIALS 4

struct probe_buf {
    float *x, *v, *xv, *y0, *y1, *dy, *dx, *ref;
    size_t len;
};

/* <a, b>, and in *mag the sum of |a_i·b_i|: the scale of float rounding in
 * the terms (a dot product of random signs can cancel to near 0, so |<a, b>|
 * is no scale to measure a gap against). */
static double dot(const float *a, const float *b, size_t n, double *mag)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        s += (double)a[i] * (double)b[i];
        *mag += fabs((double)a[i] * (double)b[i]);
    }
    return s;
}

/* The relative gap of <T(x+v) − T(x), dy> and <v, vjp(dy)> (b->y1 holds the
 * difference). */
static double adjoint_gap(const struct probe_buf *b)
{
    double mag = 1e-12;
    double lhs = dot(b->y1, b->dy, b->len, &mag), rhs = dot(b->v, b->dx, b->len, &mag);
    return fabs(lhs - rhs) / mag;
}

static double uniform(struct kb_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * kb_rng_double(r);
}

/* One key: the forward against the transform's own output, and the adjoint. */
static int probe_key(struct kb_attack *a, const void *key, struct probe_buf *b, double *fwd,
                     double *adj, double *lin, double *zero, struct kb_error *err)
{
    struct kb_rng *r = kb_attack_rng(a);
    size_t len = b->len;
    if (kb_attack_batch01(a, b->x, NULL, KB_ATTACK_SPLIT_TEST, NULL, 0, PROBE_IMAGES, err) < 0 ||
        kb_attack_batch01(a, b->ref, NULL, KB_ATTACK_SPLIT_TEST, key, 0, PROBE_IMAGES, err) < 0 ||
        kb_attack_transform01(a, key, b->y0, b->x, PROBE_IMAGES, err) < 0)
        return -1;
    for (size_t i = 0; i < len; i++)
        *fwd = fmax(*fwd, fabs((double)b->y0[i] - (double)b->ref[i]));
    for (int t = 0; t < PROBE_TRIALS; t++) {
        for (size_t i = 0; i < len; i++) {
            b->x[i] = (float)uniform(r, 0, 1);
            b->v[i] = (float)uniform(r, -0.1, 0.1);
            b->xv[i] = b->x[i] + b->v[i];
            b->dy[i] = (float)uniform(r, -1, 1);
        }
        if (kb_attack_transform01(a, key, b->y0, b->x, PROBE_IMAGES, err) < 0 ||
            kb_attack_transform01(a, key, b->y1, b->xv, PROBE_IMAGES, err) < 0 ||
            kb_attack_transform01_vjp(a, key, b->dx, b->dy, PROBE_IMAGES, err) < 0)
            return -1;
        for (size_t i = 0; i < len; i++)
            b->y1[i] -= b->y0[i];
        *adj = fmax(*adj, adjoint_gap(b));
    }
    for (int t = 0; t < PROBE_TRIALS; t++) {
        for (size_t i = 0; i < len; i++) {
            b->x[i] = (float)(kb_rng_uniform(r, 256) / 255.0);
            b->xv[i] = b->x[i] + (float)(uniform(r, 0.1, 0.4) / 255.0 *
                                         (kb_rng_uniform(r, 2) ? 1 : -1));
            b->v[i] = b->xv[i] - b->x[i];   /* exact: the step x + v really took */
        }
        if (kb_attack_transform01(a, key, b->y0, b->x, PROBE_IMAGES, err) < 0 ||
            kb_attack_transform01(a, key, b->y1, b->xv, PROBE_IMAGES, err) < 0)
            return -1;
        for (size_t i = 0; i < len; i++) {
            b->y1[i] -= b->y0[i];
            b->dy[i] = b->y1[i] != 0.0f ? (float)uniform(r, -1, 1) : 0.0f;
        }
        if (kb_attack_transform01_vjp(a, key, b->dx, b->dy, PROBE_IMAGES, err) < 0)
            return -1;
        *lin = fmax(*lin, adjoint_gap(b));
    }
    memset(b->dy, 0, len * sizeof *b->dy);
    if (kb_attack_transform01_vjp(a, key, b->dx, b->dy, PROBE_IMAGES, err) < 0)
        return -1;
    for (size_t i = 0; i < len; i++)
        *zero = fmax(*zero, fabs((double)b->dx[i]));
    return 0;
}

static int probe_run(struct kb_attack *a, const struct kb_params *params, struct kb_error *err)
{
    (void)params;
    uint32_t h, w, c;
    kb_attack_shape(a, &h, &w, &c, NULL);
    struct probe_buf b = { .len = (size_t)PROBE_IMAGES * h * w * c };
    float **all[] = { &b.x, &b.v, &b.xv, &b.y0, &b.y1, &b.dy, &b.dx, &b.ref };
    int rc = 0;
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        if (!(*all[i] = malloc(b.len * sizeof **all[i])))
            rc = kb_error_set(err, "pgd_layout_probe: out of memory");
    void *k1 = kb_attack_key_new(a), *k2 = kb_attack_key_new(a);
    const void *keys[] = { KB_ATTACK_TRUE_KEY, k1, k2, NULL };
    double fwd = 0, adj = 0, lin = 0, zero = 0;
    for (size_t i = 0; rc == 0 && i < sizeof keys / sizeof *keys; i++)
        rc = probe_key(a, keys[i], &b, &fwd, &adj, &lin, &zero, err);
    char extra[128];
    snprintf(extra, sizeof extra, "{\"probed\": \"%s\"}", kb_attack_transform_plugin(a)->name);
    if (rc == 0)
        rc = kb_attack_metric(a, "forward_error", fwd, 0, extra, err);
    if (rc == 0)
        rc = kb_attack_metric(a, "adjoint_error", adj, 0, extra, err);
    if (rc == 0)
        rc = kb_attack_metric(a, "adjoint_error_linear", lin, 0, extra, err);
    if (rc == 0)
        rc = kb_attack_metric(a, "vjp_zero_error", zero, 0, extra, err);
    kb_attack_key_free(a, k1);
    kb_attack_key_free(a, k2);
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        free(*all[i]);
    return rc;
}

/* The table of an attack built before `check` was appended: loading it
 * checks that such plugins still load (and KB_ATTACK_HAS keeps the harness
 * from reading past it). */
static const struct kb_attack_ops probe_ops = {
    .struct_size = offsetof(struct kb_attack_ops, check),
    .run = probe_run,
};

static const struct kb_plugin probe_plugin = {
    KB_PLUGIN_HEADER,
    .kind = KB_KIND_ATTACK,
    .name = "pgd_layout_probe",
    .version = "1.0.0",
    .summary = "test only: checks kb_attack_transform01 and its vjp from inside an attack",
    .caps = KB_ATTACK_NEEDS_INPUT_GRAD,
    .ops = &probe_ops,
};

KB_PLUGIN_ENTRY(&probe_plugin)

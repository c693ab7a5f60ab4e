/* keybench bench — training and inference throughput of a backbone on
 * synthetic data, measured exactly as ../shared/bench/torch_reference.py
 * measures PyTorch:
 *   train: zero_grad, forward (batch statistics), softmax cross-entropy,
 *          backward, SGD step (lr 0.01, momentum 0.9);
 *   infer: eval-mode forward.
 * Images/s per iteration = batch / seconds; median, min and max over the timed
 * iterations after the warm-up ones. Achieved GFLOP/s counts conv + linear
 * multiply-accumulates × 2 (forward) and × 6 for a training step (forward,
 * grad wrt input, grad wrt weights), as the reference does. The same run
 * times every convolution of the model alone (forward; forward + backward)
 * to give the convolutions' own GFLOP/s, and cblas_sgemm on a 1024² square
 * with the same thread count, so both can be read as a fraction of it.
 * Peak RSS is ru_maxrss at the end of each mode (before the sgemm probe). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <cblas.h>
#include <jansson.h>

#include <keybench/model.h>
#include <keybench/nn.h>
#include <keybench/optim.h>
#include <keybench/registry.h>
#include <keybench/rng.h>
#include "commands.h"

#define MAX_SETS 32
#define MAX_CONVS 512

static void usage(FILE *f)
{
    fprintf(f,
            "usage: keybench bench [--backbone NAME] [--in-shape C,H,W] [--classes K] [--batch N]\n"
            "                      [--threads T] [--steps N] [--warmup W] [--max-seconds S]\n"
            "                      [--mode train|infer|both] [--set KEY=VALUE]... [--json]\n"
            "                      [--no-layers] [--no-sgemm] [-v]\n\n"
            "Throughput of a backbone on synthetic data (random images and labels), timed\n"
            "as ../shared/bench/torch_reference.py times PyTorch. Prints images/s (median,\n"
            "min, max over the timed steps), ms/iter, achieved GFLOP/s, peak RSS, the\n"
            "convolutions' own GFLOP/s and cblas_sgemm's on a 1024x1024 square.\n\n"
            "  --backbone NAME     backbone plugin (default resnet20)\n"
            "  --in-shape C,H,W    input shape (default 1,28,28)\n"
            "  --classes K         classes (default 10)\n"
            "  --batch N           batch size (default 128)\n"
            "  --threads T         engine threads (default 2)\n"
            "  --steps N           timed steps per mode (default 10)\n"
            "  --warmup W          untimed steps first (default 3)\n"
            "  --max-seconds S     stop timing a mode after S seconds (>= 3 steps; default 40)\n"
            "  --mode MODE         train, infer or both (default both)\n"
            "  --set KEY=VALUE     backbone parameter (repeatable)\n"
            "  --json              one JSON object on stdout\n"
            "  --no-layers         skip the per-convolution timing\n"
            "  --no-sgemm          skip the cblas_sgemm probe\n"
            "  -v                  print the layers and each convolution's own timing (stderr)\n");
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double peak_rss_mib(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) < 0)
        return NAN;
    return (double)ru.ru_maxrss / 1024.0;   /* Linux: KiB */
}

static int parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int parse_shape(const char *s, int64_t out[3])
{
    char buf[64];
    if (strlen(s) >= sizeof buf)
        return -1;
    strcpy(buf, s);
    char *save = NULL, *tok = strtok_r(buf, ",x", &save);
    for (int i = 0; i < 3; i++) {
        if (!tok || parse_i64(tok, 1, 65536, &out[i]) < 0)
            return -1;
        tok = strtok_r(NULL, ",x", &save);
    }
    return tok ? -1 : 0;
}

/* ------------------------------------------------------------------ FLOPs and conv shapes */

/* One convolution of the model, as read from kb_model_print's line. */
struct conv_layer {
    char name[96];
    struct kb_conv2d_shape s;     /* n filled later */
    bool bias;
    uint64_t macs;                /* per image */
    double fwd_s, train_s;        /* measured by time_convs, per call at the bench batch */
};

struct model_cost {
    uint64_t conv_macs, linear_macs;   /* per image, forward */
    struct conv_layer *convs;
    size_t n_convs;
};

/* "C[xHxW]" -> dims; returns how many (1 or 3). */
static int parse_dims(const char *s, int64_t d[3])
{
    long long a, b, c;
    if (sscanf(s, "%lldx%lldx%lld", &a, &b, &c) == 3) {
        d[0] = a, d[1] = b, d[2] = c;
        return 3;
    }
    if (sscanf(s, "%lld", &a) == 1) {
        d[0] = a, d[1] = d[2] = 1;
        return 1;
    }
    return 0;
}

/* Per-image conv and linear MACs from the layer list (kb_model_print: "NAME
 * DESC  IN -> OUT  [P params]") and the weight tensors: a conv's MACs are its
 * weight's numel × P·Q, a linear layer's its weight's numel. Conv lines also
 * give kernel/stride/pad/groups for the per-layer timing. */
static int model_cost(struct model_cost *c, struct kb_model *m)
{
    memset(c, 0, sizeof *c);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return -1;
    kb_model_print(m, f);
    fclose(f);
    c->convs = calloc(MAX_CONVS, sizeof *c->convs);
    if (!c->convs) {
        free(text);
        return -1;
    }
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char name[96];
        if (sscanf(line, "%95s", name) != 1)
            continue;
        char *arrow = strstr(line, " -> ");
        if (!arrow)
            continue;
        char *in = arrow;
        while (in > line && in[-1] != ' ')
            in--;
        int64_t din[3], dout[3];
        int nin = parse_dims(in, din), nout = parse_dims(arrow + 4, dout);
        char wname[128];
        snprintf(wname, sizeof wname, "%s.weight", name);
        const struct kb_tensor *w = kb_model_find(m, wname);
        if (!w || !nin || !nout)
            continue;
        const char *desc = line + strlen(name);
        while (*desc == ' ')
            desc++;
        if (w->ndim == 4 && !strncmp(desc, "conv ", 5)) {
            uint64_t macs = (uint64_t)w->numel * (uint64_t)(dout[1] * dout[2]);
            c->conv_macs += macs;
            if (c->n_convs < MAX_CONVS) {
                struct conv_layer *L = &c->convs[c->n_convs++];
                long long r, s2, st, pad, g = 1;
                if (sscanf(desc, "conv %lldx%lld/%lld pad %lld g%lld", &r, &s2, &st, &pad, &g) < 4) {
                    c->n_convs--;
                    continue;
                }
                snprintf(L->name, sizeof L->name, "%s", name);
                L->s = (struct kb_conv2d_shape){ .n = 1, .c = din[0], .h = din[1], .w = din[2],
                                                 .k = dout[0], .r = r, .s = s2, .stride = st,
                                                 .pad = pad, .groups = g };
                char bname[128];
                snprintf(bname, sizeof bname, "%s.bias", name);
                L->bias = kb_model_find(m, bname) != NULL;
                L->macs = macs;
            }
        } else if (w->ndim == 2) {
            c->linear_macs += (uint64_t)w->numel;
        }
    }
    free(text);
    return 0;
}

/* ------------------------------------------------------------------ timing */

struct timing {
    bool done;
    int64_t iters;
    double med, min, max;      /* images/s */
    double ms_median;
    double gflops;             /* achieved, conv+linear */
    double rss_mib;
    double loss;
};

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void summarize(struct timing *t, double *ips, int64_t n, int64_t batch,
                      double flop_per_img)
{
    qsort(ips, (size_t)n, sizeof *ips, cmp_double);
    t->done = true;
    t->iters = n;
    t->min = ips[0];
    t->max = ips[n - 1];
    t->med = n % 2 ? ips[n / 2] : 0.5 * (ips[n / 2 - 1] + ips[n / 2]);
    t->ms_median = 1000.0 * (double)batch / t->med;
    t->gflops = t->med * flop_per_img / 1e9;
}

struct bench_opts {
    int64_t batch, steps, warmup;
    double max_seconds;
};

static int run_mode(struct timing *t, struct kb_model *m, struct kb_optim *opt, const float *x,
                    const int32_t *y, const struct bench_opts *o, bool train,
                    double flop_per_img)
{
    double *ips = calloc((size_t)o->steps, sizeof *ips);
    if (!ips)
        return -1;
    int64_t n = 0;
    double t_start = 0;
    for (int64_t i = 0; i < o->warmup + o->steps; i++) {
        if (i == o->warmup)
            t_start = now_s();
        double t0 = now_s();
        if (train) {
            kb_model_zero_grad(m);
            kb_model_forward(m, x, o->batch, true);
            t->loss = kb_model_loss(m, y, 0.0f);
            kb_model_backward(m, NULL, NULL);
            kb_optim_step(opt, 0.01);
        } else {
            kb_model_forward(m, x, o->batch, false);
        }
        double dt = now_s() - t0;
        if (i >= o->warmup) {
            ips[n++] = (double)o->batch / dt;
            if (now_s() - t_start > o->max_seconds && n >= 3)
                break;
        }
    }
    summarize(t, ips, n, o->batch, flop_per_img);
    t->rss_mib = peak_rss_mib();
    free(ips);
    return 0;
}

/* Time every convolution alone at the model's batch: forward (infer), and
 * forward + backward with all three gradients (train). Returns the summed
 * seconds per call in fwd_s / train_s. */
struct conv_timing {
    double fwd_s, train_s;
};

static int time_convs(struct conv_timing *ct, struct model_cost *c, int64_t batch, int reps,
                      bool train)
{
    memset(ct, 0, sizeof *ct);
    struct kb_rng r;
    kb_rng_init_seed(&r, 7, "bench-conv");
    for (size_t i = 0; i < c->n_convs; i++) {
        struct kb_conv2d_shape s = c->convs[i].s;
        s.n = batch;
        struct kb_error err = {0};
        if (kb_conv2d_shape_finish(&s, &err) < 0)
            return -1;
        size_t nin = (size_t)(s.n * s.c * s.h * s.w), nout = (size_t)(s.n * s.k * s.p * s.q);
        size_t nw = (size_t)(s.k * (s.c / s.groups) * s.r * s.s);
        size_t nws = kb_conv2d_workspace(&s);
        float *in = malloc(nin * sizeof *in), *out = malloc(nout * sizeof *out);
        float *w = malloc(nw * sizeof *w), *ws = malloc((nws ? nws : 1) * sizeof *ws);
        float *din = train ? malloc(nin * sizeof *din) : NULL;
        float *dw = train ? calloc(nw, sizeof *dw) : NULL;
        float *db = train ? calloc((size_t)s.k, sizeof *db) : NULL;
        float *bias = c->convs[i].bias ? calloc((size_t)s.k, sizeof *bias) : NULL;
        bool ok = in && out && w && ws && (!train || (din && dw && db)) &&
                  (!c->convs[i].bias || bias);
        if (ok) {
            for (size_t j = 0; j < nin; j++)
                in[j] = (float)kb_rng_double(&r) - 0.5f;
            for (size_t j = 0; j < nw; j++)
                w[j] = (float)kb_rng_double(&r) - 0.5f;
            for (int k = 0; k <= reps; k++) {       /* first call warms up */
                double t0 = now_s();
                kb_conv2d_forward(out, ws, in, w, bias, &s);
                double t1 = now_s();
                if (train) {
                    memset(din, 0, nin * sizeof *din);
                    kb_conv2d_backward(i == 0 ? NULL : din, dw, bias ? db : NULL, ws, out, in, w,
                                       &s);
                }
                double t2 = now_s();
                if (k > 0) {
                    c->convs[i].fwd_s += (t1 - t0) / reps;
                    c->convs[i].train_s += (t2 - t0) / reps;
                }
            }
        }
        free(in), free(out), free(w), free(ws), free(din), free(dw), free(db), free(bias);
        if (!ok)
            return -1;
        ct->fwd_s += c->convs[i].fwd_s;
        ct->train_s += c->convs[i].train_s;
    }
    return 0;
}

/* -v: one line per convolution with its own times and GFLOP/s. */
static void print_convs(const struct model_cost *c, int64_t batch, bool train)
{
    fprintf(stderr, "%-22s %-28s %10s %8s %10s %8s\n", "conv", "C>K RxS/stride, PxQ, G",
            "fwd ms", "GFLOP/s", train ? "fwd+bwd ms" : "", train ? "GFLOP/s" : "");
    for (size_t i = 0; i < c->n_convs; i++) {
        const struct conv_layer *L = &c->convs[i];
        char shape[64];
        struct kb_conv2d_shape s = L->s;
        struct kb_error err = {0};
        if (kb_conv2d_shape_finish(&s, &err) < 0)
            s.p = s.q = 0;
        snprintf(shape, sizeof shape, "%lld>%lld %lldx%lld/%lld, %lldx%lld, %lld", (long long)s.c,
                 (long long)s.k, (long long)s.r, (long long)s.s, (long long)s.stride,
                 (long long)s.p, (long long)s.q, (long long)s.groups);
        double f = 2.0 * (double)L->macs * (double)batch;
        fprintf(stderr, "%-22s %-28s %10.2f %8.1f", L->name, shape, 1e3 * L->fwd_s,
                L->fwd_s > 0 ? f / L->fwd_s / 1e9 : 0.0);
        if (train)
            fprintf(stderr, " %10.2f %8.1f", 1e3 * L->train_s,
                    L->train_s > 0 ? 3.0 * f / L->train_s / 1e9 : 0.0);
        fprintf(stderr, "\n");
    }
}

/* cblas_sgemm on an n×n square with `threads` OpenBLAS threads: GFLOP/s
 * (best of a few timed calls). Restores the engine's thread setting. */
static double sgemm_gflops(int n, int threads)
{
    size_t nn = (size_t)n * (size_t)n;
    float *a = malloc(nn * sizeof *a), *b = malloc(nn * sizeof *b), *c = malloc(nn * sizeof *c);
    if (!a || !b || !c) {
        free(a), free(b), free(c);
        return NAN;
    }
    for (size_t i = 0; i < nn; i++) {
        a[i] = (float)((i * 7 % 13) - 6) / 13.0f;
        b[i] = (float)((i * 5 % 11) - 5) / 11.0f;
    }
    openblas_set_num_threads(threads);
    double best = 0;
    for (int k = 0; k < 8; k++) {
        double t0 = now_s();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f,
                    c, n);
        double dt = now_s() - t0;
        double g = 2.0 * (double)nn * (double)n / dt / 1e9;
        if (k > 0 && g > best)
            best = g;
    }
    kb_nn_set_threads(threads);   /* the engine's own setting (OpenBLAS back to 1 thread) */
    free(a), free(b), free(c);
    return best;
}

/* ------------------------------------------------------------------ output */

static json_t *timing_json(const struct timing *t, double conv_gflops, double conv_s,
                           double sgemm)
{
    json_t *o = json_object();
    json_object_set_new(o, "iters_timed", json_integer(t->iters));
    json_object_set_new(o, "img_s_median", json_real(t->med));
    json_object_set_new(o, "img_s_min", json_real(t->min));
    json_object_set_new(o, "img_s_max", json_real(t->max));
    json_object_set_new(o, "ms_per_iter_median", json_real(t->ms_median));
    json_object_set_new(o, "achieved_gflop_s", json_real(t->gflops));
    json_object_set_new(o, "maxrss_mib", json_real(t->rss_mib));
    if (conv_gflops > 0) {
        json_object_set_new(o, "conv_gflop_s", json_real(conv_gflops));
        json_object_set_new(o, "conv_ms_per_iter", json_real(1e3 * conv_s));
        if (sgemm > 0)
            json_object_set_new(o, "conv_fraction_of_sgemm", json_real(conv_gflops / sgemm));
    }
    if (sgemm > 0)
        json_object_set_new(o, "achieved_fraction_of_sgemm", json_real(t->gflops / sgemm));
    return o;
}

static void print_timing(const char *mode, const struct timing *t, double conv_gflops,
                         double conv_s, double sgemm)
{
    printf("%-6s %9.1f img/s (min %.1f, max %.1f, %lld steps)  %8.2f ms/iter  %7.2f GFLOP/s",
           mode, t->med, t->min, t->max, (long long)t->iters, t->ms_median, t->gflops);
    if (sgemm > 0)
        printf(" (%.0f%% of sgemm)", 100.0 * t->gflops / sgemm);
    printf("  peak RSS %.1f MiB\n", t->rss_mib);
    if (conv_gflops > 0) {
        printf("       convolutions alone: %.2f GFLOP/s", conv_gflops);
        if (sgemm > 0)
            printf(" (%.0f%% of sgemm)", 100.0 * conv_gflops / sgemm);
        printf(", %.2f ms of the %.2f ms step\n", 1e3 * conv_s, t->ms_median);
    }
}

/* ------------------------------------------------------------------ command */

int kb_cmd_bench(int argc, char **argv)
{
    const char *backbone = "resnet20", *mode = "both";
    int64_t shape[3] = { 1, 28, 28 }, classes = 10, threads = 2;
    struct bench_opts o = { .batch = 128, .steps = 10, .warmup = 3, .max_seconds = 40.0 };
    bool json = false, layers = true, sgemm = true, verbose = false;
    const char *sets[MAX_SETS];
    size_t n_sets = 0;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool takes = true;
        int bad = 0;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--json")) {
            json = true, takes = false;
        } else if (!strcmp(a, "--no-layers")) {
            layers = false, takes = false;
        } else if (!strcmp(a, "--no-sgemm")) {
            sgemm = false, takes = false;
        } else if (!strcmp(a, "-v")) {
            verbose = true, takes = false;
        } else if (!v) {
            fprintf(stderr, "keybench bench: %s needs a value (see --help)\n", a);
            return 2;
        } else if (!strcmp(a, "--backbone")) {
            backbone = v;
        } else if (!strcmp(a, "--in-shape")) {
            bad = parse_shape(v, shape);
        } else if (!strcmp(a, "--classes")) {
            bad = parse_i64(v, 1, 1 << 20, &classes);
        } else if (!strcmp(a, "--batch")) {
            bad = parse_i64(v, 1, 1 << 20, &o.batch);
        } else if (!strcmp(a, "--threads")) {
            bad = parse_i64(v, 1, 256, &threads);
        } else if (!strcmp(a, "--steps")) {
            bad = parse_i64(v, 1, 1000000, &o.steps);
        } else if (!strcmp(a, "--warmup")) {
            bad = parse_i64(v, 0, 1000000, &o.warmup);
        } else if (!strcmp(a, "--max-seconds")) {
            char *end;
            o.max_seconds = strtod(v, &end);
            bad = (*end || end == v || !(o.max_seconds > 0)) ? -1 : 0;
        } else if (!strcmp(a, "--mode")) {
            mode = v;
            bad = strcmp(v, "train") && strcmp(v, "infer") && strcmp(v, "both") ? -1 : 0;
        } else if (!strcmp(a, "--set")) {
            if (n_sets == MAX_SETS) {
                fprintf(stderr, "keybench bench: more than %d --set options\n", MAX_SETS);
                return 2;
            }
            sets[n_sets++] = v;
        } else {
            fprintf(stderr, "keybench bench: unknown option '%s' (see --help)\n", a);
            return 2;
        }
        if (bad) {
            fprintf(stderr, "keybench bench: bad value '%s' for %s (see --help)\n", v, a);
            return 2;
        }
        if (takes)
            i++;
    }
    const int64_t in_numel = shape[0] * shape[1] * shape[2];
    if (o.batch > (int64_t)(SIZE_MAX / sizeof(float) / 4) / in_numel) {
        fprintf(stderr, "keybench bench: batch %lld of %lldx%lldx%lld images is too large\n",
                (long long)o.batch, (long long)shape[0], (long long)shape[1], (long long)shape[2]);
        return 2;
    }

    struct kb_error err = {0};
    struct kb_registry *reg = NULL;
    struct kb_params *params = NULL;
    struct kb_model *m = NULL;
    struct kb_optim *opt = NULL;
    struct model_cost cost = {0};
    float *x = NULL;
    int32_t *y = NULL;
    int rc = 1;

    if (kb_registry_open(&reg, NULL, 0, &err) < 0) {
        fprintf(stderr, "keybench bench: %s\n", err.msg);
        return 1;
    }
    const struct kb_plugin *p = kb_registry_find(reg, KB_KIND_BACKBONE, backbone);
    if (!p) {
        const char **names = NULL;
        size_t n = kb_registry_names(reg, KB_KIND_BACKBONE, &names);
        char hint[256];
        if (kb_suggest(hint, sizeof hint, backbone, names, n) > 0)
            fprintf(stderr, "keybench bench: unknown backbone '%s'; did you mean %s?\n", backbone,
                    hint);
        else
            fprintf(stderr, "keybench bench: unknown backbone '%s' (%zu backbones found; "
                    "'keybench plugins --kind backbone' lists them)\n", backbone, n);
        free(names);
        goto out;
    }
    if (kb_params_new(&params, p->params, &err) < 0) {
        fprintf(stderr, "keybench bench: backbone %s: %s\n", backbone, err.msg);
        goto out;
    }
    for (size_t i = 0; i < n_sets; i++) {
        char key[128];
        const char *eq = strchr(sets[i], '=');
        if (!eq || eq == sets[i] || (size_t)(eq - sets[i]) >= sizeof key) {
            fprintf(stderr, "keybench bench: --set '%s': expected KEY=VALUE\n", sets[i]);
            goto out;
        }
        memcpy(key, sets[i], (size_t)(eq - sets[i]));
        key[eq - sets[i]] = '\0';
        if (kb_params_set(params, key, eq + 1, &err) < 0) {
            fprintf(stderr, "keybench bench: --set %s: backbone %s: %s\n", sets[i], backbone,
                    err.msg);
            goto out;
        }
    }

    kb_nn_set_threads((int)threads);   /* before the model sizes its workspaces */
    if (kb_model_build(&m, p, params, shape[0], shape[1], shape[2], classes, &err) < 0) {
        fprintf(stderr, "keybench bench: %s\n", err.msg);
        goto out;
    }
    kb_model_init(m, 0);
    if (verbose)
        kb_model_print(m, stderr);
    if (model_cost(&cost, m) < 0) {
        fprintf(stderr, "keybench bench: out of memory\n");
        goto out;
    }
    struct kb_optim_config oc = kb_optim_config_default(KB_OPTIM_SGD);
    oc.momentum = 0.9;
    if (kb_optim_new(&opt, m, &oc, &err) < 0) {
        fprintf(stderr, "keybench bench: %s\n", err.msg);
        goto out;
    }

    /* synthetic data: N(0,1)-ish images (Box–Muller), uniform labels */
    size_t nx = (size_t)(o.batch * in_numel);
    x = malloc(nx * sizeof *x);
    y = malloc((size_t)o.batch * sizeof *y);
    if (!x || !y) {
        fprintf(stderr, "keybench bench: out of memory for a batch of %lld\n", (long long)o.batch);
        goto out;
    }
    struct kb_rng r;
    kb_rng_init_seed(&r, 0, "bench-data");
    for (size_t i = 0; i < nx; i++) {
        double u1 = kb_rng_double(&r), u2 = kb_rng_double(&r);
        x[i] = (float)(sqrt(-2.0 * log(1.0 - u1)) * cos(2.0 * M_PI * u2));
    }
    for (int64_t i = 0; i < o.batch; i++)
        y[i] = (int32_t)kb_rng_uniform(&r, (uint32_t)classes);

    const double fwd_flop = 2.0 * (double)(cost.conv_macs + cost.linear_macs);
    const double conv_flop = 2.0 * (double)cost.conv_macs;
    bool do_train = strcmp(mode, "infer") != 0, do_infer = strcmp(mode, "train") != 0;
    struct timing tt = {0}, ti = {0};
    /* train first: its peak RSS is the one to compare with PyTorch's training run */
    if (do_train && run_mode(&tt, m, opt, x, y, &o, true, 3.0 * fwd_flop) < 0)
        goto oom;
    if (do_infer && run_mode(&ti, m, opt, x, y, &o, false, fwd_flop) < 0)
        goto oom;

    struct conv_timing ct = {0};
    double conv_train = 0, conv_infer = 0;
    if (layers && cost.n_convs > 0) {
        if (time_convs(&ct, &cost, o.batch, 3, do_train) < 0)
            goto oom;
        if (do_train && ct.train_s > 0)
            conv_train = 3.0 * conv_flop * (double)o.batch / ct.train_s / 1e9;
        if (ct.fwd_s > 0)
            conv_infer = conv_flop * (double)o.batch / ct.fwd_s / 1e9;
        if (verbose)
            print_convs(&cost, o.batch, do_train);
    }
    double sg = sgemm ? sgemm_gflops(1024, (int)threads) : 0.0;

    if (json) {
        json_t *j = json_object();
        json_object_set_new(j, "keybench_version", json_string(kb_version()));
        json_object_set_new(j, "backbone", json_string(backbone));
        json_t *sh = json_array();
        for (int i = 0; i < 3; i++)
            json_array_append_new(sh, json_integer(shape[i]));
        json_object_set_new(j, "in_shape", sh);
        json_t *js = json_object();
        for (size_t i = 0; i < n_sets; i++) {
            const char *eq = strchr(sets[i], '=');
            char key[128];
            memcpy(key, sets[i], (size_t)(eq - sets[i]));
            key[eq - sets[i]] = '\0';
            json_object_set_new(js, key, json_string(eq + 1));
        }
        json_object_set_new(j, "set", js);
        json_object_set_new(j, "classes", json_integer(classes));
        json_object_set_new(j, "batch", json_integer(o.batch));
        json_object_set_new(j, "threads", json_integer(threads));
        json_object_set_new(j, "params", json_integer((json_int_t)kb_model_param_count(m)));
        json_object_set_new(j, "fwd_macs_per_img",
                            json_integer((json_int_t)(cost.conv_macs + cost.linear_macs)));
        json_object_set_new(j, "conv_macs_per_img", json_integer((json_int_t)cost.conv_macs));
        json_object_set_new(j, "linear_macs_per_img", json_integer((json_int_t)cost.linear_macs));
        json_object_set_new(j, "convs", json_integer((json_int_t)cost.n_convs));
        if (sg > 0)
            json_object_set_new(j, "sgemm_1024_gflop_s", json_real(sg));
        json_object_set_new(j, "openblas_core", json_string(openblas_get_corename()));
        json_object_set_new(j, "openblas_config", json_string(openblas_get_config()));
        if (tt.done)
            json_object_set_new(j, "train", timing_json(&tt, conv_train, ct.train_s, sg));
        if (ti.done)
            json_object_set_new(j, "infer", timing_json(&ti, conv_infer, ct.fwd_s, sg));
        char *s = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(6));
        json_decref(j);
        if (!s)
            goto oom;
        printf("%s\n", s);
        free(s);
    } else {
        printf("keybench bench: %s, input %lldx%lldx%lld, %lld classes, batch %lld, %lld threads\n",
               backbone, (long long)shape[0], (long long)shape[1], (long long)shape[2],
               (long long)classes, (long long)o.batch, (long long)threads);
        printf("%zu params, forward %.2f MFLOP/image (conv %.2f, linear %.2f), %zu convolutions\n",
               kb_model_param_count(m), fwd_flop / 1e6, conv_flop / 1e6,
               2.0 * (double)cost.linear_macs / 1e6, cost.n_convs);
        if (tt.done)
            print_timing("train", &tt, conv_train, ct.train_s, sg);
        if (ti.done)
            print_timing("infer", &ti, conv_infer, ct.fwd_s, sg);
        if (sg > 0)
            printf("cblas_sgemm 1024x1024x1024, %lld threads: %.1f GFLOP/s (OpenBLAS %s)\n",
                   (long long)threads, sg, openblas_get_corename());
    }
    rc = 0;
    goto out;
oom:
    fprintf(stderr, "keybench bench: out of memory\n");
out:
    free(x);
    free(y);
    free(cost.convs);
    kb_optim_free(opt);
    kb_model_free(m);
    kb_params_free(params);
    kb_registry_free(reg);
    return rc;
}

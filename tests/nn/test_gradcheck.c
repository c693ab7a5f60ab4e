/* Finite-difference gradient checks of every layer in keybench/nn.h, for the
 * input and parameter gradients, over several shapes (see nn_testutil.h). */
#include <keybench/nn.h>

#include "nn_testutil.h"

/* ------------------------------------------------------------------ conv2d */
struct conv_ctx {
    struct kb_conv2d_shape s;
    float *x, *w, *b, *dx, *dw, *db, *ws;
    bool ref;
};

static void conv_fwd(void *v, float *out)
{
    struct conv_ctx *c = v;
    if (c->ref)
        kb_conv2d_forward_ref(out, c->x, c->w, c->b, &c->s);
    else
        kb_conv2d_forward(out, c->ws, c->x, c->w, c->b, &c->s);
}

static void conv_bwd(void *v, const float *dout)
{
    struct conv_ctx *c = v;
    if (c->ref)
        kb_conv2d_backward_ref(c->dx, c->dw, c->db, dout, c->x, c->w, &c->s);
    else
        kb_conv2d_backward(c->dx, c->dw, c->db, c->ws, dout, c->x, c->w, &c->s);
}

struct conv_spec { int64_t n, c, h, w, k, r, s, stride, pad, groups; bool bias; };

static void check_conv(const struct conv_spec *sp, bool ref, int threads, uint64_t seed)
{
    kb_nn_set_threads(threads);
    struct conv_ctx c = { .s = { .n = sp->n, .c = sp->c, .h = sp->h, .w = sp->w, .k = sp->k,
                                 .r = sp->r, .s = sp->s, .stride = sp->stride, .pad = sp->pad,
                                 .groups = sp->groups },
                          .ref = ref };
    struct kb_error err = {0};
    cr_assert_eq(kb_conv2d_shape_finish(&c.s, &err), 0, "%s", err.msg);
    struct tu_rng rng = { seed };
    size_t nx = (size_t)(sp->n * sp->c * sp->h * sp->w);
    size_t nw = (size_t)(sp->k * (sp->c / sp->groups) * sp->r * sp->s);
    c.x = tu_alloc(nx); c.dx = tu_alloc(nx);
    c.w = tu_alloc(nw); c.dw = tu_alloc(nw);
    tu_fill(&rng, c.x, nx, -1, 1);
    tu_fill(&rng, c.w, nw, -1, 1);
    if (sp->bias) {
        c.b = tu_alloc((size_t)sp->k); c.db = tu_alloc((size_t)sp->k);
        tu_fill(&rng, c.b, (size_t)sp->k, -1, 1);
    }
    c.ws = tu_alloc(kb_conv2d_workspace(&c.s));
    char name[160];
    snprintf(name, sizeof name, "conv%s n%lld c%lld %lldx%lld k%lld %lldx%lld st%lld pad%lld g%lld%s t%d",
             ref ? "_ref" : "", (long long)sp->n, (long long)sp->c, (long long)sp->h,
             (long long)sp->w, (long long)sp->k, (long long)sp->r, (long long)sp->s,
             (long long)sp->stride, (long long)sp->pad, (long long)sp->groups,
             sp->bias ? " bias" : "", threads);
    struct tu_case tc = { .name = name, .ctx = &c, .forward = conv_fwd, .backward = conv_bwd,
                          .n_out = (size_t)(c.s.n * c.s.k * c.s.p * c.s.q), .n_tensors = 2,
                          .t = { { "inp", c.x, c.dx, nx }, { "weight", c.w, c.dw, nw } },
                          .eps = 1e-2f, .tol = 2e-3, .floor = 1e-3 };
    if (sp->bias) {
        tc.t[2].name = "bias"; tc.t[2].x = c.b; tc.t[2].grad = c.db; tc.t[2].n = (size_t)sp->k;
        tc.n_tensors = 3;
    }
    tu_gradcheck(&tc, seed + 1);
    free(c.x); free(c.dx); free(c.w); free(c.dw); free(c.b); free(c.db); free(c.ws);
}

static const struct conv_spec conv_specs[] = {
    /* n  c  h  w  k  r  s st pad g bias */
    { 2, 3, 7, 5, 4, 3, 3, 1, 1, 1, true },    /* 3x3 same, odd sizes */
    { 2, 4, 7, 5, 6, 3, 3, 2, 1, 2, false },   /* stride 2, groups 2 */
    { 3, 3, 7, 5, 4, 3, 3, 2, 0, 1, true },    /* stride 2, no padding */
    { 2, 3, 8, 6, 5, 5, 5, 1, 2, 1, true },    /* 5x5 pad 2 */
    { 1, 2, 9, 7, 3, 5, 5, 2, 0, 1, false },   /* 5x5 stride 2 valid */
    { 2, 4, 6, 7, 4, 3, 3, 1, 1, 4, true },    /* depthwise 3x3 */
    { 2, 3, 9, 8, 3, 5, 5, 2, 2, 3, false },   /* depthwise 5x5 stride 2 pad 2 */
    { 2, 4, 7, 6, 8, 5, 5, 1, 2, 2, true },    /* groups 2, 5x5 */
    { 2, 4, 5, 5, 4, 1, 1, 1, 0, 1, false },   /* 1x1 (no im2col) */
    { 2, 4, 5, 5, 6, 1, 1, 1, 0, 2, true },    /* 1x1 groups 2 */
    { 2, 4, 7, 7, 8, 1, 1, 2, 0, 1, false },   /* 1x1 stride 2 (ResNet downsample) */
    { 2, 2, 5, 7, 3, 1, 1, 1, 1, 1, true },    /* 1x1 with padding */
    { 3, 2, 4, 4, 2, 3, 3, 1, 2, 1, true },    /* pad 2 with 3x3 */
    { 2, 6, 5, 5, 6, 3, 3, 1, 1, 3, true },    /* groups 3, 2 channels per group */
    { 2, 2, 7, 5, 4, 3, 3, 2, 1, 2, false },   /* depthwise multiplier 2 (GEMM path) */
};

Test(gradcheck, conv2d_blas)
{
    for (size_t i = 0; i < sizeof conv_specs / sizeof conv_specs[0]; i++)
        check_conv(&conv_specs[i], false, 1, 100 + i);
}

Test(gradcheck, conv2d_blas_threads)
{
    for (size_t i = 0; i < sizeof conv_specs / sizeof conv_specs[0]; i++)
        check_conv(&conv_specs[i], false, 2 + (int)(i % 2), 200 + i);
}

Test(gradcheck, conv2d_ref)
{
    for (size_t i = 0; i < sizeof conv_specs / sizeof conv_specs[0]; i++)
        check_conv(&conv_specs[i], true, 1, 300 + i);
}

/* ------------------------------------------------------------------ batch norm */
struct bn_ctx {
    int64_t n, c, l;
    bool training;
    float *x, *g, *b, *dx, *dg, *db, *rm, *rv, *sm, *si;
};

static void bn_fwd(void *v, float *out)
{
    struct bn_ctx *c = v;
    kb_batchnorm_forward(out, c->sm, c->si, c->rm, c->rv, c->x, c->g, c->b, c->n, c->c, c->l,
                         0.1f, 1e-5f, c->training);
}

static void bn_bwd(void *v, const float *dout)
{
    struct bn_ctx *c = v;
    if (c->training)
        kb_batchnorm_backward(c->dx, c->dg, c->db, dout, c->x, c->g, c->sm, c->si, c->n, c->c,
                              c->l);
    else
        kb_batchnorm_backward_eval(c->dx, c->dg, c->db, dout, c->x, c->g, c->rm, c->rv, c->n,
                                   c->c, c->l, 1e-5f);
}

static void check_bn(int64_t n, int64_t ch, int64_t l, bool training, int threads, uint64_t seed)
{
    kb_nn_set_threads(threads);
    struct bn_ctx c = { .n = n, .c = ch, .l = l, .training = training };
    struct tu_rng rng = { seed };
    size_t nx = (size_t)(n * ch * l);
    c.x = tu_alloc(nx); c.dx = tu_alloc(nx);
    c.g = tu_alloc((size_t)ch); c.dg = tu_alloc((size_t)ch);
    c.b = tu_alloc((size_t)ch); c.db = tu_alloc((size_t)ch);
    c.rm = tu_alloc((size_t)ch); c.rv = tu_alloc((size_t)ch);
    c.sm = tu_alloc((size_t)ch); c.si = tu_alloc((size_t)ch);
    tu_fill(&rng, c.x, nx, -2, 2);
    tu_fill(&rng, c.g, (size_t)ch, 0.5f, 1.5f);
    tu_fill(&rng, c.b, (size_t)ch, -1, 1);
    tu_fill(&rng, c.rm, (size_t)ch, -0.5f, 0.5f);
    tu_fill(&rng, c.rv, (size_t)ch, 0.5f, 2.0f);
    char name[96];
    snprintf(name, sizeof name, "batchnorm %s n%lld c%lld l%lld t%d", training ? "train" : "eval",
             (long long)n, (long long)ch, (long long)l, threads);
    struct tu_case tc = { .name = name, .ctx = &c, .forward = bn_fwd, .backward = bn_bwd,
                          .n_out = nx, .n_tensors = 3,
                          .t = { { "inp", c.x, c.dx, nx }, { "gamma", c.g, c.dg, (size_t)ch },
                                 { "beta", c.b, c.db, (size_t)ch } },
                          .eps = 1e-2f, .tol = 1e-2, .floor = 1e-3 };
    tu_gradcheck(&tc, seed + 1);
    free(c.x); free(c.dx); free(c.g); free(c.dg); free(c.b); free(c.db);
    free(c.rm); free(c.rv); free(c.sm); free(c.si);
}

Test(gradcheck, batchnorm_train)
{
    check_bn(4, 3, 5, true, 1, 1);
    check_bn(2, 2, 9, true, 2, 2);
    check_bn(8, 3, 1, true, 1, 3);   /* BatchNorm1d on (N, C) */
}

Test(gradcheck, batchnorm_eval)
{
    check_bn(3, 3, 4, false, 1, 4);
    check_bn(2, 5, 3, false, 2, 5);
}

/* ------------------------------------------------------------------ activations */
struct act_ctx { float *x, *dx, *out; size_t n; bool gelu; };

static void act_fwd(void *v, float *out)
{
    struct act_ctx *c = v;
    if (c->gelu)
        kb_gelu_forward(out, c->x, c->n);
    else
        kb_relu_forward(out, c->x, c->n);
    memcpy(c->out, out, c->n * sizeof(float));
}

static void act_bwd(void *v, const float *dout)
{
    struct act_ctx *c = v;
    if (c->gelu)
        kb_gelu_backward(c->dx, dout, c->x, c->n);
    else
        kb_relu_backward(c->dx, dout, c->out, c->n);
}

static void check_act(bool gelu, size_t n, uint64_t seed)
{
    struct act_ctx c = { .n = n, .gelu = gelu };
    struct tu_rng rng = { seed };
    c.x = tu_alloc(n); c.dx = tu_alloc(n); c.out = tu_alloc(n);
    if (gelu)
        tu_fill(&rng, c.x, n, -4, 4);
    else
        tu_fill_away_from_zero(&rng, c.x, n, 0.05f);
    struct tu_case tc = { .name = gelu ? "gelu" : "relu", .ctx = &c, .forward = act_fwd,
                          .backward = act_bwd, .n_out = n, .n_tensors = 1,
                          .t = { { "inp", c.x, c.dx, n } }, .eps = 1e-2f, .tol = 1e-2,
                          .floor = 1e-3 };
    tu_gradcheck(&tc, seed + 1);
    free(c.x); free(c.dx); free(c.out);
}

Test(gradcheck, relu) { check_act(false, 97, 11); }
Test(gradcheck, gelu) { check_act(true, 97, 12); }

/* ------------------------------------------------------------------ pooling */
struct pool_ctx { struct kb_pool_shape s; float *x, *dx; int32_t *am; int kind; };

static void pool_fwd(void *v, float *out)
{
    struct pool_ctx *c = v;
    if (c->kind == 0)
        kb_maxpool2d_forward(out, c->am, c->x, &c->s);
    else if (c->kind == 1)
        kb_avgpool2d_forward(out, c->x, &c->s);
    else
        kb_gap_forward(out, c->x, c->s.n, c->s.c, c->s.h * c->s.w);
}

static void pool_bwd(void *v, const float *dout)
{
    struct pool_ctx *c = v;
    if (c->kind == 0)
        kb_maxpool2d_backward(c->dx, dout, c->am, &c->s);
    else if (c->kind == 1)
        kb_avgpool2d_backward(c->dx, dout, &c->s);
    else
        kb_gap_backward(c->dx, dout, c->s.n, c->s.c, c->s.h * c->s.w);
}

static void check_pool(int kind, int64_t n, int64_t ch, int64_t h, int64_t w, int64_t k,
                       int64_t st, int64_t pad, uint64_t seed)
{
    struct pool_ctx c = { .s = { .n = n, .c = ch, .h = h, .w = w, .kernel = k, .stride = st,
                                 .pad = pad },
                          .kind = kind };
    struct kb_error err = {0};
    cr_assert_eq(kb_pool_shape_finish(&c.s, &err), 0, "%s", err.msg);
    struct tu_rng rng = { seed };
    size_t nx = (size_t)(n * ch * h * w);
    size_t no = kind == 2 ? (size_t)(n * ch) : (size_t)(n * ch * c.s.p * c.s.q);
    c.x = tu_alloc(nx); c.dx = tu_alloc(nx);
    c.am = calloc(no, sizeof(int32_t));
    tu_fill_distinct(&rng, c.x, nx, 0.05f);
    static const char *names[] = { "maxpool", "avgpool", "gap" };
    struct tu_case tc = { .name = names[kind], .ctx = &c, .forward = pool_fwd,
                          .backward = pool_bwd, .n_out = no, .n_tensors = 1,
                          .t = { { "inp", c.x, c.dx, nx } }, .eps = 1e-2f, .tol = 1e-2,
                          .floor = 1e-3 };
    tu_gradcheck(&tc, seed + 1);
    free(c.x); free(c.dx); free(c.am);
}

Test(gradcheck, maxpool)
{
    check_pool(0, 2, 3, 8, 8, 2, 2, 0, 21);
    check_pool(0, 2, 2, 7, 5, 3, 2, 1, 22);   /* ResNet-18 stem pool, odd sizes */
    check_pool(0, 1, 2, 6, 6, 3, 1, 1, 23);   /* overlapping windows */
}

Test(gradcheck, avgpool)
{
    check_pool(1, 2, 3, 8, 8, 2, 2, 0, 31);
    check_pool(1, 2, 2, 7, 5, 3, 2, 1, 32);
    check_pool(1, 1, 2, 5, 6, 3, 1, 1, 33);
}

Test(gradcheck, gap) { check_pool(2, 3, 4, 5, 3, 1, 1, 0, 41); }

/* ------------------------------------------------------------------ linear */
struct lin_ctx { int64_t n, d, m; float *x, *w, *b, *dx, *dw, *db; };

static void lin_fwd(void *v, float *out)
{
    struct lin_ctx *c = v;
    kb_linear_forward(out, c->x, c->w, c->b, c->n, c->d, c->m);
}

static void lin_bwd(void *v, const float *dout)
{
    struct lin_ctx *c = v;
    kb_linear_backward(c->dx, c->dw, c->db, dout, c->x, c->w, c->n, c->d, c->m);
}

static void check_linear(int64_t n, int64_t d, int64_t m, bool bias, uint64_t seed)
{
    struct lin_ctx c = { .n = n, .d = d, .m = m };
    struct tu_rng rng = { seed };
    size_t nx = (size_t)(n * d), nw = (size_t)(m * d);
    c.x = tu_alloc(nx); c.dx = tu_alloc(nx); c.w = tu_alloc(nw); c.dw = tu_alloc(nw);
    tu_fill(&rng, c.x, nx, -1, 1);
    tu_fill(&rng, c.w, nw, -1, 1);
    struct tu_case tc = { .name = "linear", .ctx = &c, .forward = lin_fwd, .backward = lin_bwd,
                          .n_out = (size_t)(n * m), .n_tensors = 2,
                          .t = { { "inp", c.x, c.dx, nx }, { "weight", c.w, c.dw, nw } },
                          .eps = 1e-2f, .tol = 2e-3, .floor = 1e-3 };
    if (bias) {
        c.b = tu_alloc((size_t)m); c.db = tu_alloc((size_t)m);
        tu_fill(&rng, c.b, (size_t)m, -1, 1);
        tc.t[2].name = "bias"; tc.t[2].x = c.b; tc.t[2].grad = c.db; tc.t[2].n = (size_t)m;
        tc.n_tensors = 3;
    }
    tu_gradcheck(&tc, seed + 1);
    free(c.x); free(c.dx); free(c.w); free(c.dw); free(c.b); free(c.db);
}

Test(gradcheck, linear)
{
    check_linear(3, 7, 5, true, 51);
    check_linear(1, 4, 3, false, 52);
    check_linear(5, 16, 10, true, 53);
}

/* ------------------------------------------------------------------ add */
struct add_ctx { float *a, *b, *da, *db; size_t n; };

static void add_fwd(void *v, float *out)
{
    struct add_ctx *c = v;
    kb_add_forward(out, c->a, c->b, c->n);
}

static void add_bwd(void *v, const float *dout)
{
    struct add_ctx *c = v;
    kb_add_backward(c->da, c->db, dout, c->n);
}

Test(gradcheck, add)
{
    struct add_ctx c = { .n = 23 };
    struct tu_rng rng = { 61 };
    c.a = tu_alloc(c.n); c.b = tu_alloc(c.n); c.da = tu_alloc(c.n); c.db = tu_alloc(c.n);
    tu_fill(&rng, c.a, c.n, -1, 1);
    tu_fill(&rng, c.b, c.n, -1, 1);
    struct tu_case tc = { .name = "add", .ctx = &c, .forward = add_fwd, .backward = add_bwd,
                          .n_out = c.n, .n_tensors = 2,
                          .t = { { "a", c.a, c.da, c.n }, { "b", c.b, c.db, c.n } },
                          .eps = 1e-2f, .tol = 1e-3, .floor = 1e-3 };
    tu_gradcheck(&tc, 62);
    free(c.a); free(c.b); free(c.da); free(c.db);
}

/* ------------------------------------------------------------------ shortcut A */
struct sc_ctx { int64_t n, c, h, w, k, stride; float *x, *dx; };

static void sc_fwd(void *v, float *out)
{
    struct sc_ctx *c = v;
    kb_shortcut_a_forward(out, c->x, c->n, c->c, c->h, c->w, c->k, c->stride);
}

static void sc_bwd(void *v, const float *dout)
{
    struct sc_ctx *c = v;
    kb_shortcut_a_backward(c->dx, dout, c->n, c->c, c->h, c->w, c->k, c->stride);
}

static void check_shortcut(int64_t n, int64_t ch, int64_t h, int64_t w, int64_t k, int64_t st,
                           uint64_t seed)
{
    struct sc_ctx c = { n, ch, h, w, k, st, NULL, NULL };
    struct tu_rng rng = { seed };
    size_t nx = (size_t)(n * ch * h * w);
    int64_t p = (h + st - 1) / st, q = (w + st - 1) / st;
    c.x = tu_alloc(nx); c.dx = tu_alloc(nx);
    tu_fill(&rng, c.x, nx, -1, 1);
    struct tu_case tc = { .name = "shortcut_a", .ctx = &c, .forward = sc_fwd, .backward = sc_bwd,
                          .n_out = (size_t)(n * k * p * q), .n_tensors = 1,
                          .t = { { "inp", c.x, c.dx, nx } }, .eps = 1e-2f, .tol = 1e-3,
                          .floor = 1e-3 };
    tu_gradcheck(&tc, seed + 1);
    free(c.x); free(c.dx);
}

Test(gradcheck, shortcut_a)
{
    check_shortcut(2, 4, 8, 8, 8, 2, 71);
    check_shortcut(2, 3, 7, 5, 6, 2, 72);    /* odd sizes, odd pad split (1 before, 2 after) */
    check_shortcut(1, 4, 5, 5, 4, 1, 73);    /* identity */
}

/* ------------------------------------------------------------------ dropout (fixed mask) */
struct do_ctx { float *x, *dx, *mask; size_t n; float p; };

static void do_fwd(void *v, float *out)
{
    struct do_ctx *c = v;
    struct kb_rng r;
    kb_rng_init_seed(&r, 7, "dropout-test");   /* same mask every call */
    kb_dropout_forward(out, c->mask, c->x, c->n, c->p, &r);
}

static void do_bwd(void *v, const float *dout)
{
    struct do_ctx *c = v;
    kb_dropout_backward(c->dx, dout, c->mask, c->n);
}

Test(gradcheck, dropout)
{
    struct do_ctx c = { .n = 64, .p = 0.3f };
    struct tu_rng rng = { 81 };
    c.x = tu_alloc(c.n); c.dx = tu_alloc(c.n); c.mask = tu_alloc(c.n);
    tu_fill(&rng, c.x, c.n, -1, 1);
    struct tu_case tc = { .name = "dropout", .ctx = &c, .forward = do_fwd, .backward = do_bwd,
                          .n_out = c.n, .n_tensors = 1, .t = { { "inp", c.x, c.dx, c.n } },
                          .eps = 1e-2f, .tol = 1e-3, .floor = 1e-3 };
    tu_gradcheck(&tc, 82);
    size_t dropped = 0;
    for (size_t i = 0; i < c.n; i++) {
        cr_assert(c.mask[i] == 0.0f || fabsf(c.mask[i] - 1.0f / 0.7f) < 1e-6f);
        dropped += c.mask[i] == 0.0f;
    }
    cr_assert(dropped > 5 && dropped < 40, "dropped %zu of 64 at p = 0.3", dropped);
    free(c.x); free(c.dx); free(c.mask);
}

/* ------------------------------------------------------------------ softmax cross-entropy */
struct ce_ctx { int64_t n, m; float *x, *dx, *probs; int32_t *y; float smooth; };

static void ce_fwd(void *v, float *out)
{
    struct ce_ctx *c = v;
    out[0] = (float)kb_softmax_xent_forward(c->probs, c->x, c->y, c->n, c->m, c->smooth);
}

static void ce_bwd(void *v, const float *dout)
{
    struct ce_ctx *c = v;
    /* the loss is the output: scale dlogits by dL/dloss = dout[0] */
    float *tmp = tu_alloc((size_t)(c->n * c->m));
    kb_softmax_xent_backward(tmp, c->probs, c->y, c->n, c->m, c->smooth);
    for (int64_t i = 0; i < c->n * c->m; i++)
        c->dx[i] += dout[0] * tmp[i];
    free(tmp);
}

static void check_ce(int64_t n, int64_t m, float smooth, uint64_t seed)
{
    struct ce_ctx c = { .n = n, .m = m, .smooth = smooth };
    struct tu_rng rng = { seed };
    size_t nx = (size_t)(n * m);
    c.x = tu_alloc(nx); c.dx = tu_alloc(nx); c.probs = tu_alloc(nx);
    c.y = calloc((size_t)n, sizeof(int32_t));
    tu_fill(&rng, c.x, nx, -3, 3);
    for (int64_t i = 0; i < n; i++)
        c.y[i] = (int32_t)(tu_next(&rng) % (uint64_t)m);
    struct tu_case tc = { .name = smooth > 0 ? "softmax_xent smoothing" : "softmax_xent",
                          .ctx = &c, .forward = ce_fwd, .backward = ce_bwd, .n_out = 1,
                          .n_tensors = 1, .t = { { "logits", c.x, c.dx, nx } }, .eps = 1e-2f,
                          .tol = 1e-2, .floor = 1e-3 };
    tu_gradcheck(&tc, seed + 1);
    free(c.x); free(c.dx); free(c.probs); free(c.y);
}

Test(gradcheck, softmax_xent)
{
    check_ce(4, 5, 0.0f, 91);
    check_ce(3, 10, 0.1f, 92);
    check_ce(1, 2, 0.3f, 93);
}

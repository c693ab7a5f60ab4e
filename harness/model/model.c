/* model.c — a network as a static graph of nn.h layers (keybench/model.h).
 *
 * Nodes are kept in build order; node 0 is the input. Each node has an
 * activation buffer (N × per-image size, grown on demand when a bigger batch
 * comes) and an activation-gradient buffer allocated at the first backward.
 * Parameters live in ONE contiguous allocation carved into named tensors
 * (trainable tensors first, in build order, then the buffers: running stats and
 * num_batches_tracked); gradients in a second allocation with the same offsets
 * for the trainable part.
 *
 * Activation gradients share a few buffers ("slots") assigned by liveness
 * at kb_model_finish (plan_grad_slots).
 *
 * In place: a ReLU or an add may write into its (first) input's buffer when
 * that input has no other consumer and its own backward does not need its
 * output (everything but ReLU); this halves the activation memory of ResNets.
 * Backward walks the nodes in reverse, each node accumulating into its
 * inputs' gradient buffers, so a node used twice (a residual) sums both.
 */
#include <fnmatch.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <keybench/model.h>
#include <keybench/nn.h>
#include <keybench/rng.h>
#include <keybench/safetensors.h>

enum op {
    OP_INPUT, OP_CONV, OP_BN, OP_RELU, OP_GELU, OP_MAXPOOL, OP_AVGPOOL, OP_GAP, OP_FLATTEN,
    OP_LINEAR, OP_ADD, OP_SHORTCUT_A, OP_DROPOUT
};

static const char *const op_names[] = {
    "input", "conv", "batchnorm", "relu", "gelu", "maxpool", "avgpool", "gap", "flatten",
    "linear", "add", "shortcut_a", "dropout"
};

#define NO_TENSOR (-1)

struct node {
    enum op op;
    char *name;              /* layer name (conv, bn, linear) or NULL */
    int in[2];               /* input node ids (-1: none) */
    int64_t c, h, w;         /* output per image; flat nodes have h = w = 1 */
    bool flat;               /* output is (N, C) */
    /* op parameters */
    int64_t kernel, stride, pad, groups;
    bool bias;
    float p;                 /* dropout */
    int t_weight, t_bias, t_rmean, t_rvar, t_nbt;   /* tensor indices or NO_TENSOR */
    /* graph analysis (kb_model_finish) */
    int consumers;
    int inplace_of;          /* node whose buffer this node writes into, or -1 */
    int grad_slot;           /* which shared gradient buffer holds dout */
    bool zero_in[2];         /* zero in[k]'s dout before this node's backward */
    /* runtime */
    float *out;              /* (N, c, h, w); borrowed when inplace_of >= 0 */
    float *dout;             /* (N, c, h, w); borrowed from a gradient slot */
    float *aux;              /* bn: save_mean, save_invstd (2c); dropout: mask (N·c·h·w) */
    int32_t *argmax;         /* maxpool (N, c, h, w) */
};

struct kb_model {
    struct node *nodes;
    size_t n_nodes, cap_nodes;
    struct kb_tensor *tensors;
    size_t n_tensors, cap_tensors;
    char **tensor_names;     /* owned names (tensors[i].name points here) */
    struct kb_error err;     /* first builder error */
    bool failed, finished;
    int output;
    float *params;           /* all tensors, trainable first */
    size_t n_params_total, n_trainable;
    float *grads;            /* trainable part only */
    /* runtime */
    int64_t cap_batch;       /* buffers sized for this many images */
    int ws_threads;          /* the conv workspace was sized for this kb_nn_threads() */
    int64_t batch;           /* images of the last forward */
    bool training;           /* mode of the last forward */
    float *ws;               /* conv workspace */
    size_t ws_size;
    float *probs;            /* (N, classes) */
    int32_t *targets;        /* (N) */
    float smoothing;
    bool have_loss;
    bool grads_alloc;
    /* activation gradients: nodes share slots by liveness (kb_model_finish) */
    size_t n_slots;
    size_t *slot_size;       /* floats per image */
    float **slots;
    struct kb_rng drop_rng;
};

/* ------------------------------------------------------------------ helpers */

static size_t per_image(const struct node *n)
{
    return (size_t)n->c * (size_t)n->h * (size_t)n->w;
}

static bool fail(struct kb_model *m, const char *fmt, ...) KB_PRINTF(2, 3);

static bool fail(struct kb_model *m, const char *fmt, ...)
{
    if (!m->failed) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(m->err.msg, sizeof m->err.msg, fmt, ap);
        va_end(ap);
        m->failed = true;
    }
    return false;
}

static const char *node_label(const struct node *n)
{
    return n->name ? n->name : op_names[n->op];
}

/* Check a builder's input id; false (and the sticky error) if bad. */
static bool check_in(struct kb_model *m, int x, const char *what)
{
    if (m->failed)
        return false;
    if (m->finished)
        return fail(m, "model: layer '%s' added after kb_model_finish", what);
    if (x < 0 || (size_t)x >= m->n_nodes)
        return fail(m, "model: layer '%s': input node %d does not exist (%zu nodes)", what, x,
                    m->n_nodes);
    return true;
}

static bool check_name(struct kb_model *m, const char *name, const char *op)
{
    if (!name || !*name)
        return fail(m, "model: %s layer without a name", op);
    for (size_t i = 0; i < m->n_nodes; i++)
        if (m->nodes[i].name && !strcmp(m->nodes[i].name, name))
            return fail(m, "model: layer name '%s' used twice", name);
    return true;
}

static int push_node(struct kb_model *m, enum op op, const char *name, int a, int b)
{
    if (m->n_nodes == m->cap_nodes) {
        size_t cap = m->cap_nodes ? 2 * m->cap_nodes : 32;
        struct node *nn = realloc(m->nodes, cap * sizeof *nn);
        if (!nn)
            return fail(m, "model: out of memory adding layer '%s'", name ? name : op_names[op]),
                   -1;
        m->nodes = nn;
        m->cap_nodes = cap;
    }
    struct node *n = &m->nodes[m->n_nodes];
    memset(n, 0, sizeof *n);
    n->op = op;
    n->in[0] = a;
    n->in[1] = b;
    n->t_weight = n->t_bias = n->t_rmean = n->t_rvar = n->t_nbt = NO_TENSOR;
    n->inplace_of = -1;
    if (name) {
        n->name = strdup(name);
        if (!n->name)
            return fail(m, "model: out of memory"), -1;
    }
    return (int)m->n_nodes++;
}

/* Register a tensor named "<layer>.<suffix>"; returns its index or NO_TENSOR. */
static int add_tensor(struct kb_model *m, const char *layer, const char *suffix, int ndim,
                      const int64_t *shape, bool is_buffer)
{
    if (m->n_tensors == m->cap_tensors) {
        size_t cap = m->cap_tensors ? 2 * m->cap_tensors : 64;
        struct kb_tensor *t = realloc(m->tensors, cap * sizeof *t);
        if (!t)
            return fail(m, "model: out of memory"), NO_TENSOR;
        m->tensors = t;
        char **nm = realloc(m->tensor_names, cap * sizeof *nm);
        if (!nm)
            return fail(m, "model: out of memory"), NO_TENSOR;
        m->tensor_names = nm;
        m->cap_tensors = cap;
    }
    size_t len = strlen(layer) + strlen(suffix) + 2;
    char *name = malloc(len);
    if (!name)
        return fail(m, "model: out of memory"), NO_TENSOR;
    snprintf(name, len, "%s.%s", layer, suffix);
    struct kb_tensor *t = &m->tensors[m->n_tensors];
    memset(t, 0, sizeof *t);
    m->tensor_names[m->n_tensors] = name;
    t->name = name;
    t->ndim = ndim;
    t->numel = 1;
    for (int i = 0; i < ndim; i++) {
        t->shape[i] = shape[i];
        t->numel *= (size_t)shape[i];
    }
    t->is_buffer = is_buffer;
    return (int)m->n_tensors++;
}

/* Shape limits: keep every product far from overflow. */
#define DIM_MAX ((int64_t)1 << 24)

static bool dim_ok(int64_t v)
{
    return v >= 1 && v <= DIM_MAX;
}

/* ------------------------------------------------------------------ construction */

int kb_model_new(struct kb_model **out, int64_t in_c, int64_t in_h, int64_t in_w,
                 struct kb_error *err)
{
    *out = NULL;
    if (!dim_ok(in_c) || !dim_ok(in_h) || !dim_ok(in_w) ||
        (double)in_c * (double)in_h * (double)in_w > (double)DIM_MAX * 64)
        return kb_error_set(err, "model: input shape %lldx%lldx%lld: expected positive C,H,W "
                            "of at most %lld each",
                            (long long)in_c, (long long)in_h, (long long)in_w,
                            (long long)DIM_MAX);
    struct kb_model *m = calloc(1, sizeof *m);
    if (!m)
        return kb_error_set(err, "model: out of memory");
    m->output = -1;
    int id = push_node(m, OP_INPUT, NULL, -1, -1);
    if (id < 0) {
        kb_model_free(m);
        return kb_error_set(err, "model: out of memory");
    }
    m->nodes[0].c = in_c;
    m->nodes[0].h = in_h;
    m->nodes[0].w = in_w;
    *out = m;
    return 0;
}

static void free_runtime(struct kb_model *m)
{
    for (size_t i = 0; i < m->n_nodes; i++) {
        struct node *n = &m->nodes[i];
        if (n->inplace_of < 0)
            free(n->out);
        free(n->aux);
        free(n->argmax);
        n->out = n->dout = n->aux = NULL;
        n->argmax = NULL;
    }
    for (size_t i = 0; i < m->n_slots && m->slots; i++) {
        free(m->slots[i]);
        m->slots[i] = NULL;
    }
    free(m->ws);
    free(m->probs);
    free(m->targets);
    m->ws = m->probs = NULL;
    m->targets = NULL;
    m->ws_size = 0;
    m->cap_batch = 0;
    m->grads_alloc = false;
    m->have_loss = false;
}

void kb_model_free(struct kb_model *m)
{
    if (!m)
        return;
    free_runtime(m);
    for (size_t i = 0; i < m->n_nodes; i++)
        free(m->nodes[i].name);
    free(m->nodes);
    for (size_t i = 0; i < m->n_tensors; i++)
        free(m->tensor_names[i]);
    free(m->tensor_names);
    free(m->tensors);
    free(m->params);
    free(m->grads);
    free(m->slots);
    free(m->slot_size);
    kb_rng_wipe(&m->drop_rng);
    free(m);
}

int kb_model_conv2d(struct kb_model *m, int x, const char *name, int64_t out_c, int64_t kernel,
                    int64_t stride, int64_t pad, int64_t groups, bool bias)
{
    if (!check_in(m, x, name ? name : "conv") || !check_name(m, name, "conv"))
        return -1;
    const struct node *in = &m->nodes[x];
    if (in->flat)
        return fail(m, "model: conv '%s': input is flat (N,%lld); expected (N,C,H,W)", name,
                    (long long)in->c), -1;
    if (!dim_ok(out_c) || !dim_ok(kernel) || !dim_ok(stride) || pad < 0 || pad > DIM_MAX ||
        groups < 1 || in->c % groups || out_c % groups)
        return fail(m, "model: conv '%s': %lld->%lld channels, kernel %lld, stride %lld, pad "
                    "%lld, groups %lld: expected positive sizes and channels divisible by groups",
                    name, (long long)in->c, (long long)out_c, (long long)kernel,
                    (long long)stride, (long long)pad, (long long)groups), -1;
    struct kb_conv2d_shape s = { .n = 1, .c = in->c, .h = in->h, .w = in->w, .k = out_c,
                                 .r = kernel, .s = kernel, .stride = stride, .pad = pad,
                                 .groups = groups };
    struct kb_error e = {0};
    if (kb_conv2d_shape_finish(&s, &e) < 0)
        return fail(m, "model: conv '%s': %s", name, e.msg), -1;
    int id = push_node(m, OP_CONV, name, x, -1);
    if (id < 0)
        return -1;
    struct node *n = &m->nodes[id];
    n->c = out_c;
    n->h = s.p;
    n->w = s.q;
    n->kernel = kernel;
    n->stride = stride;
    n->pad = pad;
    n->groups = groups;
    n->bias = bias;
    int64_t ws[4] = { out_c, m->nodes[x].c / groups, kernel, kernel };
    n->t_weight = add_tensor(m, name, "weight", 4, ws, false);
    if (bias)
        n->t_bias = add_tensor(m, name, "bias", 1, &out_c, false);
    return m->failed ? -1 : id;
}

int kb_model_batchnorm(struct kb_model *m, int x, const char *name)
{
    if (!check_in(m, x, name ? name : "batchnorm") || !check_name(m, name, "batchnorm"))
        return -1;
    int id = push_node(m, OP_BN, name, x, -1);
    if (id < 0)
        return -1;
    struct node *n = &m->nodes[id];
    const struct node *in = &m->nodes[x];
    n->c = in->c;
    n->h = in->h;
    n->w = in->w;
    n->flat = in->flat;
    int64_t c = n->c;
    n->t_weight = add_tensor(m, name, "weight", 1, &c, false);
    n->t_bias = add_tensor(m, name, "bias", 1, &c, false);
    n->t_rmean = add_tensor(m, name, "running_mean", 1, &c, true);
    n->t_rvar = add_tensor(m, name, "running_var", 1, &c, true);
    n->t_nbt = add_tensor(m, name, "num_batches_tracked", 0, NULL, true);
    return m->failed ? -1 : id;
}

static int unary(struct kb_model *m, int x, enum op op)
{
    if (!check_in(m, x, op_names[op]))
        return -1;
    int id = push_node(m, op, NULL, x, -1);
    if (id < 0)
        return -1;
    struct node *n = &m->nodes[id];
    const struct node *in = &m->nodes[x];
    n->c = in->c;
    n->h = in->h;
    n->w = in->w;
    n->flat = in->flat;
    return id;
}

int kb_model_relu(struct kb_model *m, int x)
{
    return unary(m, x, OP_RELU);
}

int kb_model_gelu(struct kb_model *m, int x)
{
    return unary(m, x, OP_GELU);
}

int kb_model_dropout(struct kb_model *m, int x, float p)
{
    if (!check_in(m, x, "dropout"))
        return -1;
    if (!(p >= 0.0f && p < 1.0f))
        return fail(m, "model: dropout p = %g: expected 0 <= p < 1", (double)p), -1;
    int id = unary(m, x, OP_DROPOUT);
    if (id >= 0)
        m->nodes[id].p = p;
    return id;
}

static int pool(struct kb_model *m, int x, enum op op, int64_t kernel, int64_t stride,
                int64_t pad)
{
    if (!check_in(m, x, op_names[op]))
        return -1;
    const struct node *in = &m->nodes[x];
    if (in->flat)
        return fail(m, "model: %s: input is flat; expected (N,C,H,W)", op_names[op]), -1;
    if (!dim_ok(kernel) || !dim_ok(stride) || pad < 0 || 2 * pad > kernel)
        return fail(m, "model: %s kernel %lld stride %lld pad %lld: expected positive kernel "
                    "and stride, pad at most kernel/2", op_names[op], (long long)kernel,
                    (long long)stride, (long long)pad), -1;
    struct kb_pool_shape s = { .n = 1, .c = in->c, .h = in->h, .w = in->w, .kernel = kernel,
                               .stride = stride, .pad = pad };
    struct kb_error e = {0};
    if (kb_pool_shape_finish(&s, &e) < 0)
        return fail(m, "model: %s: %s", op_names[op], e.msg), -1;
    int id = push_node(m, op, NULL, x, -1);
    if (id < 0)
        return -1;
    struct node *n = &m->nodes[id];
    n->c = in->c;
    n->h = s.p;
    n->w = s.q;
    n->kernel = kernel;
    n->stride = stride;
    n->pad = pad;
    return id;
}

int kb_model_maxpool(struct kb_model *m, int x, int64_t kernel, int64_t stride, int64_t pad)
{
    return pool(m, x, OP_MAXPOOL, kernel, stride, pad);
}

int kb_model_avgpool(struct kb_model *m, int x, int64_t kernel, int64_t stride, int64_t pad)
{
    return pool(m, x, OP_AVGPOOL, kernel, stride, pad);
}

int kb_model_gap(struct kb_model *m, int x)
{
    if (!check_in(m, x, "gap"))
        return -1;
    if (m->nodes[x].flat)
        return fail(m, "model: gap: input is flat; expected (N,C,H,W)"), -1;
    int id = push_node(m, OP_GAP, NULL, x, -1);
    if (id < 0)
        return -1;
    struct node *n = &m->nodes[id];
    n->c = m->nodes[x].c;
    n->h = n->w = 1;
    n->flat = true;
    return id;
}

int kb_model_flatten(struct kb_model *m, int x)
{
    if (!check_in(m, x, "flatten"))
        return -1;
    int id = push_node(m, OP_FLATTEN, NULL, x, -1);
    if (id < 0)
        return -1;
    struct node *n = &m->nodes[id];
    n->c = (int64_t)per_image(&m->nodes[x]);
    n->h = n->w = 1;
    n->flat = true;
    return id;
}

int kb_model_linear(struct kb_model *m, int x, const char *name, int64_t out_features, bool bias)
{
    if (!check_in(m, x, name ? name : "linear") || !check_name(m, name, "linear"))
        return -1;
    if (!dim_ok(out_features))
        return fail(m, "model: linear '%s': %lld output features: expected 1..%lld", name,
                    (long long)out_features, (long long)DIM_MAX), -1;
    int64_t d = (int64_t)per_image(&m->nodes[x]);
    if ((double)d * (double)out_features > (double)DIM_MAX * 64)
        return fail(m, "model: linear '%s': %lld x %lld weights is too large", name,
                    (long long)out_features, (long long)d), -1;
    int id = push_node(m, OP_LINEAR, name, x, -1);
    if (id < 0)
        return -1;
    struct node *n = &m->nodes[id];
    n->c = out_features;
    n->h = n->w = 1;
    n->flat = true;
    n->bias = bias;
    int64_t ws[2] = { out_features, d };
    n->t_weight = add_tensor(m, name, "weight", 2, ws, false);
    if (bias)
        n->t_bias = add_tensor(m, name, "bias", 1, &out_features, false);
    return m->failed ? -1 : id;
}

int kb_model_add(struct kb_model *m, int a, int b)
{
    if (!check_in(m, a, "add") || !check_in(m, b, "add"))
        return -1;
    const struct node *na = &m->nodes[a], *nb = &m->nodes[b];
    if (na->c != nb->c || na->h != nb->h || na->w != nb->w)
        return fail(m, "model: add after '%s': shapes %lldx%lldx%lld and %lldx%lldx%lld differ",
                    node_label(na), (long long)na->c, (long long)na->h, (long long)na->w,
                    (long long)nb->c, (long long)nb->h, (long long)nb->w), -1;
    int id = push_node(m, OP_ADD, NULL, a, b);
    if (id < 0)
        return -1;
    struct node *n = &m->nodes[id];
    n->c = m->nodes[a].c;
    n->h = m->nodes[a].h;
    n->w = m->nodes[a].w;
    n->flat = m->nodes[a].flat;
    return id;
}

int kb_model_shortcut_a(struct kb_model *m, int x, int64_t out_c, int64_t stride)
{
    if (!check_in(m, x, "shortcut_a"))
        return -1;
    const struct node *in = &m->nodes[x];
    if (in->flat || !dim_ok(stride) || out_c < in->c || out_c > DIM_MAX)
        return fail(m, "model: shortcut_a %lld->%lld channels stride %lld: expected an image "
                    "input, out_c >= in_c and stride >= 1", (long long)in->c, (long long)out_c,
                    (long long)stride), -1;
    int id = push_node(m, OP_SHORTCUT_A, NULL, x, -1);
    if (id < 0)
        return -1;
    struct node *n = &m->nodes[id];
    in = &m->nodes[x];
    n->c = out_c;
    n->h = (in->h + stride - 1) / stride;
    n->w = (in->w + stride - 1) / stride;
    n->stride = stride;
    return id;
}

/* ------------------------------------------------------------------ finish */

/* Whether node `id`'s backward reads its own output. */
static bool needs_own_output(const struct node *n)
{
    return n->op == OP_RELU;
}

/* Assign activation-gradient buffers by liveness. Walking the nodes in
 * reverse (the order of backward), a node's dout becomes live when the first
 * of its consumers runs backward (that consumer zeroes it first) and dies
 * once the node itself has run backward; dead buffers are reused, best fit by
 * size. A ResNet needs a handful of buffers instead of one per node. */
/* Give node x a free gradient slot: the smallest free one that fits, else
 * the largest free one (grown), else a new one. */
static void take_slot(struct kb_model *m, bool *busy, int x)
{
    size_t need = per_image(&m->nodes[x]);
    int best = -1;
    for (size_t s = 0; s < m->n_slots; s++) {
        if (busy[s])
            continue;
        size_t have = m->slot_size[s];
        if (best < 0) {
            best = (int)s;
            continue;
        }
        size_t bh = m->slot_size[best];
        bool fits = have >= need, best_fits = bh >= need;
        if ((fits && (!best_fits || have < bh)) || (!fits && !best_fits && have > bh))
            best = (int)s;
    }
    if (best < 0)
        best = (int)m->n_slots++;
    if (m->slot_size[best] < need)
        m->slot_size[best] = need;
    busy[best] = true;
    m->nodes[x].grad_slot = best;
}

static int plan_grad_slots(struct kb_model *m)
{
    size_t cap = m->n_nodes;
    m->slot_size = calloc(cap, sizeof *m->slot_size);
    m->slots = calloc(cap, sizeof *m->slots);
    bool *busy = calloc(cap, sizeof *busy);
    if (!m->slot_size || !m->slots || !busy) {
        free(busy);
        return -1;
    }
    for (size_t i = 0; i < m->n_nodes; i++)
        m->nodes[i].grad_slot = -1;
    m->n_slots = 0;
    take_slot(m, busy, m->output);
    for (size_t i = m->n_nodes - 1; i >= 1; i--) {
        struct node *nd = &m->nodes[i];
        for (int k = 0; k < 2; k++) {
            int x = nd->in[k];
            if (x < 0 || (k == 1 && x == nd->in[0]) || m->nodes[x].grad_slot >= 0)
                continue;
            take_slot(m, busy, x);
            nd->zero_in[k] = true;
        }
        if (nd->grad_slot >= 0)
            busy[nd->grad_slot] = false;
    }
    free(busy);
    return 0;
}

int kb_model_finish(struct kb_model *m, int output, struct kb_error *err)
{
    if (m->failed)
        return kb_error_set(err, "%s", m->err.msg);
    if (m->finished)
        return kb_error_set(err, "model: kb_model_finish called twice");
    if (output <= 0 || (size_t)output >= m->n_nodes)
        return kb_error_set(err, "model: output node %d: expected a layer id in 1..%zu", output,
                            m->n_nodes - 1);
    const struct node *on = &m->nodes[output];
    if (!on->flat)
        return kb_error_set(err, "model: output '%s' is %lldx%lldx%lld: expected flat logits "
                            "(N, classes); add gap/flatten and a linear layer",
                            node_label(on), (long long)on->c, (long long)on->h, (long long)on->w);
    if ((size_t)output != m->n_nodes - 1)
        return kb_error_set(err, "model: output '%s' (node %d) is not the last layer (%zu nodes)",
                            node_label(on), output, m->n_nodes);
    m->output = output;
    for (size_t i = 1; i < m->n_nodes; i++)
        for (int k = 0; k < 2; k++)
            if (m->nodes[i].in[k] >= 0)
                m->nodes[m->nodes[i].in[k]].consumers++;
    /* in-place decisions */
    for (size_t i = 1; i < m->n_nodes; i++) {
        struct node *n = &m->nodes[i];
        if (n->op != OP_RELU && n->op != OP_ADD)
            continue;
        int x = n->in[0];
        const struct node *src = &m->nodes[x];
        if (x == 0 || src->consumers != 1 || needs_own_output(src) || n->in[1] == x)
            continue;
        /* nobody may read x's output after n runs forward: only n consumes it and
         * x's backward does not need it; n itself needs only its output (relu) or nothing (add) */
        n->inplace_of = x;
    }
    if (plan_grad_slots(m) < 0)
        return kb_error_set(err, "model: out of memory planning gradient buffers");
    /* parameter layout: trainable first, then buffers */
    size_t total = 0, trainable = 0;
    for (size_t i = 0; i < m->n_tensors; i++) {
        if (m->tensors[i].is_buffer)
            continue;
        trainable += m->tensors[i].numel;
    }
    total = trainable;
    for (size_t i = 0; i < m->n_tensors; i++)
        if (m->tensors[i].is_buffer)
            total += m->tensors[i].numel;
    m->params = calloc(total ? total : 1, sizeof *m->params);
    m->grads = calloc(trainable ? trainable : 1, sizeof *m->grads);
    if (!m->params || !m->grads)
        return kb_error_set(err, "model: out of memory for %zu parameters", total);
    size_t off = 0;
    for (size_t i = 0; i < m->n_tensors; i++) {
        struct kb_tensor *t = &m->tensors[i];
        if (t->is_buffer)
            continue;
        t->data = m->params + off;
        t->grad = m->grads + off;
        off += t->numel;
    }
    for (size_t i = 0; i < m->n_tensors; i++) {
        struct kb_tensor *t = &m->tensors[i];
        if (!t->is_buffer)
            continue;
        t->data = m->params + off;
        t->grad = NULL;
        off += t->numel;
    }
    m->n_params_total = total;
    m->n_trainable = trainable;
    m->finished = true;
    kb_model_init(m, 0);
    return 0;
}

/* ------------------------------------------------------------------ init */

static void fill_uniform(float *p, size_t n, double bound, struct kb_rng *r)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (float)((2.0 * kb_rng_double(r) - 1.0) * bound);
}

void kb_model_init(struct kb_model *m, uint64_t seed)
{
    struct kb_rng r;
    kb_rng_init_seed(&r, seed, "init");
    for (size_t i = 1; i < m->n_nodes; i++) {
        struct node *n = &m->nodes[i];
        if (n->op == OP_CONV || n->op == OP_LINEAR) {
            struct kb_tensor *w = &m->tensors[n->t_weight];
            size_t fan_in = w->numel / (size_t)w->shape[0];
            /* kaiming_uniform(a=√5): bound = √(6/((1+5)·fan_in)) = 1/√fan_in */
            double bound = 1.0 / sqrt((double)fan_in);
            fill_uniform(w->data, w->numel, bound, &r);
            if (n->t_bias != NO_TENSOR)
                fill_uniform(m->tensors[n->t_bias].data, m->tensors[n->t_bias].numel, bound, &r);
        } else if (n->op == OP_BN) {
            size_t c = (size_t)n->c;
            for (size_t k = 0; k < c; k++) {
                m->tensors[n->t_weight].data[k] = 1.0f;
                m->tensors[n->t_bias].data[k] = 0.0f;
                m->tensors[n->t_rmean].data[k] = 0.0f;
                m->tensors[n->t_rvar].data[k] = 1.0f;
            }
            m->tensors[n->t_nbt].data[0] = 0.0f;
        }
    }
    kb_rng_wipe(&r);
    kb_rng_init_seed(&m->drop_rng, seed, "dropout");
}

/* ------------------------------------------------------------------ queries */

size_t kb_model_tensor_count(const struct kb_model *m)
{
    return m->n_tensors;
}

struct kb_tensor *kb_model_tensor(struct kb_model *m, size_t i)
{
    return i < m->n_tensors ? &m->tensors[i] : NULL;
}

struct kb_tensor *kb_model_find(struct kb_model *m, const char *name)
{
    for (size_t i = 0; i < m->n_tensors; i++)
        if (!strcmp(m->tensors[i].name, name))
            return &m->tensors[i];
    return NULL;
}

size_t kb_model_param_count(const struct kb_model *m)
{
    size_t n = 0;
    for (size_t i = 0; i < m->n_tensors; i++)
        if (!m->tensors[i].is_buffer)
            n += m->tensors[i].numel;
    return n;
}

void kb_model_input_shape(const struct kb_model *m, int64_t *c, int64_t *h, int64_t *w)
{
    if (c)
        *c = m->nodes[0].c;
    if (h)
        *h = m->nodes[0].h;
    if (w)
        *w = m->nodes[0].w;
}

int64_t kb_model_classes(const struct kb_model *m)
{
    if (m->output >= 0)
        return m->nodes[m->output].c;
    return m->n_nodes ? m->nodes[m->n_nodes - 1].c : 0;
}

size_t kb_model_freeze(struct kb_model *m, const char *pattern, bool frozen)
{
    size_t k = 0;
    for (size_t i = 0; i < m->n_tensors; i++)
        if (!m->tensors[i].is_buffer && fnmatch(pattern, m->tensors[i].name, 0) == 0) {
            m->tensors[i].frozen = frozen;
            k++;
        }
    return k;
}

float *kb_model_params(struct kb_model *m, size_t *count)
{
    if (count)
        *count = m->n_trainable;
    return m->params;
}

float *kb_model_grads(struct kb_model *m, size_t *count)
{
    if (count)
        *count = m->n_trainable;
    return m->grads;
}

/* Weight tensor of the layer producing the logits (the head), or NULL. */
const char *kb_model_head_name(const struct kb_model *m)
{
    if (m->output < 0)
        return NULL;
    for (int i = m->output; i > 0; i = m->nodes[i].in[0]) {
        const struct node *n = &m->nodes[i];
        if (n->t_weight != NO_TENSOR && (n->op == OP_LINEAR || n->op == OP_CONV))
            return m->tensors[n->t_weight].name;
        if (n->in[1] >= 0)
            return NULL;
    }
    return NULL;
}

/* Weight tensor of the first conv/linear layer reading the input, or NULL. */
const char *kb_model_stem_name(const struct kb_model *m)
{
    for (size_t i = 1; i < m->n_nodes; i++) {
        const struct node *n = &m->nodes[i];
        if (n->op != OP_CONV && n->op != OP_LINEAR)
            continue;
        int src = n->in[0];
        while (src > 0 && m->nodes[src].op == OP_FLATTEN)
            src = m->nodes[src].in[0];
        if (src == 0)
            return m->tensors[n->t_weight].name;
    }
    return NULL;
}

/* ------------------------------------------------------------------ buffers */

static int ensure_batch(struct kb_model *m, int64_t n)
{
    /* the conv workspace grows with the engine's thread count: size again
     * when kb_nn_set_threads changed it since */
    if (n <= m->cap_batch && m->ws_threads == kb_nn_threads())
        return 0;
    if (n < m->cap_batch)
        n = m->cap_batch;
    free_runtime(m);
    size_t nb = (size_t)n;
    size_t ws = 0;
    for (size_t i = 0; i < m->n_nodes; i++) {
        struct node *nd = &m->nodes[i];
        size_t cnt = nb * per_image(nd);
        if (nd->inplace_of < 0) {
            nd->out = malloc(cnt * sizeof(float));
            if (!nd->out)
                goto oom;
        }
        if (nd->op == OP_BN) {
            nd->aux = malloc(2 * (size_t)nd->c * sizeof(float));
            if (!nd->aux)
                goto oom;
        } else if (nd->op == OP_DROPOUT) {
            nd->aux = malloc(cnt * sizeof(float));
            if (!nd->aux)
                goto oom;
        } else if (nd->op == OP_MAXPOOL) {
            nd->argmax = malloc(cnt * sizeof(int32_t));
            if (!nd->argmax)
                goto oom;
        } else if (nd->op == OP_CONV) {
            const struct node *in = &m->nodes[nd->in[0]];
            struct kb_conv2d_shape s = { .n = n, .c = in->c, .h = in->h, .w = in->w,
                                         .k = nd->c, .r = nd->kernel, .s = nd->kernel,
                                         .stride = nd->stride, .pad = nd->pad,
                                         .groups = nd->groups, .p = nd->h, .q = nd->w };
            size_t w = kb_conv2d_workspace(&s);
            ws = w > ws ? w : ws;
        }
    }
    /* resolve in-place chains: the buffer of the node written into */
    for (size_t i = 0; i < m->n_nodes; i++)
        if (m->nodes[i].inplace_of >= 0)
            m->nodes[i].out = m->nodes[m->nodes[i].inplace_of].out;
    m->ws = malloc((ws ? ws : 1) * sizeof(float));
    m->probs = malloc(nb * (size_t)kb_model_classes(m) * sizeof(float));
    m->targets = malloc(nb * sizeof(int32_t));
    if (!m->ws || !m->probs || !m->targets)
        goto oom;
    m->ws_size = ws;
    m->cap_batch = n;
    m->ws_threads = kb_nn_threads();
    return 0;
oom:
    free_runtime(m);
    return -1;
}

static int ensure_grads(struct kb_model *m)
{
    if (m->grads_alloc)
        return 0;
    size_t nb = (size_t)m->cap_batch;
    for (size_t i = 0; i < m->n_slots; i++) {
        m->slots[i] = malloc(nb * m->slot_size[i] * sizeof(float));
        if (!m->slots[i])
            return -1;
    }
    for (size_t i = 0; i < m->n_nodes; i++) {
        int g = m->nodes[i].grad_slot;
        m->nodes[i].dout = g >= 0 ? m->slots[g] : NULL;   /* NULL: feeds nothing */
    }
    m->grads_alloc = true;
    return 0;
}

static void conv_shape(const struct kb_model *m, const struct node *nd, int64_t n,
                       struct kb_conv2d_shape *s)
{
    const struct node *in = &m->nodes[nd->in[0]];
    *s = (struct kb_conv2d_shape){ .n = n, .c = in->c, .h = in->h, .w = in->w, .k = nd->c,
                                   .r = nd->kernel, .s = nd->kernel, .stride = nd->stride,
                                   .pad = nd->pad, .groups = nd->groups, .p = nd->h,
                                   .q = nd->w };
}

static void pool_shape(const struct kb_model *m, const struct node *nd, int64_t n,
                       struct kb_pool_shape *s)
{
    const struct node *in = &m->nodes[nd->in[0]];
    *s = (struct kb_pool_shape){ .n = n, .c = in->c, .h = in->h, .w = in->w,
                                 .kernel = nd->kernel, .stride = nd->stride, .pad = nd->pad,
                                 .p = nd->h, .q = nd->w };
}

static float *tdata(struct kb_model *m, int t)
{
    return t == NO_TENSOR ? NULL : m->tensors[t].data;
}

static float *tgrad(struct kb_model *m, int t)
{
    if (t == NO_TENSOR || m->tensors[t].frozen)
        return NULL;
    return m->tensors[t].grad;
}

/* ------------------------------------------------------------------ forward */

const float *kb_model_forward(struct kb_model *m, const float *x, int64_t n, bool training)
{
    if (!m->finished || n < 1 || n > INT32_MAX)
        return NULL;
    if (ensure_batch(m, n) < 0)
        return NULL;
    m->batch = n;
    m->training = training;
    m->have_loss = false;
    size_t nb = (size_t)n;
    memcpy(m->nodes[0].out, x, nb * per_image(&m->nodes[0]) * sizeof(float));
    for (size_t i = 1; i < m->n_nodes; i++) {
        struct node *nd = &m->nodes[i];
        const struct node *a = &m->nodes[nd->in[0]];
        size_t cnt = nb * per_image(nd);
        switch (nd->op) {
        case OP_INPUT:
            break;
        case OP_CONV: {
            struct kb_conv2d_shape s;
            conv_shape(m, nd, n, &s);
            kb_conv2d_forward(nd->out, m->ws, a->out, tdata(m, nd->t_weight),
                              tdata(m, nd->t_bias), &s);
            break;
        }
        case OP_BN: {
            int64_t l = nd->h * nd->w;
            kb_batchnorm_forward(nd->out, nd->aux, nd->aux + nd->c, tdata(m, nd->t_rmean),
                                 tdata(m, nd->t_rvar), a->out, tdata(m, nd->t_weight),
                                 tdata(m, nd->t_bias), n, nd->c, l, 0.1f, 1e-5f, training);
            if (training)
                tdata(m, nd->t_nbt)[0] += 1.0f;
            break;
        }
        case OP_RELU:
            kb_relu_forward(nd->out, a->out, cnt);
            break;
        case OP_GELU:
            kb_gelu_forward(nd->out, a->out, cnt);
            break;
        case OP_MAXPOOL: {
            struct kb_pool_shape s;
            pool_shape(m, nd, n, &s);
            kb_maxpool2d_forward(nd->out, nd->argmax, a->out, &s);
            break;
        }
        case OP_AVGPOOL: {
            struct kb_pool_shape s;
            pool_shape(m, nd, n, &s);
            kb_avgpool2d_forward(nd->out, a->out, &s);
            break;
        }
        case OP_GAP:
            kb_gap_forward(nd->out, a->out, n, a->c, a->h * a->w);
            break;
        case OP_FLATTEN:
            memcpy(nd->out, a->out, cnt * sizeof(float));
            break;
        case OP_LINEAR:
            kb_linear_forward(nd->out, a->out, tdata(m, nd->t_weight), tdata(m, nd->t_bias), n,
                              (int64_t)per_image(a), nd->c);
            break;
        case OP_ADD:
            kb_add_forward(nd->out, a->out, m->nodes[nd->in[1]].out, cnt);
            break;
        case OP_SHORTCUT_A:
            kb_shortcut_a_forward(nd->out, a->out, n, a->c, a->h, a->w, nd->c, nd->stride);
            break;
        case OP_DROPOUT:
            if (training && nd->p > 0.0f) {
                kb_dropout_forward(nd->out, nd->aux, a->out, cnt, nd->p, &m->drop_rng);
            } else {
                memcpy(nd->out, a->out, cnt * sizeof(float));
            }
            break;
        }
    }
    return m->nodes[m->output].out;
}

double kb_model_loss(struct kb_model *m, const int32_t *targets, float smoothing)
{
    if (!m->finished || m->batch < 1)
        return NAN;
    int64_t n = m->batch, k = kb_model_classes(m);
    for (int64_t i = 0; i < n; i++)
        if (targets[i] < 0 || targets[i] >= k)
            return NAN;
    memcpy(m->targets, targets, (size_t)n * sizeof(int32_t));
    m->smoothing = smoothing;
    m->have_loss = true;
    return kb_softmax_xent_forward(m->probs, m->nodes[m->output].out, targets, n, k, smoothing);
}

void kb_model_zero_grad(struct kb_model *m)
{
    if (m->grads && m->n_trainable)
        memset(m->grads, 0, m->n_trainable * sizeof(float));
}

/* ------------------------------------------------------------------ backward */

void kb_model_backward(struct kb_model *m, const float *dlogits, float *dinput)
{
    if (!m->finished || m->batch < 1 || (!dlogits && !m->have_loss))
        return;
    if (ensure_grads(m) < 0)
        return;
    int64_t n = m->batch;
    size_t nb = (size_t)n;
    struct node *on = &m->nodes[m->output];
    memset(on->dout, 0, nb * per_image(on) * sizeof(float));
    if (dlogits)
        memcpy(on->dout, dlogits, nb * per_image(on) * sizeof(float));
    else
        kb_softmax_xent_backward(on->dout, m->probs, m->targets, n, on->c, m->smoothing);
    for (size_t i = m->n_nodes - 1; i >= 1; i--) {
        struct node *nd = &m->nodes[i];
        struct node *a = &m->nodes[nd->in[0]];
        /* no gradient into the input node unless asked for */
        for (int k = 0; k < 2; k++)
            if (nd->zero_in[k]) {
                struct node *src = &m->nodes[nd->in[k]];
                memset(src->dout, 0, nb * per_image(src) * sizeof(float));
            }
        if (!nd->dout)
            continue;   /* a dead branch: nothing reaches the logits through it */
        float *da = (nd->in[0] == 0 && !dinput) ? NULL : a->dout;
        size_t cnt = nb * per_image(nd);
        switch (nd->op) {
        case OP_INPUT:
            break;
        case OP_CONV: {
            struct kb_conv2d_shape s;
            conv_shape(m, nd, n, &s);
            kb_conv2d_backward(da, tgrad(m, nd->t_weight), tgrad(m, nd->t_bias), m->ws, nd->dout,
                               a->out, tdata(m, nd->t_weight), &s);
            break;
        }
        case OP_BN: {
            int64_t l = nd->h * nd->w;
            if (m->training)
                kb_batchnorm_backward(da, tgrad(m, nd->t_weight), tgrad(m, nd->t_bias), nd->dout,
                                      a->out, tdata(m, nd->t_weight), nd->aux, nd->aux + nd->c,
                                      n, nd->c, l);
            else
                kb_batchnorm_backward_eval(da, tgrad(m, nd->t_weight), tgrad(m, nd->t_bias),
                                           nd->dout, a->out, tdata(m, nd->t_weight),
                                           tdata(m, nd->t_rmean), tdata(m, nd->t_rvar), n,
                                           nd->c, l, 1e-5f);
            break;
        }
        case OP_RELU:
            if (da)
                kb_relu_backward(da, nd->dout, nd->out, cnt);
            break;
        case OP_GELU:
            if (da)
                kb_gelu_backward(da, nd->dout, a->out, cnt);
            break;
        case OP_MAXPOOL: {
            struct kb_pool_shape s;
            pool_shape(m, nd, n, &s);
            if (da)
                kb_maxpool2d_backward(da, nd->dout, nd->argmax, &s);
            break;
        }
        case OP_AVGPOOL: {
            struct kb_pool_shape s;
            pool_shape(m, nd, n, &s);
            if (da)
                kb_avgpool2d_backward(da, nd->dout, &s);
            break;
        }
        case OP_GAP:
            if (da)
                kb_gap_backward(da, nd->dout, n, a->c, a->h * a->w);
            break;
        case OP_FLATTEN:
            if (da)
                kb_add_backward(da, NULL, nd->dout, cnt);
            break;
        case OP_LINEAR:
            kb_linear_backward(da, tgrad(m, nd->t_weight), tgrad(m, nd->t_bias), nd->dout,
                               a->out, tdata(m, nd->t_weight), n, (int64_t)per_image(a), nd->c);
            break;
        case OP_ADD: {
            float *db = (nd->in[1] == 0 && !dinput) ? NULL : m->nodes[nd->in[1]].dout;
            kb_add_backward(da, db, nd->dout, cnt);
            break;
        }
        case OP_SHORTCUT_A:
            if (da)
                kb_shortcut_a_backward(da, nd->dout, n, a->c, a->h, a->w, nd->c, nd->stride);
            break;
        case OP_DROPOUT:
            if (da) {
                if (m->training && nd->p > 0.0f)
                    kb_dropout_backward(da, nd->dout, nd->aux, cnt);
                else
                    kb_add_backward(da, NULL, nd->dout, cnt);
            }
            break;
        }
    }
    if (dinput && m->nodes[0].dout)
        memcpy(dinput, m->nodes[0].dout, nb * per_image(&m->nodes[0]) * sizeof(float));
    else if (dinput)
        memset(dinput, 0, nb * per_image(&m->nodes[0]) * sizeof(float));
}

/* ------------------------------------------------------------------ print */

static size_t node_params(const struct kb_model *m, const struct node *n)
{
    size_t k = 0;
    if (n->t_weight != NO_TENSOR)
        k += m->tensors[n->t_weight].numel;
    if (n->t_bias != NO_TENSOR)
        k += m->tensors[n->t_bias].numel;
    return k;
}

static void shape_str(char *out, size_t size, const struct node *n)
{
    if (n->flat)
        snprintf(out, size, "%lld", (long long)n->c);
    else
        snprintf(out, size, "%lldx%lldx%lld", (long long)n->c, (long long)n->h,
                 (long long)n->w);
}

void kb_model_print(const struct kb_model *m, FILE *f)
{
    size_t wname = 5;
    for (size_t i = 1; i < m->n_nodes; i++) {
        size_t l = strlen(node_label(&m->nodes[i]));
        wname = l > wname ? l : wname;
    }
    for (size_t i = 1; i < m->n_nodes; i++) {
        const struct node *n = &m->nodes[i];
        char desc[96] = "", in[64], out[64];
        switch (n->op) {
        case OP_CONV:
            if (n->groups > 1)
                snprintf(desc, sizeof desc, "conv %lldx%lld/%lld pad %lld g%lld",
                         (long long)n->kernel, (long long)n->kernel, (long long)n->stride,
                         (long long)n->pad, (long long)n->groups);
            else
                snprintf(desc, sizeof desc, "conv %lldx%lld/%lld pad %lld", (long long)n->kernel,
                         (long long)n->kernel, (long long)n->stride, (long long)n->pad);
            break;
        case OP_MAXPOOL: case OP_AVGPOOL:
            snprintf(desc, sizeof desc, "%s %lldx%lld/%lld pad %lld", op_names[n->op],
                     (long long)n->kernel, (long long)n->kernel, (long long)n->stride,
                     (long long)n->pad);
            break;
        case OP_SHORTCUT_A:
            snprintf(desc, sizeof desc, "shortcut_a /%lld", (long long)n->stride);
            break;
        case OP_DROPOUT:
            snprintf(desc, sizeof desc, "dropout p=%g", (double)n->p);
            break;
        case OP_ADD:
            snprintf(desc, sizeof desc, "add %s", node_label(&m->nodes[n->in[1]]));
            break;
        default:
            snprintf(desc, sizeof desc, "%s", op_names[n->op]);
            break;
        }
        shape_str(in, sizeof in, &m->nodes[n->in[0]]);
        shape_str(out, sizeof out, n);
        size_t p = node_params(m, n);
        if (p)
            fprintf(f, "%-*s  %-24s  %s -> %s  %zu params\n", (int)wname, node_label(n), desc, in,
                    out, p);
        else
            fprintf(f, "%-*s  %-24s  %s -> %s\n", (int)wname, node_label(n), desc, in, out);
    }
    fprintf(f, "total  %zu params in %zu tensors\n", kb_model_param_count(m), m->n_tensors);
}

/* ------------------------------------------------------------------ safetensors */

static bool is_nbt(const struct kb_tensor *t)
{
    size_t l = strlen(t->name), s = strlen(".num_batches_tracked");
    return l >= s && !strcmp(t->name + l - s, ".num_batches_tracked");
}

static void dims_str(char *out, size_t size, int ndim, const int64_t *shape)
{
    size_t o = 0;
    out[0] = 0;
    if (ndim == 0) {
        snprintf(out, size, "scalar");
        return;
    }
    for (int i = 0; i < ndim && o < size; i++) {
        int k = snprintf(out + o, size - o, i ? "x%lld" : "%lld", (long long)shape[i]);
        if (k < 0)
            break;
        o += (size_t)k;
    }
}

/* Append "name" to a bounded list text; counts every item. */
struct namelist {
    char text[320];
    size_t count;
};

static void namelist_add(struct namelist *l, const char *item)
{
    l->count++;
    size_t o = strlen(l->text);
    if (o + strlen(item) + 8 >= sizeof l->text) {
        if (!strstr(l->text, ", ..."))
            snprintf(l->text + o, sizeof l->text - o, ", ...");
        return;
    }
    snprintf(l->text + o, sizeof l->text - o, "%s%s", o ? ", " : "", item);
}

static bool shape_matches(const struct kb_tensor *t, const struct kb_st_tensor *s)
{
    if (t->numel != s->numel)
        return false;
    if (t->ndim == 0 || s->ndim == 0)
        return t->numel == 1;   /* scalar vs [1] (num_batches_tracked) */
    if (t->ndim != s->ndim)
        return false;
    for (int i = 0; i < t->ndim; i++)
        if (t->shape[i] != s->shape[i])
            return false;
    return true;
}

int kb_model_load(struct kb_model *m, const char *path, const char *skip, struct kb_error *err)
{
    if (!m->finished)
        return kb_error_set(err, "%s: model not finished", path);
    struct kb_safetensors st;
    if (kb_st_open(&st, path, err) < 0)
        return -1;
    struct namelist missing = {0}, unexpected = {0}, misshaped = {0};
    for (size_t i = 0; i < m->n_tensors; i++) {
        const struct kb_tensor *t = &m->tensors[i];
        if (skip && fnmatch(skip, t->name, 0) == 0)
            continue;
        const struct kb_st_tensor *s = kb_st_find(&st, t->name);
        if (!s) {
            namelist_add(&missing, t->name);
        } else if (!shape_matches(t, s)) {
            char a[64], b[64], item[200];
            dims_str(a, sizeof a, s->ndim, s->shape);
            dims_str(b, sizeof b, t->ndim, t->shape);
            snprintf(item, sizeof item, "%s: file %s, model %s", t->name, a, b);
            namelist_add(&misshaped, item);
        }
    }
    for (size_t i = 0; i < st.n_tensors; i++) {
        const char *name = st.tensors[i].name;
        if (skip && fnmatch(skip, name, 0) == 0)
            continue;
        if (!kb_model_find(m, name))
            namelist_add(&unexpected, name);
    }
    if (missing.count || unexpected.count || misshaped.count) {
        char msg[KB_ERROR_MAX] = "";
        size_t o = 0;
        if (missing.count)
            o += (size_t)snprintf(msg + o, sizeof msg - o, "%zu missing (%s)", missing.count,
                                  missing.text);
        if (unexpected.count && o < sizeof msg)
            o += (size_t)snprintf(msg + o, sizeof msg - o, "%s%zu unexpected (%s)",
                                  o ? "; " : "", unexpected.count, unexpected.text);
        if (misshaped.count && o < sizeof msg)
            snprintf(msg + o, sizeof msg - o, "%s%zu mis-shaped (%s)", o ? "; " : "",
                     misshaped.count, misshaped.text);
        kb_error_set(err, "%s: weights do not match the model: %s", path, msg);
        kb_st_close(&st);
        return -1;
    }
    /* read into a copy first so a failing conversion leaves the model unchanged */
    float *copy = malloc((m->n_params_total ? m->n_params_total : 1) * sizeof(float));
    if (!copy) {
        kb_st_close(&st);
        return kb_error_set(err, "%s: out of memory", path);
    }
    memcpy(copy, m->params, m->n_params_total * sizeof(float));
    for (size_t i = 0; i < m->n_tensors; i++) {
        const struct kb_tensor *t = &m->tensors[i];
        if (skip && fnmatch(skip, t->name, 0) == 0)
            continue;
        const struct kb_st_tensor *s = kb_st_find(&st, t->name);
        float *dst = copy + (size_t)(t->data - m->params);
        if (kb_st_read_f32(&st, s, dst, t->numel, err) < 0) {
            free(copy);
            kb_st_close(&st);
            return -1;
        }
    }
    memcpy(m->params, copy, m->n_params_total * sizeof(float));
    free(copy);
    kb_st_close(&st);
    return 0;
}

int kb_model_save(const struct kb_model *m, const char *path, struct kb_error *err)
{
    if (!m->finished)
        return kb_error_set(err, "%s: model not finished", path);
    struct kb_st_writer *w = kb_st_writer_new();
    if (!w)
        return kb_error_set(err, "%s: out of memory", path);
    int rc = 0;
    if (kb_st_writer_meta(w, "format", "pt", err) < 0)
        rc = -1;
    for (size_t i = 0; rc == 0 && i < m->n_tensors; i++) {
        const struct kb_tensor *t = &m->tensors[i];
        if (is_nbt(t) && t->numel == 1) {
            int64_t v = (int64_t)t->data[0];
            rc = kb_st_writer_add(w, t->name, KB_DT_I64, t->ndim, t->shape, &v, err);
        } else {
            rc = kb_st_writer_add(w, t->name, KB_DT_F32, t->ndim, t->shape, t->data, err);
        }
    }
    if (rc == 0)
        rc = kb_st_writer_save(w, path, err);
    kb_st_writer_free(w);
    return rc < 0 ? -1 : 0;
}

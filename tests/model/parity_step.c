/* parity_step — a helper of parity.py (not a test by itself): two SGD steps
 * (momentum 0.9, weight decay 5e-4, lr 0.1) of a backbone in train mode on
 * one batch, so PyTorch can replay them.
 *
 *   parity_step BACKBONE [KEY=VALUE]... -- WEIGHTS IN OUT_WEIGHTS OUT_GRAD
 *
 * IN holds `input` (N,C,H,W) and `targets` (N, any integer dtype).
 * OUT_WEIGHTS: the weights after two steps (running stats included).
 * OUT_GRAD: `dinput` (N,C,H,W), `loss` (1) and `grad.<tensor>` of the first step. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <keybench/model.h>
#include <keybench/optim.h>
#include <keybench/registry.h>
#include <keybench/safetensors.h>

static int die(const char *msg)
{
    fprintf(stderr, "parity_step: %s\n", msg);
    return 1;
}

int main(int argc, char **argv)
{
    struct kb_error err = {0};
    if (argc < 6)
        return die("usage: parity_step BACKBONE [KEY=VALUE]... -- WEIGHTS IN OUT_W OUT_G");
    int sep = 2;
    while (sep < argc && strcmp(argv[sep], "--"))
        sep++;
    if (argc - sep != 5)
        return die("expected four files after --");
    const char *wpath = argv[sep + 1], *inpath = argv[sep + 2], *outw = argv[sep + 3],
               *outg = argv[sep + 4];
    struct kb_registry *reg;
    if (kb_registry_open(&reg, NULL, 0, &err) < 0)
        return die(err.msg);
    const struct kb_plugin *p = kb_registry_find(reg, KB_KIND_BACKBONE, argv[1]);
    if (!p)
        return die("unknown backbone");
    struct kb_params *params;
    if (kb_params_new(&params, p->params, &err) < 0)
        return die(err.msg);
    for (int i = 2; i < sep; i++) {
        char *eq = strchr(argv[i], '=');
        if (!eq)
            return die("expected KEY=VALUE");
        *eq = 0;
        if (kb_params_set(params, argv[i], eq + 1, &err) < 0)
            return die(err.msg);
    }
    struct kb_safetensors in;
    if (kb_st_open(&in, inpath, &err) < 0)
        return die(err.msg);
    const struct kb_st_tensor *tx = kb_st_find(&in, "input"), *ty = kb_st_find(&in, "targets");
    if (!tx || tx->ndim != 4 || !ty || ty->numel != (size_t)tx->shape[0])
        return die("IN needs input (N,C,H,W) and targets (N)");
    int64_t n = tx->shape[0];
    float *x = malloc(tx->numel * sizeof *x), *yf = malloc(ty->numel * sizeof *yf);
    float *dx = calloc(tx->numel, sizeof *dx);
    int32_t *y = malloc(ty->numel * sizeof *y);
    if (!x || !yf || !dx || !y)
        return die("out of memory");
    if (kb_st_read_f32(&in, tx, x, tx->numel, &err) < 0 ||
        kb_st_read_f32(&in, ty, yf, ty->numel, &err) < 0)
        return die(err.msg);
    for (int64_t i = 0; i < n; i++)
        y[i] = (int32_t)yf[i];
    /* classes from the weights: the head's first dimension */
    struct kb_model *m;
    if (kb_model_build(&m, p, params, tx->shape[1], tx->shape[2], tx->shape[3], 1, &err) < 0)
        return die(err.msg);
    char head[256];
    snprintf(head, sizeof head, "%s", kb_model_head_name(m));
    kb_model_free(m);
    struct kb_safetensors ws;
    if (kb_st_open(&ws, wpath, &err) < 0)
        return die(err.msg);
    const struct kb_st_tensor *th = kb_st_find(&ws, head);
    if (!th)
        return die("weights lack the head tensor");
    int64_t classes = th->shape[0];
    kb_st_close(&ws);
    if (kb_model_build(&m, p, params, tx->shape[1], tx->shape[2], tx->shape[3], classes,
                       &err) < 0 ||
        kb_model_load(m, wpath, NULL, &err) < 0)
        return die(err.msg);
    struct kb_optim_config oc = kb_optim_config_default(KB_OPTIM_SGD);
    oc.momentum = 0.9;
    oc.weight_decay = 5e-4;
    struct kb_optim *opt;
    if (kb_optim_new(&opt, m, &oc, &err) < 0)
        return die(err.msg);
    float loss0 = 0.0f;
    struct kb_st_writer *gw = kb_st_writer_new();
    if (!gw)
        return die("out of memory");
    for (int step = 0; step < 2; step++) {
        kb_model_zero_grad(m);
        if (!kb_model_forward(m, x, n, true))
            return die("forward failed");
        double loss = kb_model_loss(m, y, 0.0f);
        kb_model_backward(m, NULL, step == 0 ? dx : NULL);
        if (step == 0) {
            loss0 = (float)loss;
            /* gradients of the first step, named grad.<tensor> */
            for (size_t i = 0; i < kb_model_tensor_count(m); i++) {
                const struct kb_tensor *t = kb_model_tensor(m, i);
                char gname[300];
                if (!t->grad)
                    continue;
                snprintf(gname, sizeof gname, "grad.%s", t->name);
                if (kb_st_writer_add(gw, gname, KB_DT_F32, t->ndim, t->shape, t->grad, &err) < 0)
                    return die(err.msg);
            }
        }
        kb_optim_step(opt, 0.1);
    }
    if (kb_model_save(m, outw, &err) < 0)
        return die(err.msg);
    struct kb_st_writer *w = gw;
    int64_t one = 1;
    if (kb_st_writer_add(w, "dinput", KB_DT_F32, 4, tx->shape, dx, &err) < 0 ||
        kb_st_writer_add(w, "loss", KB_DT_F32, 1, &one, &loss0, &err) < 0 ||
        kb_st_writer_save(w, outg, &err) < 0)
        return die(err.msg);
    kb_st_writer_free(w);
    kb_optim_free(opt);
    kb_model_free(m);
    kb_st_close(&in);
    kb_params_free(params);
    kb_registry_free(reg);
    free(x);
    free(yf);
    free(dx);
    free(y);
    return 0;
}

/* Training and evaluation loops over views (dataset → transform → normalise → NCHW). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <keybench/rng.h>
#include <keybench/train.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void kb_view_batch(float *out, int32_t *labels, float *scratch, const struct kb_view *v,
                   const uint32_t *order, size_t start, size_t count)
{
    const struct kb_dataset *ds = v->ds;
    const size_t c = ds->c, hw = (size_t)ds->h * ds->w, img = hw * c;
    for (size_t b = 0; b < count; b++) {
        size_t pos = order ? order[start + b] : start + b;
        size_t i = v->idx ? v->idx[pos] : pos;
        labels[b] = (int32_t)ds->labels[i];
        const uint8_t *src = ds->images + i * img;
        if (v->ops) {
            /* transforms take contiguous images: encrypt one at a time */
            v->ops->encrypt(v->state, v->key, scratch + b * img, src, 1);
        } else {
            for (size_t k = 0; k < img; k++)
                scratch[b * img + k] = (float)src[k] / 255.0f;
        }
    }
    /* HWC [0,1] -> normalised NCHW */
    for (size_t b = 0; b < count; b++) {
        const float *s = scratch + b * img;
        float *o = out + b * img;
        for (size_t ch = 0; ch < c; ch++) {
            const float mu = v->mean[ch], inv = 1.0f / v->std[ch];
            float *oc = o + ch * hw;
            for (size_t p = 0; p < hw; p++)
                oc[p] = (s[p * c + ch] - mu) * inv;
        }
    }
}

void kb_view_channel_stats(float *mean, float *std, const struct kb_dataset *ds,
                           const uint32_t *idx, size_t n)
{
    const size_t c = ds->c, img = (size_t)ds->h * ds->w * c;
    for (size_t ch = 0; ch < c; ch++) {
        double s = 0, s2 = 0;
        uint64_t cnt = 0;
        for (size_t j = 0; j < n; j++) {
            const uint8_t *p = ds->images + (size_t)(idx ? idx[j] : j) * img;
            for (size_t k = ch; k < img; k += c) {
                double x = p[k] / 255.0;
                s += x;
                s2 += x * x;
                cnt++;
            }
        }
        double m = cnt ? s / (double)cnt : 0.0;
        double var = cnt ? s2 / (double)cnt - m * m : 1.0;
        mean[ch] = (float)m;
        std[ch] = (float)(var > 1e-12 ? sqrt(var) : 1.0);
    }
}

struct kb_train_config kb_train_config_default(void)
{
    struct kb_train_config c = {0};
    c.stage = "train";
    c.epochs = 1;
    c.batch_size = 128;
    c.optim = kb_optim_config_default(KB_OPTIM_SGD);
    c.optim.momentum = 0.9;
    c.optim.weight_decay = 5e-4;
    c.schedule = KB_SCHED_COSINE;
    c.lr = 0.05;
    c.gamma = 0.1;
    return c;
}

int kb_train(struct kb_model *m, const struct kb_view *v, const struct kb_train_config *cfg,
             double *final_loss, kb_progress_fn progress, void *ctx, struct kb_error *err)
{
    if (final_loss)
        *final_loss = NAN;
    if (cfg->epochs <= 0 || v->n == 0)
        return 0;
    const size_t bs = (size_t)cfg->batch_size;
    const size_t img = kb_dataset_image_size(v->ds);
    size_t batches = (v->n + bs - 1) / bs;
    if (v->n % bs == 1 && batches > 1)
        batches--; /* drop a last batch of one image */
    const int64_t total = cfg->epochs * (int64_t)batches;

    struct kb_schedule sc = kb_schedule_default(cfg->schedule, cfg->lr, total);
    sc.min_lr = cfg->min_lr;
    sc.gamma = cfg->gamma;
    sc.warmup_steps = cfg->warmup_epochs * (int64_t)batches;
    if (cfg->schedule == KB_SCHED_STEP)
        sc.step_size = (int64_t)batches; /* one decay per epoch (the spec's epochs-based step) */
    sc.n_milestones = cfg->n_milestones;
    for (size_t i = 0; i < cfg->n_milestones; i++)
        sc.milestones[i] = cfg->milestones[i] * (int64_t)batches;
    if (kb_schedule_check(&sc, err) < 0)
        return kb_error_prefix(err, "%s schedule", cfg->stage);

    struct kb_optim *opt;
    if (kb_optim_new(&opt, m, &cfg->optim, err) < 0)
        return kb_error_prefix(err, "%s optimizer", cfg->stage);

    float *x = malloc(bs * img * sizeof *x), *scratch = malloc(bs * img * sizeof *scratch);
    int32_t *y = malloc(bs * sizeof *y);
    uint32_t *order = malloc(v->n * sizeof *order);
    if (!x || !scratch || !y || !order) {
        free(x), free(scratch), free(y), free(order);
        kb_optim_free(opt);
        return kb_error_set(err, "%s: out of memory for a batch of %zu", cfg->stage, bs);
    }
    struct kb_rng rng;
    kb_rng_init_seed(&rng, cfg->seed, "shuffle");
    int64_t step = 0;
    for (int64_t e = 1; e <= cfg->epochs; e++) {
        kb_rng_permutation(&rng, order, (uint32_t)v->n);
        double loss_sum = 0;
        double t0 = now_s();
        size_t seen = 0;
        for (size_t b = 0; b < batches; b++) {
            size_t start = b * bs, count = v->n - start < bs ? v->n - start : bs;
            kb_view_batch(x, y, scratch, v, order, start, count);
            kb_model_zero_grad(m);
            kb_model_forward(m, x, (int64_t)count, true);
            double loss = kb_model_loss(m, y, cfg->label_smoothing);
            kb_model_backward(m, NULL, NULL);
            kb_optim_step(opt, kb_schedule_lr(&sc, step++));
            loss_sum += loss;
            seen += count;
            if (!isfinite(loss)) {
                free(x), free(scratch), free(y), free(order);
                kb_optim_free(opt);
                return kb_error_set(err,
                                    "%s: the loss became %f at epoch %lld batch %zu; "
                                    "lower the learning rate",
                                    cfg->stage, loss, (long long)e, b + 1);
            }
            if (progress) {
                double dt = now_s() - t0;
                struct kb_progress p = { cfg->stage, e, cfg->epochs, (int64_t)b + 1,
                                         (int64_t)batches, loss_sum / (double)(b + 1),
                                         dt > 0 ? (double)seen / dt : 0.0, dt };
                progress(ctx, &p);
            }
        }
        if (final_loss)
            *final_loss = loss_sum / (double)batches;
    }
    kb_rng_wipe(&rng);
    free(x), free(scratch), free(y), free(order);
    kb_optim_free(opt);
    return 0;
}

int kb_evaluate(struct kb_eval_result *r, struct kb_model *m, const struct kb_view *v,
                int64_t batch_size, struct kb_error *err)
{
    memset(r, 0, sizeof *r);
    const size_t bs = (size_t)(batch_size > 0 ? batch_size : 256);
    const size_t img = kb_dataset_image_size(v->ds);
    const int64_t k = kb_model_classes(m);
    r->n_classes = v->ds->n_classes;
    r->class_total = calloc(r->n_classes ? r->n_classes : 1, sizeof *r->class_total);
    r->class_correct = calloc(r->n_classes ? r->n_classes : 1, sizeof *r->class_correct);
    float *x = malloc(bs * img * sizeof *x), *scratch = malloc(bs * img * sizeof *scratch);
    int32_t *y = malloc(bs * sizeof *y);
    if (!r->class_total || !r->class_correct || !x || !scratch || !y) {
        free(x), free(scratch), free(y);
        kb_eval_result_free(r);
        return kb_error_set(err, "evaluate: out of memory");
    }
    double loss_sum = 0;
    for (size_t start = 0; start < v->n; start += bs) {
        size_t count = v->n - start < bs ? v->n - start : bs;
        kb_view_batch(x, y, scratch, v, NULL, start, count);
        const float *logits = kb_model_forward(m, x, (int64_t)count, false);
        loss_sum += kb_model_loss(m, y, 0.0f) * (double)count;
        for (size_t b = 0; b < count; b++) {
            const float *row = logits + b * (size_t)k;
            int64_t best = 0;
            for (int64_t j = 1; j < k; j++)
                if (row[j] > row[best])
                    best = j;
            uint32_t label = (uint32_t)y[b];
            r->class_total[label]++;
            if (best == (int64_t)label) {
                r->class_correct[label]++;
                r->correct++;
            }
            r->n++;
        }
    }
    r->loss = r->n ? loss_sum / (double)r->n : NAN;
    free(x), free(scratch), free(y);
    return 0;
}

void kb_eval_result_free(struct kb_eval_result *r)
{
    free(r->class_total);
    free(r->class_correct);
    memset(r, 0, sizeof *r);
}

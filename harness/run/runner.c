/* The runner: pretrain → protect → evaluate for every cell of a plan, with a
 * content-addressed checkpoint cache, resumable per-cell status, a synced
 * journal, progress on stderr and a summary at the end. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include <keybench/dataset.h>
#include <keybench/journal.h>
#include <keybench/keys.h>
#include <keybench/model.h>
#include <keybench/nn.h>
#include <keybench/registry.h>
#include <keybench/report.h>
#include <keybench/runner.h>
#include <keybench/samples.h>
#include <keybench/secret.h>
#include <keybench/spec.h>
#include <keybench/train.h>
#include "run_internal.h"

struct kb_run_options kb_run_options_default(void)
{
    struct kb_run_options o = {0};
    o.shard_k = 1;
    o.shard_n = 1;
    o.summary = true;
    return o;
}

/* ------------------------------------------------------------------ helpers */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int kb_mkdir_p(const char *path, struct kb_error *err)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return kb_error_set(err, "%s: path too long", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
            return kb_error_set(err, "%s: cannot create directory: %s", buf, strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, 0755) < 0 && errno != EEXIST)
        return kb_error_set(err, "%s: cannot create directory: %s", buf, strerror(errno));
    return 0;
}

/* Hex BLAKE2b-256 of a canonical JSON value (sorted keys, compact). */
void kb_json_hash(char out[65], const json_t *v)
{
    char *text = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    uint8_t h[32];
    crypto_generichash(h, sizeof h, (const uint8_t *)(text ? text : ""), text ? strlen(text) : 0,
                       NULL, 0);
    sodium_bin2hex(out, 65, h, sizeof h);
    free(text);
}

/* Hex BLAKE2b-256 of a file's content, streamed. */
static int hash_file(char out[65], const char *path, struct kb_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return kb_error_set(err, "%s: cannot open: %s", path, strerror(errno));
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, 32);
    uint8_t buf[1 << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        crypto_generichash_update(&st, buf, n);
    bool bad = ferror(f);
    fclose(f);
    if (bad)
        return kb_error_set(err, "%s: read error", path);
    uint8_t h[32];
    crypto_generichash_final(&st, h, sizeof h);
    sodium_bin2hex(out, 65, h, sizeof h);
    return 0;
}

static int write_text(const char *path, const char *text, struct kb_error *err)
{
    return kb_file_write_atomic(path, text, strlen(text), 0644, false, err);
}

static char *read_text(const char *path)
{
    uint8_t *data;
    size_t n;
    struct kb_error e;
    if (kb_file_read_all(path, 1 << 20, &data, &n, &e) < 0)
        return NULL;
    return (char *)data;
}

/* ------------------------------------------------------------------ progress */

struct progress {
    bool quiet, tty;
    size_t cell_i, cell_n;
    const char *cell_name;
    double last_print;
    FILE *log;   /* the cell's log file */
};

static void progress_line(struct progress *pr, const char *fmt, ...) KB_PRINTF(2, 3);
static void progress_line(struct progress *pr, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (pr->log) {
        fprintf(pr->log, "%s\n", line);
        fflush(pr->log);
    }
    if (pr->quiet)
        return;
    if (pr->tty)
        fprintf(stderr, "\r\033[K%s\n", line);
    else
        fprintf(stderr, "%s\n", line);
}

static void on_progress(void *ctx, const struct kb_progress *p)
{
    struct progress *pr = ctx;
    double t = now_s();
    bool last = p->batch == p->batches;
    if (pr->log && last)
        fprintf(pr->log, "%s epoch %lld/%lld loss %.4f %.0f img/s\n", p->stage,
                (long long)p->epoch, (long long)p->epochs, p->loss, p->images_per_s),
            fflush(pr->log);
    if (pr->quiet)
        return;
    double per_batch = p->batch > 0 ? p->epoch_seconds / (double)p->batch : 0.0;
    double eta = per_batch * ((double)(p->epochs - p->epoch) * (double)p->batches +
                              (double)(p->batches - p->batch));
    if (pr->tty) {
        if (t - pr->last_print < 0.2 && !last)
            return;
        pr->last_print = t;
        int width = 20, filled = (int)(width * p->batch / (p->batches ? p->batches : 1));
        char bar[32];
        for (int i = 0; i < width; i++)
            bar[i] = i < filled ? '#' : '.';
        bar[width] = '\0';
        fprintf(stderr,
                "\r\033[Kcell %zu/%zu %s | %s epoch %lld/%lld [%s] %lld/%lld loss %.4f "
                "%.0f img/s ETA %.0f s",
                pr->cell_i, pr->cell_n, pr->cell_name, p->stage, (long long)p->epoch,
                (long long)p->epochs, bar, (long long)p->batch, (long long)p->batches, p->loss,
                p->images_per_s, eta);
        fflush(stderr);
    } else if (last || t - pr->last_print > 15.0) {
        pr->last_print = t;
        fprintf(stderr,
                "cell %zu/%zu %s: %s epoch %lld/%lld batch %lld/%lld loss %.4f %.0f img/s "
                "ETA %.0f s\n",
                pr->cell_i, pr->cell_n, pr->cell_name, p->stage, (long long)p->epoch,
                (long long)p->epochs, (long long)p->batch, (long long)p->batches, p->loss,
                p->images_per_s, eta);
    }
}

static void on_attack_progress(void *ctx, const char *attack, const char *what, double done,
                               double total)
{
    struct progress *pr = ctx;
    double t = now_s();
    bool last = done >= total;
    if (pr->quiet || (!last && t - pr->last_print < (pr->tty ? 0.2 : 15.0)))
        return;
    pr->last_print = t;
    if (pr->tty)
        fprintf(stderr, "\r\033[Kcell %zu/%zu %s | attack %s: %s %.0f/%.0f", pr->cell_i,
                pr->cell_n, pr->cell_name, attack, what, done, total);
    else
        fprintf(stderr, "cell %zu/%zu %s: attack %s: %s %.0f/%.0f\n", pr->cell_i, pr->cell_n,
                pr->cell_name, attack, what, done, total);
}

/* ------------------------------------------------------------------ datasets */

struct data_cache {
    char key[4096];
    struct kb_dataset train, test;
    float mean[4], std[4];
};

static int data_get(struct data_cache *dc, const struct kb_cell *c, struct kb_error *err)
{
    const char *name = kb_cell_str(c, "dataset.name");
    const char *path = kb_cell_str(c, "dataset.path");
    char key[4096];
    snprintf(key, sizeof key, "%s\n%s", name, path ? path : "");
    if (dc->train.n && !strcmp(key, dc->key))
        return 0;
    kb_dataset_free(&dc->train);
    kb_dataset_free(&dc->test);
    dc->key[0] = '\0';
    if (kb_dataset_open(&dc->train, &dc->test, name, path, err) < 0)
        return -1;
    if (dc->test.n == 0) {
        kb_dataset_free(&dc->train);
        return kb_error_set(err, "dataset %s%s%s: no test set (a PNG folder needs train/ and test/)",
                            name, path ? " at " : "", path ? path : "");
    }
    if (dc->train.c > 4) {
        kb_dataset_free(&dc->train);
        kb_dataset_free(&dc->test);
        return kb_error_set(err, "dataset %s: %u channels; at most 4 supported", name, dc->train.c);
    }
    /* normalisation constants: plain training images, computed once */
    kb_view_channel_stats(dc->mean, dc->std, &dc->train, NULL, dc->train.n);
    snprintf(dc->key, sizeof dc->key, "%s", key);
    return 0;
}

/* Size of a split from its {fraction|count}; error when larger than available. */
static int split_size(size_t *out, const struct kb_cell *c, const char *split, size_t avail,
                      struct kb_error *err)
{
    char path[64];
    snprintf(path, sizeof path, "splits.%s.count", split);
    const json_t *cnt = kb_cell_get(c, path);
    if (cnt && json_is_integer(cnt)) {
        json_int_t n = json_integer_value(cnt);
        if ((size_t)n > avail)
            return kb_error_set(err, "splits.%s.count = %lld but only %zu images are available",
                                split, (long long)n, avail);
        *out = (size_t)n;
        return 0;
    }
    snprintf(path, sizeof path, "splits.%s.fraction", split);
    const json_t *fr = kb_cell_get(c, path);
    double f = fr ? json_number_value(fr) : 1.0;
    *out = kb_subset_count(avail, f);
    if (*out == 0)
        return kb_error_set(err, "splits.%s: %g of %zu images is empty", split, f, avail);
    return 0;
}

struct splits {
    uint32_t *pretrain, *finetune, *attacker, *test;
    size_t n_pretrain, n_finetune, n_attacker, n_test;
};

static void splits_free(struct splits *s)
{
    free(s->pretrain), free(s->finetune), free(s->attacker), free(s->test);
    memset(s, 0, sizeof *s);
}

/* Pretrain: fixed seed (shared by every cell that shares the pretrained model);
 * finetune and attacker: the cell's seed, disjoint from each other when
 * splits.disjoint; test: from the test set. */
static int make_splits(struct splits *s, const struct kb_cell *c, const struct data_cache *dc,
                       uint64_t seed, uint64_t pretrain_seed, struct kb_error *err)
{
    memset(s, 0, sizeof *s);
    const struct kb_dataset *tr = &dc->train, *te = &dc->test;
    bool disjoint = kb_cell_bool(c, "splits.disjoint");
    uint8_t *taken = calloc(tr->n, 1);
    if (!taken)
        return kb_error_set(err, "out of memory");
    int rc = -1;
    if (split_size(&s->n_pretrain, c, "pretrain", tr->n, err) < 0 ||
        !(s->pretrain = malloc(s->n_pretrain * sizeof *s->pretrain)) ||
        kb_dataset_subset(s->pretrain, tr, s->n_pretrain, NULL, pretrain_seed, "pretrain", err) < 0)
        goto out;
    if (split_size(&s->n_finetune, c, "finetune", tr->n, err) < 0 ||
        !(s->finetune = malloc(s->n_finetune * sizeof *s->finetune)) ||
        kb_dataset_subset(s->finetune, tr, s->n_finetune, disjoint ? taken : NULL, seed,
                          "finetune", err) < 0)
        goto out;
    size_t avail = tr->n;
    if (disjoint)
        avail -= s->n_finetune;
    if (split_size(&s->n_attacker, c, "attacker", avail, err) < 0 ||
        !(s->attacker = malloc(s->n_attacker * sizeof *s->attacker)) ||
        kb_dataset_subset(s->attacker, tr, s->n_attacker, disjoint ? taken : NULL, seed,
                          "attacker", err) < 0)
        goto out;
    if (split_size(&s->n_test, c, "test", te->n, err) < 0 ||
        !(s->test = malloc(s->n_test * sizeof *s->test)))
        goto out;
    if (s->n_test == te->n) {
        for (size_t i = 0; i < s->n_test; i++)
            s->test[i] = (uint32_t)i;
    } else if (kb_dataset_subset(s->test, te, s->n_test, NULL, 0, "test", err) < 0) {
        goto out;
    }
    rc = 0;
out:
    if (rc < 0 && !err->msg[0])
        kb_error_set(err, "out of memory for the splits");
    if (rc < 0)
        splits_free(s);
    free(taken);
    return rc;
}

/* ------------------------------------------------------------------ training config from a cell */

void kb_run_train_config(struct kb_train_config *tc, const struct kb_cell *c, const char *stage,
                         uint64_t seed)
{
    char p[96];
    *tc = kb_train_config_default();
    tc->stage = stage;
#define GET(kind, field) (snprintf(p, sizeof p, "%s." field, stage), kb_cell_##kind(c, p))
    tc->epochs = GET(int, "epochs");
    tc->batch_size = GET(int, "batch_size");
    enum kb_optim_kind ok = kb_optim_kind_parse(GET(str, "optimizer"));
    tc->optim = kb_optim_config_default(ok);
    if (ok == KB_OPTIM_SGD) {
        tc->optim.momentum = GET(float, "momentum");
        tc->optim.nesterov = GET(bool, "nesterov");
    }
    tc->optim.weight_decay = GET(float, "weight_decay");
    tc->lr = GET(float, "lr");
    tc->schedule = kb_sched_kind_parse(GET(str, "schedule"));
    tc->gamma = GET(float, "gamma");
    tc->warmup_epochs = GET(int, "warmup_epochs");
    tc->label_smoothing = (float)GET(float, "label_smoothing");
    snprintf(p, sizeof p, "%s.milestones", stage);
    const json_t *ms = kb_cell_get(c, p);
    tc->n_milestones = 0;
    for (size_t i = 0; ms && json_is_array(ms) && i < json_array_size(ms) &&
                       i < KB_SCHED_MAX_MILESTONES;
         i++)
        tc->milestones[tc->n_milestones++] = json_integer_value(json_array_get(ms, i));
#undef GET
    tc->seed = seed;
}

/* The part of a cell that determines a stage's checkpoint, as JSON. */
static json_t *stage_identity(const struct kb_cell *c, const char *stage)
{
    json_t *id = json_object();
    json_object_set(id, "dataset", (json_t *)kb_cell_get(c, "dataset"));
    json_object_set(id, "backbone", (json_t *)kb_cell_get(c, "backbone"));
    json_object_set(id, "pretrain", (json_t *)kb_cell_get(c, "pretrain"));
    json_object_set(id, "split_pretrain", (json_t *)kb_cell_get(c, "splits.pretrain"));
    json_object_set_new(id, "engine", json_string(kb_version()));
    /* training is bit-identical for a given thread count, not across counts */
    json_object_set_new(id, "engine_threads", json_integer(kb_nn_threads()));
    if (!strcmp(stage, "protect")) {
        json_object_set(id, "transform", (json_t *)kb_cell_get(c, "transform"));
        json_object_set(id, "finetune", (json_t *)kb_cell_get(c, "finetune"));
        json_object_set(id, "splits", (json_t *)kb_cell_get(c, "splits"));
        json_object_set(id, "seed", (json_t *)kb_cell_get(c, "seed"));
    }
    return id;
}

static const char *plugin_file_hash(const struct kb_registry *reg, const struct kb_plugin *p)
{
    for (size_t i = 0; i < kb_registry_count(reg); i++)
        if (kb_registry_get(reg, i, NULL) == p)
            return kb_registry_file_hash(reg, i);
    return "";
}

/* ------------------------------------------------------------------ one cell */

struct run_ctx {
    const struct kb_run_options *o;
    const struct kb_registry *reg;
    const struct kb_plan *plan;
    const char *run_dir, *cache_dir;
    const uint8_t *master;
    struct kb_journal *journal;
    struct data_cache data;
    json_t *provenance;
    char spec_hash[65];
    struct progress pr;
};

struct cell_ctx {
    struct run_ctx *r;
    const struct kb_cell *cell;
    json_t *base;     /* fields shared by every record of the cell */
    double t0;
};

static int record(struct cell_ctx *cc, const char *condition, const char *metric, double value,
                  uint64_t n, double ci_lo, double ci_hi, json_t *extra, struct kb_error *err)
{
    json_t *rec = json_deep_copy(cc->base);
    json_object_set_new(rec, "type", json_string("measurement"));
    json_object_set_new(rec, "condition", json_string(condition));
    json_object_set_new(rec, "metric", json_string(metric));
    json_object_set_new(rec, "value", isfinite(value) ? json_real(value) : json_null());
    json_object_set_new(rec, "n", json_integer((json_int_t)n));
    json_object_set_new(rec, "ci_low", isfinite(ci_lo) ? json_real(ci_lo) : json_null());
    json_object_set_new(rec, "ci_high", isfinite(ci_hi) ? json_real(ci_hi) : json_null());
    json_object_set_new(rec, "wall_s", json_real(now_s() - cc->t0));
    if (extra) {
        /* extra fields never shadow the record's own */
        const char *k;
        json_t *v;
        json_object_foreach(extra, k, v) {
            if (json_object_get(rec, k)) {
                kb_error_set(err, "%s/%s: extra field '%s' is a field of every journal record; "
                             "rename it", condition, metric, k);
                json_decref(extra);
                json_decref(rec);
                return -1;
            }
        }
        json_object_update(rec, extra);
    }
    json_decref(extra);
    int rc = kb_journal_append(cc->r->journal, rec, err);
    json_decref(rec);
    return rc;
}

int kb_run_record(void *cell_ctx, const char *condition, const char *metric, double value,
                  uint64_t n, double ci_lo, double ci_hi, json_t *extra, struct kb_error *err)
{
    return record(cell_ctx, condition, metric, value, n, ci_lo, ci_hi, extra, err);
}

/* Stage wall times: journal records of type "timing" (reports show them as
 * provenance; results.csv carries measurements only). */
static int record_timing(struct cell_ctx *cc, const char *stage, double seconds, uint64_t n,
                         double train_loss, struct kb_error *err)
{
    json_t *rec = json_deep_copy(cc->base);
    json_object_set_new(rec, "type", json_string("timing"));
    json_object_set_new(rec, "stage", json_string(stage));
    json_object_set_new(rec, "seconds", json_real(seconds));
    json_object_set_new(rec, "n", json_integer((json_int_t)n));
    if (isfinite(train_loss))
        json_object_set_new(rec, "train_loss", json_real(train_loss));
    int rc = kb_journal_append(cc->r->journal, rec, err);
    json_decref(rec);
    return rc;
}

/* A cell's public random stream NAME: seeded by the transform, its
 * parameters and the seed (the key context, which is public), not by the
 * cell id, so the same spec run from another folder draws the same wrong
 * keys. The domain is "NAME/<key context>", cut at 63 bytes (as it always
 * was: a longer one would draw other keys than earlier runs). */
static void public_stream(struct kb_rng *r, const char *name, const struct kb_plugin *tp,
                          const struct kb_cell *c, uint64_t seed)
{
    char domain[64];
    char *kctx = kb_key_context(tp->name, kb_cell_params(c, KB_KIND_TRANSFORM), seed);
    snprintf(domain, sizeof domain, "%s/%s", name, kctx ? kctx : tp->name);
    free(kctx);
    kb_rng_init_seed(r, seed, domain);
}

static int record_eval(struct cell_ctx *cc, const char *condition, const struct kb_eval_result *e,
                       bool per_class, const struct kb_dataset *ds, struct kb_error *err)
{
    double lo, hi, acc = e->n ? (double)e->correct / (double)e->n : NAN;
    kb_wilson(&lo, &hi, (double)e->correct, (double)e->n, 1.96);
    if (record(cc, condition, "accuracy", acc, e->n, lo, hi, NULL, err) < 0 ||
        record(cc, condition, "loss", e->loss, e->n, NAN, NAN, NULL, err) < 0)
        return -1;
    if (!per_class)
        return 0;
    for (uint32_t k = 0; k < e->n_classes; k++) {
        double a = e->class_total[k] ? (double)e->class_correct[k] / (double)e->class_total[k] : NAN;
        kb_wilson(&lo, &hi, (double)e->class_correct[k], (double)e->class_total[k], 1.96);
        /* class_index: the dataset's label, so reports keep the dataset's class order */
        json_t *extra = json_pack("{s:s, s:I}", "class", ds->class_names[k], "class_index",
                                  (json_int_t)k);
        if (record(cc, condition, "class_accuracy", a, e->class_total[k], lo, hi, extra, err) < 0)
            return -1;
    }
    return 0;
}

int kb_run_build_model(struct kb_model **out, const struct kb_cell *c, const struct kb_dataset *ds,
                       struct kb_error *err)
{
    const struct kb_plugin *bp = kb_cell_plugin(c, KB_KIND_BACKBONE);
    const struct kb_backbone_ops *ops = bp->ops;
    struct kb_model *m;
    if (kb_model_new(&m, ds->c, ds->h, ds->w, err) < 0)
        return -1;
    int x = ops->build(m, kb_cell_params(c, KB_KIND_BACKBONE), ds->n_classes, err);
    if (x < 0 || kb_model_finish(m, x, err) < 0) {
        kb_model_free(m);
        return kb_error_prefix(err, "backbone %s", bp->name);
    }
    *out = m;
    return 0;
}

static bool file_exists(const char *p)
{
    return access(p, F_OK) == 0;
}

/* Load a cached checkpoint. A checkpoint that exists but does not load (cut
 * short by a full disk, or from an incompatible build) is moved aside to
 * PATH.bad, reported, and the stage runs again. The model is unchanged when
 * nothing was loaded. */
static bool load_cached(struct kb_model *m, const char *path, struct progress *pr)
{
    if (!file_exists(path))
        return false;
    struct kb_error e = {0};
    if (kb_model_load(m, path, NULL, &e) == 0)
        return true;
    char bad[4300];
    snprintf(bad, sizeof bad, "%s.bad", path);
    if (rename(path, bad) == 0)
        progress_line(pr, "keybench: warning: cached checkpoint unusable, moved to %s and "
                          "recomputed: %s", bad, e.msg);
    else
        progress_line(pr, "keybench: warning: cached checkpoint unusable, recomputed: %s",
                      e.msg);
    return false;
}

static int run_cell(struct cell_ctx *cc, struct kb_error *err)
{
    struct run_ctx *r = cc->r;
    const struct kb_cell *c = cc->cell;
    int rc = -1;
    struct kb_model *model = NULL;
    void *tstate = NULL, *key = NULL, *wkey = NULL;
    uint8_t *secret = NULL;
    struct splits sp = {0};
    const struct kb_plugin *tp = kb_cell_plugin(c, KB_KIND_TRANSFORM);
    const struct kb_transform_ops *tops = tp->ops;
    uint64_t seed = (uint64_t)kb_cell_int(c, "seed");

    if (data_get(&r->data, c, err) < 0)
        goto out;
    const struct kb_dataset *tr = &r->data.train, *te = &r->data.test;
    if (make_splits(&sp, c, &r->data, seed, 0, err) < 0)
        goto out;

    /* transform state and the cell's key */
    struct kb_image_shape shape = { tr->h, tr->w, tr->c };
    if (tops->create(&tstate, kb_cell_params(c, KB_KIND_TRANSFORM), &shape, err) < 0) {
        tstate = NULL;
        kb_error_prefix(err, "transform %s", tp->name);
        goto out;
    }
    size_t ksize = tops->key_size(tstate);
    key = kb_secret_alloc_size(ksize);
    wkey = kb_secret_alloc_size(ksize);
    secret = kb_secret_alloc();
    if (!key || !wkey || !secret) {
        kb_error_set(err, "out of memory for keys");
        goto out;
    }
    /* the same derivation as `keybench encrypt --seed N` (keybench/keys.h) */
    if (kb_key_derive(secret, r->master, tp->name, kb_cell_params(c, KB_KIND_TRANSFORM), seed,
                      err) < 0)
        goto out;
    tops->key_make(tstate, key, secret);
    char fp[KB_FINGERPRINT_CHARS + 1];
    kb_key_fingerprint(fp, r->master, key, ksize);
    json_object_set_new(cc->base, "key_fingerprint", json_string(fp));
    json_object_set_new(cc->base, "keyspace_bits", json_real(tops->keyspace_bits(tstate)));

    /* 1. pretrain (cached by content) */
    json_t *pid = stage_identity(c, "pretrain");
    json_object_set_new(pid, "backbone_plugin", json_string(kb_cell_plugin(c, KB_KIND_BACKBONE)->version));
    const char *weights = kb_cell_str(c, "pretrain.weights");
    if (weights) {
        /* a user's weights: identified by their content */
        char hex[65];
        if (hash_file(hex, weights, err) < 0) {
            json_decref(pid);
            goto out;
        }
        json_object_set_new(pid, "weights_hash", json_string(hex));
    }
    char phash[65], ppath[4200];
    kb_json_hash(phash, pid);
    json_decref(pid);
    snprintf(ppath, sizeof ppath, "%s/pretrain-%.24s.safetensors", r->cache_dir, phash);
    if (kb_run_build_model(&model, c, tr, err) < 0)
        goto out;
    double t_stage = now_s(), pretrain_loss = NAN;
    if (load_cached(model, ppath, &r->pr)) {
        progress_line(&r->pr, "cell %zu/%zu %s: pretrain: cached %s", r->pr.cell_i, r->pr.cell_n,
                      kb_cell_name(c), ppath);
    } else {
        if (weights) {
            /* transfer: a head of another class count is skipped and stays fresh */
            kb_model_init(model, 0);
            if (kb_model_load(model, weights, NULL, err) < 0) {
                /* e.g. ImageNet weights for a 10-class model: skip the head */
                char head[256];
                const char *hn = kb_model_head_name(model);
                snprintf(head, sizeof head, "%s", hn ? hn : "fc.weight");
                char *dot = strrchr(head, '.');
                if (dot && (size_t)(dot - head) + 3 <= sizeof head)
                    memcpy(dot, ".*", 3);
                struct kb_error e2 = {0};
                if (kb_model_load(model, weights, head, &e2) < 0)
                    goto out; /* report the strict error */
                err->msg[0] = '\0';
                progress_line(&r->pr, "cell %s: loaded %s without its classifier head (%s)",
                              kb_cell_name(c), weights, head);
            }
        } else {
            kb_model_init(model, 0);
            struct kb_train_config tc;
            kb_run_train_config(&tc, c, "pretrain", 0);
            struct kb_view v = { tr, sp.pretrain, sp.n_pretrain, NULL, NULL, NULL,
                                 r->data.mean, r->data.std };
            if (kb_train(model, &v, &tc, &pretrain_loss, on_progress, &r->pr, err) < 0)
                goto out;
        }
        if (kb_model_save(model, ppath, err) < 0)
            goto out;
        if (record_timing(cc, "pretrain", now_s() - t_stage, weights ? 0 : sp.n_pretrain,
                          pretrain_loss, err) < 0)
            goto out;
    }

    /* 2. protect: fine-tune a copy on the transformed fine-tune subset (cached) */
    json_t *fid = stage_identity(c, "protect");
    json_object_set_new(fid, "pretrained", json_string(phash));
    json_object_set_new(fid, "key_fingerprint", json_string(fp));
    json_object_set_new(fid, "transform_plugin", json_string(tp->version));
    char fhash[65], fpath[4200];
    kb_json_hash(fhash, fid);
    json_decref(fid);
    snprintf(fpath, sizeof fpath, "%s/protect-%.24s.safetensors", r->cache_dir, fhash);
    struct kb_view ftv = { tr, sp.finetune, sp.n_finetune, tops, tstate, key, r->data.mean,
                           r->data.std };
    t_stage = now_s();
    if (load_cached(model, fpath, &r->pr)) {
        progress_line(&r->pr, "cell %zu/%zu %s: protect: cached %s", r->pr.cell_i, r->pr.cell_n,
                      kb_cell_name(c), fpath);
    } else {
        const json_t *fr = kb_cell_get(c, "finetune.freeze");
        for (size_t i = 0; fr && json_is_array(fr) && i < json_array_size(fr); i++)
            kb_model_freeze(model, json_string_value(json_array_get(fr, i)), true);
        struct kb_train_config tc;
        kb_run_train_config(&tc, c, "finetune", seed);
        tc.stage = "protect";
        double loss;
        if (kb_train(model, &ftv, &tc, &loss, on_progress, &r->pr, err) < 0)
            goto out;
        if (kb_model_save(model, fpath, err) < 0)
            goto out;
        if (record_timing(cc, "protect", now_s() - t_stage, sp.n_finetune, loss, err) < 0)
            goto out;
    }

    /* 3. evaluate on the test split */
    int64_t ebs = kb_cell_int(c, "evaluate.batch_size");
    struct kb_eval_result e;
    struct kb_view tv = { te, sp.test, sp.n_test, tops, tstate, key, r->data.mean, r->data.std };
    t_stage = now_s();
    if (kb_evaluate(&e, model, &tv, ebs, err) < 0)
        goto out;
    int erc = record_eval(cc, "correct_key", &e, true, te, err);
    kb_eval_result_free(&e);
    if (erc < 0)
        goto out;
    struct kb_view pv = { te, sp.test, sp.n_test, NULL, NULL, NULL, r->data.mean, r->data.std };
    if (kb_evaluate(&e, model, &pv, ebs, err) < 0)
        goto out;
    erc = record_eval(cc, "plain", &e, false, te, err);
    kb_eval_result_free(&e);
    if (erc < 0)
        goto out;

    /* wrong keys: uniformly random keys, independent of the master secret,
     * drawn from a public per-cell stream so reruns measure the same keys */
    int64_t nw = (tp->caps & KB_CAP_KEYED) ? kb_cell_int(c, "evaluate.wrong_keys") : 0;
    if (nw > 0) {
        double *accs = calloc((size_t)nw, sizeof *accs), *agree = calloc((size_t)nw, sizeof *agree);
        uint64_t total_n = 0;
        struct kb_rng wr;
        public_stream(&wr, "wrong_key", tp, c, seed);
        int64_t done = 0, redraws = 0;
        for (int64_t i = 0; i < nw && accs && agree; i++) {
            /* a wrong key is never the cell's key (tiny key spaces: NP at M=2 on
             * gray images has 4 keys); give up on a trial after 100 redraws */
            int tries = 0;
            do {
                kb_rng_bytes(&wr, secret, KB_SECRET_BYTES);
                tops->key_make(tstate, wkey, secret);
            } while (memcmp(wkey, key, ksize) == 0 && ++tries < 100 && ++redraws);
            if (memcmp(wkey, key, ksize) == 0)
                continue;
            struct kb_view wv = tv;
            wv.key = wkey;
            if (kb_evaluate(&e, model, &wv, ebs, err) < 0) {
                free(accs), free(agree);
                kb_rng_wipe(&wr);
                goto out;
            }
            accs[done] = e.n ? (double)e.correct / (double)e.n : NAN;
            agree[done] = tops->key_agreement(tstate, key, wkey);
            done++;
            total_n = e.n;
            kb_eval_result_free(&e);
        }
        kb_rng_wipe(&wr);
        if (!accs || !agree) {
            free(accs), free(agree);
            kb_error_set(err, "out of memory");
            goto out;
        }
        double mean, std, mn, mx, amean;
        kb_summary(&mean, &std, &mn, &mx, accs, (size_t)done);
        kb_summary(&amean, NULL, NULL, NULL, agree, (size_t)done);
        json_t *vals = json_array();
        for (int64_t i = 0; i < done; i++)
            json_array_append_new(vals, json_real(accs[i]));
        json_t *extra = json_pack("{s:f, s:f, s:f, s:I, s:o, s:f, s:I}", "std", std, "min", mn,
                                  "max", mx, "trials", (json_int_t)done, "values", vals,
                                  "key_agreement", amean, "redraws", (json_int_t)redraws);
        free(accs), free(agree);
        if (done == 0) {
            json_decref(extra);
            extra = NULL;
        }
        /* no trial: the key space holds no other key (recorded as such) */
        if (done == 0) {
            if (record(cc, "wrong_key", "no_other_key", 1.0, 0, NAN, NAN, NULL, err) < 0)
                goto out;
        } else if (record(cc, "wrong_key", "accuracy", mean, total_n, NAN, NAN, extra, err) < 0) {
            goto out;
        }
    }
    if (record_timing(cc, "evaluate", now_s() - t_stage, sp.n_test, NAN, err) < 0)
        goto out;
    /* the report's sample grid: plain, encrypted, wrong-key rows (pixels only) */
    char spath[4300];
    snprintf(spath, sizeof spath, "%s/cells/%s/samples.png", r->run_dir, kb_cell_id(c));
    {
        /* its wrong key comes from a public per-cell stream, as the evaluation's */
        struct kb_rng sr;
        public_stream(&sr, "samples", tp, c, seed);
        int src = kb_samples_cell(spath, te->n ? te : tr, tp, tstate, key, ksize, 8, &sr, err);
        kb_rng_wipe(&sr);
        if (src < 0)
            goto out;
    }

    /* 4. attacks, each on its own copies of the models */
    if (kb_cell_attack_count(c) > 0) {
        t_stage = now_s();
        struct kb_attack_env env = {
            .cell_ctx = cc, .cell = c, .transform = tp, .tstate = tstate, .key = key,
            .key_size = ksize, .train = tr, .test = te, .attacker_idx = sp.attacker,
            .n_attacker = sp.n_attacker, .test_idx = sp.test, .n_test = sp.n_test,
            .mean = r->data.mean, .std = r->data.std, .pretrained_path = ppath,
            .protected_path = fpath, .seed = seed, .progress = on_attack_progress,
            .progress_ctx = &r->pr,
        };
        if (kb_run_attacks(&env, err) < 0)
            goto out;
        if (r->pr.tty && !r->pr.quiet)
            fprintf(stderr, "\r\033[K");
        if (record_timing(cc, "attacks", now_s() - t_stage, sp.n_test, NAN, err) < 0)
            goto out;
    }
    rc = 0;
out:
    kb_model_free(model);
    kb_secret_free(secret);
    kb_secret_free(key);
    kb_secret_free(wkey);
    if (tstate)
        tops->destroy(tstate);
    splits_free(&sp);
    return rc;
}

/* ------------------------------------------------------------------ the run */

static int load_or_make_master(uint8_t *master, const struct kb_spec *spec, const char *run_dir,
                               struct kb_error *err)
{
    bool given;
    const char *kp = kb_spec_key_path(spec, &given);
    char path[4200];
    if (given)
        snprintf(path, sizeof path, "%s", kp);
    else
        snprintf(path, sizeof path, "%s/keybench.key", run_dir);
    if (!given && !file_exists(path)) {
        struct kb_error e = {0};
        if (kb_secret_generate_file(path, &e) < 0 && !file_exists(path))
            return kb_error_set(err, "%s", e.msg);
    }
    bool warn = false;
    if (kb_secret_load(master, path, &warn, err) < 0)
        return -1;
    if (warn)
        fprintf(stderr, "keybench: warning: %s\n", err->msg);
    err->msg[0] = '\0';
    /* A run dir belongs to one master key: cells marked done there were
     * measured with it, so resuming with another key would mix results. */
    char fp[KB_FINGERPRINT_CHARS + 1], fpath[4200];
    kb_fingerprint(fp, master, KB_SECRET_BYTES);
    snprintf(fpath, sizeof fpath, "%s/master.fingerprint", run_dir);
    char *old = read_text(fpath);
    if (old) {
        char *nl = strchr(old, '\n');
        if (nl)
            *nl = '\0';
        int same = !strcmp(old, fp);
        if (!same)
            kb_error_set(err, "%s: this run directory was run with another master key "
                         "(fingerprint %s; %s has %s); use a new run directory (-o)",
                         run_dir, old, path, fp);
        free(old);
        return same ? 0 : -1;
    }
    char line[KB_FINGERPRINT_CHARS + 2];
    snprintf(line, sizeof line, "%s\n", fp);
    struct kb_error e = {0};
    if (kb_file_write_atomic(fpath, line, strlen(line), 0644, true, &e) < 0 && !file_exists(fpath))
        return kb_error_set(err, "%s", e.msg);
    return 0;
}

static void cell_status(char *out, size_t n, const char *cell_dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/status", cell_dir);
    char *s = read_text(path);
    snprintf(out, n, "%s", s ? s : "pending");
    free(s);
    char *nl = strchr(out, '\n');
    if (nl)
        *nl = '\0';
}

int kb_run(const struct kb_run_options *o, int *failed_cells, struct kb_error *err)
{
    *failed_cells = 0;
    int rc = -1;
    struct kb_spec *spec = NULL;
    struct kb_registry *reg = NULL;
    struct kb_plan *plan = NULL;
    uint8_t *master = NULL;
    struct run_ctx r = {0};
    r.o = o;
    if (o->shard_n < 1 || o->shard_k < 1 || o->shard_k > o->shard_n)
        return kb_error_set(err, "--shard %d/%d: expected K/N with 1 <= K <= N", o->shard_k,
                            o->shard_n);
    if (kb_spec_parse(&spec, o->spec_path, o->overrides, o->n_overrides, err) < 0)
        return -1;
    const char *const *dirs;
    size_t nd = kb_spec_plugin_paths(spec, &dirs);
    if (kb_registry_open(&reg, dirs, nd, err) < 0 || kb_spec_validate(spec, reg, err) < 0 ||
        kb_plan_expand(&plan, spec, err) < 0)
        goto out;
    /* The engine's thread count (results are bit-identical for a given count;
     * it is recorded in every record's provenance). Default: every online CPU. */
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    kb_nn_set_threads(o->threads > 0 ? o->threads : (int)(ncpu > 0 ? (ncpu < 64 ? ncpu : 64) : 1));

    /* refuse early a cell whose transform cannot give an attack what it needs */
    for (size_t i = 0; i < kb_plan_count(plan); i++)
        if ((int)(i % (size_t)o->shard_n) == o->shard_k - 1 &&
            kb_attack_check_cell(kb_plan_cell(plan, i), err) < 0)
            goto out;

    const char *run_dir = o->run_dir ? o->run_dir : kb_spec_output(spec);
    char cache[4200], path[4200];
    if (o->cache_dir)
        snprintf(cache, sizeof cache, "%s", o->cache_dir);
    else
        snprintf(cache, sizeof cache, "%s/cache", run_dir);
    if (kb_mkdir_p(run_dir, err) < 0 || kb_mkdir_p(cache, err) < 0)
        goto out;
    r.reg = reg;
    r.plan = plan;
    r.run_dir = run_dir;
    r.cache_dir = cache;
    master = kb_secret_alloc();
    if (!master) {
        kb_error_set(err, "out of memory");
        goto out;
    }
    if (load_or_make_master(master, spec, run_dir, err) < 0)
        goto out;
    r.master = master;

    json_t *pj = kb_plan_json(plan);
    char *ptext = json_dumps(pj, JSON_INDENT(2) | JSON_SORT_KEYS);
    kb_json_hash(r.spec_hash, pj);
    json_decref(pj);
    snprintf(path, sizeof path, "%s/plan.json", run_dir);
    if (write_text(path, ptext, err) < 0) {
        free(ptext);
        goto out;
    }
    free(ptext);

    if (o->shard_n == 1)
        snprintf(path, sizeof path, "%s/journal.jsonl", run_dir);
    else
        snprintf(path, sizeof path, "%s/journal.shard-%d-of-%d.jsonl", run_dir, o->shard_k,
                 o->shard_n);
    if (kb_journal_open(&r.journal, path, err) < 0)
        goto out;
    r.provenance = kb_provenance();
    r.pr.quiet = o->quiet;
    r.pr.tty = isatty(2);

    size_t n = kb_plan_count(plan), selected = 0, done = 0, skipped = 0;
    for (size_t i = 0; i < n; i++)
        if ((int)(i % (size_t)o->shard_n) == o->shard_k - 1)
            selected++;
    r.pr.cell_n = selected;
    json_t *failures = json_array();
    double t_run = now_s();
    for (size_t i = 0; i < n; i++) {
        if ((int)(i % (size_t)o->shard_n) != o->shard_k - 1)
            continue;
        const struct kb_cell *c = kb_plan_cell(plan, i);
        r.pr.cell_i++;
        r.pr.cell_name = kb_cell_name(c);
        char cell_dir[4200], status[512];
        snprintf(cell_dir, sizeof cell_dir, "%s/cells/%s", run_dir, kb_cell_id(c));
        if (kb_mkdir_p(cell_dir, err) < 0)
            goto out_loop;
        cell_status(status, sizeof status, cell_dir);
        if (!strcmp(status, "done")) {
            skipped++;
            continue;
        }
        snprintf(path, sizeof path, "%s/config.json", cell_dir);
        char *cfg = json_dumps(kb_cell_json(c), JSON_INDENT(2) | JSON_SORT_KEYS);
        int wrc = write_text(path, cfg ? cfg : "{}", err);
        free(cfg);
        snprintf(path, sizeof path, "%s/status", cell_dir);
        if (wrc < 0 || write_text(path, "running\n", err) < 0)
            goto out_loop;
        snprintf(path, sizeof path, "%s/log", cell_dir);
        r.pr.log = fopen(path, "a");
        progress_line(&r.pr, "cell %zu/%zu %s (%s): start", r.pr.cell_i, r.pr.cell_n,
                      kb_cell_name(c), kb_cell_id(c));

        struct cell_ctx cc = { &r, c, NULL, now_s() };
        const struct kb_plugin *bp = kb_cell_plugin(c, KB_KIND_BACKBONE);
        const struct kb_plugin *tp = kb_cell_plugin(c, KB_KIND_TRANSFORM);
        cc.base = json_pack("{s:s, s:s, s:s, s:O, s:s, s:O, s:s, s:O, s:O, s:s, s:O, s:{s:s, s:s, s:s, s:s}}",
                            "run", run_dir, "cell", kb_cell_id(c), "cell_name", kb_cell_name(c),
                            "axes", kb_cell_axes(c), "dataset", kb_cell_str(c, "dataset.name"),
                            "backbone_params", kb_cell_get(c, "backbone"),
                            "transform", tp->name, "transform_params", kb_cell_get(c, "transform"),
                            "seed", kb_cell_get(c, "seed"), "spec_hash", r.spec_hash,
                            "provenance", r.provenance, "plugins",
                            "backbone", bp->name, "backbone_file", plugin_file_hash(reg, bp),
                            "transform", tp->name, "transform_file", plugin_file_hash(reg, tp));
        json_object_set_new(cc.base, "backbone", json_string(bp->name));
        struct kb_error cerr = {0};
        int crc = cc.base ? run_cell(&cc, &cerr) : kb_error_set(&cerr, "out of memory");
        if (crc == 0) {
            json_t *ev = json_deep_copy(cc.base);
            json_object_set_new(ev, "type", json_string("cell_done"));
            json_object_set_new(ev, "wall_s", json_real(now_s() - cc.t0));
            crc = kb_journal_append(r.journal, ev, &cerr);
            json_decref(ev);
        }
        if (crc == 0) {
            snprintf(path, sizeof path, "%s/status", cell_dir);
            if (write_text(path, "done\n", err) < 0) {
                json_decref(cc.base);
                if (r.pr.log)
                    fclose(r.pr.log);
                goto out_loop;
            }
            done++;
            progress_line(&r.pr, "cell %zu/%zu %s: done in %.1f s", r.pr.cell_i, r.pr.cell_n,
                          kb_cell_name(c), now_s() - cc.t0);
        } else {
            (*failed_cells)++;
            char st[KB_ERROR_MAX + 16];
            snprintf(st, sizeof st, "failed: %s\n", cerr.msg);
            snprintf(path, sizeof path, "%s/status", cell_dir);
            struct kb_error e2 = {0};
            write_text(path, st, &e2);
            json_t *ev = json_deep_copy(cc.base);
            json_object_set_new(ev, "type", json_string("cell_failed"));
            json_object_set_new(ev, "error", json_string(cerr.msg));
            if (kb_journal_append(r.journal, ev, &e2) < 0)
                fprintf(stderr, "keybench: %s\n", e2.msg);
            json_decref(ev);
            json_array_append_new(failures, json_pack("{s:s, s:s}", "cell", kb_cell_name(c),
                                                      "error", cerr.msg));
            if (r.pr.log)
                fprintf(r.pr.log, "failed: %s\n", cerr.msg);
            fprintf(stderr, "%skeybench: cell %s failed: %s\n", r.pr.tty && !o->quiet ? "\r\033[K" : "",
                    kb_cell_name(c), cerr.msg);
        }
        json_decref(cc.base);
        if (r.pr.log)
            fclose(r.pr.log);
        r.pr.log = NULL;
        if (crc != 0 && o->fail_fast)
            break;
    }
    if (!o->quiet)
        fprintf(stderr, "keybench: %zu cells done, %zu already done, %d failed, %.1f s\n", done,
                skipped, *failed_cells, now_s() - t_run);
    for (size_t i = 0; i < json_array_size(failures); i++) {
        json_t *f = json_array_get(failures, i);
        fprintf(stderr, "keybench: failed: %s: %s\n",
                json_string_value(json_object_get(f, "cell")),
                json_string_value(json_object_get(f, "error")));
    }
    json_decref(failures);
    kb_journal_close(r.journal);
    r.journal = NULL;
    {
        const char *rd[1] = { run_dir };
        /* every report format; a failure here is the run's error (exit 1),
         * the journal and the cells' results stay */
        struct kb_report *m;
        if (kb_report_load(&m, rd, 1, err) < 0)
            goto out;
        int wrc = kb_report_write_model(m, run_dir, NULL, err);
        if (wrc == 0 && o->summary)
            kb_report_print_summary(stdout, run_dir, m);
        kb_report_free(m);
        if (wrc < 0)
            goto out;
    }
    rc = 0;
    goto out;
out_loop:
    json_decref(failures);
out:
    kb_journal_close(r.journal);
    json_decref(r.provenance);
    kb_dataset_free(&r.data.train);
    kb_dataset_free(&r.data.test);
    kb_secret_free(master);
    kb_plan_free(plan);
    kb_spec_free(spec);
    kb_registry_free(reg);
    return rc;
}

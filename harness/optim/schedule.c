/* Learning-rate schedules as pure functions of the optimizer step, matching
 * torch.optim.lr_scheduler's closed forms (StepLR, MultiStepLR,
 * CosineAnnealingLR, OneCycleLR, CyclicLR 'triangular'), with an optional
 * linear warm-up that behaves like SequentialLR([LinearLR, schedule]). */
#include <math.h>
#include <string.h>

#include <keybench/optim.h>

static const char *const sched_names[] = {
    NULL, "constant", "step", "multistep", "cosine", "onecycle", "cyclic",
};
#define N_SCHED ((int)(sizeof sched_names / sizeof sched_names[0]))

const char *kb_sched_kind_name(enum kb_sched_kind kind)
{
    if ((int)kind < 1 || (int)kind >= N_SCHED)
        return NULL;
    return sched_names[kind];
}

enum kb_sched_kind kb_sched_kind_parse(const char *name)
{
    for (int k = 1; k < N_SCHED; k++)
        if (name && !strcmp(name, sched_names[k]))
            return (enum kb_sched_kind)k;
    return (enum kb_sched_kind)0;
}

struct kb_schedule kb_schedule_default(enum kb_sched_kind kind, double lr, int64_t total_steps)
{
    struct kb_schedule s;
    memset(&s, 0, sizeof s);
    s.kind = kind;
    s.lr = lr;
    s.min_lr = 0.0;
    s.max_lr = 10.0 * lr;
    s.total_steps = total_steps;
    s.step_size = total_steps / 3 > 0 ? total_steps / 3 : 1;
    s.gamma = 0.1;
    s.pct_start = 0.3;
    s.div_factor = 25.0;
    s.final_div_factor = 1e4;
    s.warmup_steps = 0;
    return s;
}

int kb_schedule_check(const struct kb_schedule *s, struct kb_error *err)
{
    const char *k = kb_sched_kind_name(s->kind);
    if (!k)
        return kb_error_set(err, "schedule: unknown kind %d (expected constant, step, multistep, "
                            "cosine, onecycle or cyclic)", (int)s->kind);
    if (!(s->lr >= 0.0) || !isfinite(s->lr))
        return kb_error_set(err, "schedule %s: lr %g must be >= 0", k, s->lr);
    if (s->total_steps < 0 || s->warmup_steps < 0)
        return kb_error_set(err, "schedule %s: total_steps %lld and warmup_steps %lld must be >= 0",
                            k, (long long)s->total_steps, (long long)s->warmup_steps);
    bool needs_total = s->kind == KB_SCHED_COSINE || s->kind == KB_SCHED_ONECYCLE;
    if ((needs_total || s->warmup_steps > 0) && s->warmup_steps >= s->total_steps)
        return kb_error_set(err, "schedule %s: warmup_steps %lld must be < total_steps %lld", k,
                            (long long)s->warmup_steps, (long long)s->total_steps);
    switch (s->kind) {
    case KB_SCHED_CONSTANT:
        break;
    case KB_SCHED_STEP:
        if (s->step_size < 1)
            return kb_error_set(err, "schedule step: step_size %lld must be >= 1",
                                (long long)s->step_size);
        /* fallthrough */
    case KB_SCHED_MULTISTEP:
        if (!(s->gamma > 0.0) || !isfinite(s->gamma))
            return kb_error_set(err, "schedule %s: gamma %g must be > 0", k, s->gamma);
        if (s->kind == KB_SCHED_STEP)
            break;
        if (s->n_milestones > KB_SCHED_MAX_MILESTONES)
            return kb_error_set(err, "schedule multistep: %zu milestones, at most %d", s->n_milestones,
                                KB_SCHED_MAX_MILESTONES);
        for (size_t i = 0; i < s->n_milestones; i++) {
            if (s->milestones[i] < 1)
                return kb_error_set(err, "schedule multistep: milestone %zu is %lld, must be >= 1",
                                    i, (long long)s->milestones[i]);
            if (i > 0 && s->milestones[i] <= s->milestones[i - 1])
                return kb_error_set(err, "schedule multistep: milestones must increase "
                                    "(milestone %zu is %lld after %lld)", i,
                                    (long long)s->milestones[i], (long long)s->milestones[i - 1]);
        }
        break;
    case KB_SCHED_COSINE:
        if (!(s->min_lr >= 0.0) || !isfinite(s->min_lr))
            return kb_error_set(err, "schedule cosine: min_lr %g must be >= 0", s->min_lr);
        break;
    case KB_SCHED_ONECYCLE:
        if (!(s->pct_start > 0.0 && s->pct_start < 1.0))
            return kb_error_set(err, "schedule onecycle: pct_start %g must be in (0, 1)",
                                s->pct_start);
        if (!(s->div_factor > 0.0) || !(s->final_div_factor > 0.0))
            return kb_error_set(err, "schedule onecycle: div_factor %g and final_div_factor %g "
                                "must be > 0", s->div_factor, s->final_div_factor);
        if (s->pct_start * (double)(s->total_steps - s->warmup_steps) - 1.0 <= 0.0)
            return kb_error_set(err, "schedule onecycle: pct_start %g of %lld steps leaves no "
                                "warm-up phase (needs pct_start·steps > 1)", s->pct_start,
                                (long long)(s->total_steps - s->warmup_steps));
        if ((double)(s->total_steps - s->warmup_steps) - 1.0 <=
            s->pct_start * (double)(s->total_steps - s->warmup_steps) - 1.0)
            return kb_error_set(err, "schedule onecycle: no annealing phase");
        break;
    case KB_SCHED_CYCLIC:
        if (s->step_size < 1)
            return kb_error_set(err, "schedule cyclic: step_size %lld must be >= 1",
                                (long long)s->step_size);
        if (!(s->max_lr >= s->lr) || !isfinite(s->max_lr))
            return kb_error_set(err, "schedule cyclic: max_lr %g must be >= lr %g", s->max_lr,
                                s->lr);
        break;
    }
    return 0;
}

/* OneCycleLR's cos annealing from start to end, pct in [0, 1]. */
static double anneal_cos(double start, double end, double pct)
{
    return end + (start - end) / 2.0 * (cos(M_PI * pct) + 1.0);
}

/* The schedule without warm-up at step t of `total` steps. */
static double base_lr(const struct kb_schedule *s, int64_t t, int64_t total)
{
    switch (s->kind) {
    case KB_SCHED_CONSTANT:
        return s->lr;
    case KB_SCHED_STEP:
        return s->lr * pow(s->gamma, (double)(t / (s->step_size > 0 ? s->step_size : 1)));
    case KB_SCHED_MULTISTEP: {
        int k = 0;
        for (size_t i = 0; i < s->n_milestones && i < KB_SCHED_MAX_MILESTONES; i++)
            if (s->milestones[i] <= t)
                k++;
        return s->lr * pow(s->gamma, k);
    }
    case KB_SCHED_COSINE:
        if (total <= 0)
            return s->lr;
        if (t > total)
            t = total;
        return s->min_lr + (s->lr - s->min_lr) * (1.0 + cos(M_PI * (double)t / (double)total)) / 2.0;
    case KB_SCHED_ONECYCLE: {
        double initial = s->lr / s->div_factor;
        double final = initial / s->final_div_factor;
        if (total <= 1)
            return initial;
        if (t > total - 1)
            t = total - 1;
        double end1 = s->pct_start * (double)total - 1.0;
        double end2 = (double)total - 1.0;
        double x = (double)t;
        if (x <= end1)
            return anneal_cos(initial, s->lr, end1 > 0.0 ? x / end1 : 1.0);
        return anneal_cos(s->lr, final, end2 > end1 ? (x - end1) / (end2 - end1) : 1.0);
    }
    case KB_SCHED_CYCLIC: {
        double total_size = 2.0 * (double)(s->step_size > 0 ? s->step_size : 1);
        double cycle = floor(1.0 + (double)t / total_size);
        double x = 1.0 + (double)t / total_size - cycle;
        double scale = x <= 0.5 ? x / 0.5 : (x - 1.0) / (0.5 - 1.0);
        return s->lr + (s->max_lr - s->lr) * scale;
    }
    }
    return s->lr;
}

double kb_schedule_lr(const struct kb_schedule *s, int64_t t)
{
    if (t < 0)
        t = 0;
    int64_t w = s->warmup_steps > 0 ? s->warmup_steps : 0;
    int64_t rest = s->total_steps - w;
    if (rest < 0)
        rest = 0;
    if (t < w)
        return base_lr(s, 0, rest) * (double)(t + 1) / (double)w;
    return base_lr(s, t - w, rest);
}

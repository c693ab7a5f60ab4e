/* Learning-rate schedules against known values. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include <keybench/optim.h>

#define close_to(a, b) cr_assert(fabs((a) - (b)) <= 1e-12 + 1e-9 * fabs(b), \
                                 "%s = %.15g, expected %.15g", #a, (double)(a), (double)(b))

static double lr_at(const struct kb_schedule *s, int64_t t)
{
    struct kb_error err = {0};
    cr_assert_eq(kb_schedule_check(s, &err), 0, "%s", err.msg);
    return kb_schedule_lr(s, t);
}

Test(schedule, constant)
{
    struct kb_schedule s = kb_schedule_default(KB_SCHED_CONSTANT, 0.1, 100);
    close_to(lr_at(&s, 0), 0.1);
    close_to(lr_at(&s, 99), 0.1);
}

Test(schedule, step)
{
    struct kb_schedule s = kb_schedule_default(KB_SCHED_STEP, 1.0, 100);
    s.step_size = 5;
    s.gamma = 0.5;
    close_to(lr_at(&s, 0), 1.0);
    close_to(lr_at(&s, 4), 1.0);
    close_to(lr_at(&s, 5), 0.5);
    close_to(lr_at(&s, 14), 0.25);
    close_to(lr_at(&s, 15), 0.125);
}

Test(schedule, multistep_boundaries)
{
    struct kb_schedule s = kb_schedule_default(KB_SCHED_MULTISTEP, 1.0, 100);
    s.milestones[0] = 10;
    s.milestones[1] = 20;
    s.n_milestones = 2;
    close_to(lr_at(&s, 9), 1.0);
    close_to(lr_at(&s, 10), 0.1);
    close_to(lr_at(&s, 19), 0.1);
    close_to(lr_at(&s, 20), 0.01);
    close_to(lr_at(&s, 1000), 0.01);
}

Test(schedule, cosine_half_way_is_the_mean)
{
    struct kb_schedule s = kb_schedule_default(KB_SCHED_COSINE, 0.1, 100);
    s.min_lr = 0.001;
    close_to(lr_at(&s, 0), 0.1);
    close_to(lr_at(&s, 50), (0.1 + 0.001) / 2);
    close_to(lr_at(&s, 25), 0.001 + (0.1 - 0.001) * (1 + sqrt(0.5)) / 2);
    close_to(lr_at(&s, 100), 0.001);
    close_to(lr_at(&s, 150), 0.001);     /* past the end: the last value */
    cr_assert(lr_at(&s, 30) > lr_at(&s, 31), "cosine decreases");
}

Test(schedule, linear_warmup_ramp)
{
    struct kb_schedule s = kb_schedule_default(KB_SCHED_CONSTANT, 1.0, 100);
    s.warmup_steps = 10;
    close_to(lr_at(&s, 0), 0.1);
    close_to(lr_at(&s, 4), 0.5);
    close_to(lr_at(&s, 9), 1.0);
    close_to(lr_at(&s, 10), 1.0);
}

Test(schedule, warmup_then_cosine_starts_after_warmup)
{
    struct kb_schedule s = kb_schedule_default(KB_SCHED_COSINE, 0.2, 110);
    s.warmup_steps = 10;
    close_to(lr_at(&s, 0), 0.02);
    close_to(lr_at(&s, 10), 0.2);
    close_to(lr_at(&s, 60), 0.1);        /* half of the remaining 100 steps */
    close_to(lr_at(&s, 110), 0.0);
}

Test(schedule, warmup_then_multistep_counts_from_the_end_of_warmup)
{
    struct kb_schedule s = kb_schedule_default(KB_SCHED_MULTISTEP, 1.0, 100);
    s.warmup_steps = 5;
    s.milestones[0] = 10;
    s.n_milestones = 1;
    close_to(lr_at(&s, 14), 1.0);
    close_to(lr_at(&s, 15), 0.1);
}

/* OneCycleLR(max_lr=1, total_steps=100): initial 1/25, peak at step
 * pct_start·100 − 1 = 29, final 0.04/1e4; the annealing phase is half-way at 64. */
Test(schedule, onecycle_peak_at_pct_start)
{
    struct kb_schedule s = kb_schedule_default(KB_SCHED_ONECYCLE, 1.0, 100);
    close_to(lr_at(&s, 0), 0.04);
    close_to(lr_at(&s, 29), 1.0);
    cr_assert(lr_at(&s, 28) < 1.0 && lr_at(&s, 30) < 1.0);
    close_to(lr_at(&s, 64), (1.0 + 4e-6) / 2);
    close_to(lr_at(&s, 99), 4e-6);
    close_to(lr_at(&s, 14), 4e-2 + (1.0 - 4e-2) * (1 - cos(M_PI * 14 / 29)) / 2);
}

Test(schedule, cyclic_triangular)
{
    struct kb_schedule s = kb_schedule_default(KB_SCHED_CYCLIC, 0.1, 100);
    s.max_lr = 1.0;
    s.step_size = 10;
    close_to(lr_at(&s, 0), 0.1);
    close_to(lr_at(&s, 5), 0.55);
    close_to(lr_at(&s, 10), 1.0);
    close_to(lr_at(&s, 15), 0.55);
    close_to(lr_at(&s, 20), 0.1);
    close_to(lr_at(&s, 30), 1.0);
}

Test(schedule, check_rejects_bad_schedules)
{
    struct kb_error err = {0};
    struct kb_schedule s = kb_schedule_default(KB_SCHED_MULTISTEP, 1.0, 100);
    s.milestones[0] = 20;
    s.milestones[1] = 10;
    s.n_milestones = 2;
    cr_assert_eq(kb_schedule_check(&s, &err), -1);
    cr_assert(strstr(err.msg, "increase"), "%s", err.msg);

    s = kb_schedule_default(KB_SCHED_COSINE, 1.0, 10);
    s.warmup_steps = 10;
    cr_assert_eq(kb_schedule_check(&s, &err), -1);
    cr_assert(strstr(err.msg, "warmup_steps"), "%s", err.msg);

    s = kb_schedule_default(KB_SCHED_ONECYCLE, 1.0, 100);
    s.pct_start = 1.5;
    cr_assert_eq(kb_schedule_check(&s, &err), -1);
    cr_assert(strstr(err.msg, "pct_start"), "%s", err.msg);

    s = kb_schedule_default(KB_SCHED_STEP, 1.0, 100);
    s.step_size = 0;
    cr_assert_eq(kb_schedule_check(&s, &err), -1);

    s = kb_schedule_default(KB_SCHED_CYCLIC, 1.0, 100);
    s.max_lr = 0.5;
    cr_assert_eq(kb_schedule_check(&s, &err), -1);

    cr_assert_eq(kb_sched_kind_parse("onecycle"), KB_SCHED_ONECYCLE);
    cr_assert_str_eq(kb_sched_kind_name(KB_SCHED_COSINE), "cosine");
    cr_assert_eq((int)kb_sched_kind_parse("linear"), 0);
}

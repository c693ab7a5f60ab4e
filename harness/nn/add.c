/* add.c — residual add. Elementwise, so large tensors are split into
 * contiguous chunks across kb_nn_threads() (the result does not depend on the
 * split), and the loops work on 4 floats at a time with GCC vector extensions
 * (GCC -O2 does not vectorise loops of unknown length, and the pointers may
 * alias exactly, so restrict is not an option). Same float additions, in the
 * same order per element, as the scalar loops: bit-identical. */
#include <string.h>

#include <keybench/nn.h>

#include "nn_internal.h"

/* below this many elements a parallel dispatch costs more than it saves */
#define KB_ADD_PAR_MIN 65536

typedef float kb_v4f __attribute__((vector_size(16)));

/* out[i] = a[i] + b[i] (out may be a or b) */
static void add2(float *out, const float *a, const float *b, size_t lo, size_t hi)
{
    size_t i = lo;
    for (; i + 4 <= hi; i += 4) {
        kb_v4f x, y;
        memcpy(&x, a + i, sizeof x);
        memcpy(&y, b + i, sizeof y);
        x += y;
        memcpy(out + i, &x, sizeof x);
    }
    for (; i < hi; i++)
        out[i] = a[i] + b[i];
}

struct add_task {
    float *out, *da, *db;
    const float *a, *b, *dout;
    size_t count;
};

static void add_range(const struct add_task *t, size_t lo, size_t hi)
{
    if (t->out)
        add2(t->out, t->a, t->b, lo, hi);
    if (t->da)
        add2(t->da, t->da, t->dout, lo, hi);
    if (t->db)
        add2(t->db, t->db, t->dout, lo, hi);
}

static void add_task_fn(void *vctx, int tid, int nt)
{
    const struct add_task *t = vctx;
    int64_t lo, hi;
    kb_nn_split((int64_t)t->count, tid, nt, &lo, &hi);
    add_range(t, (size_t)lo, (size_t)hi);
}

static void add_run(struct add_task *t)
{
    if (t->count < KB_ADD_PAR_MIN)
        add_range(t, 0, t->count);
    else
        kb_nn_parallel(add_task_fn, t, kb_nn_threads());
}

void kb_add_forward(float *out, const float *a, const float *b, size_t count)
{
    struct add_task t = { .out = out, .a = a, .b = b, .count = count };
    add_run(&t);
}

void kb_add_backward(float *da, float *db, const float *dout, size_t count)
{
    struct add_task t = { .da = da, .db = db, .dout = dout, .count = count };
    add_run(&t);
}

/* threads.c — the layer thread count and a small persistent pthread pool.
 *
 * Workers are created lazily on the first parallel call (so a process that
 * forks before using the engine, as Criterion does, forks no threads) and
 * sleep on a condition variable between tasks. Every task splits its work
 * statically by thread id, so a given thread count gives bit-identical results.
 */
#include <pthread.h>
#include <stdbool.h>

#include <cblas.h>

#include <keybench/nn.h>

#include "nn_internal.h"

#define KB_NN_MAX_THREADS 256

static int g_threads = 1;

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_start = PTHREAD_COND_INITIALIZER;
static pthread_cond_t g_done = PTHREAD_COND_INITIALIZER;
static pthread_t g_workers[KB_NN_MAX_THREADS];
static int g_nworkers;          /* workers alive (thread ids 1..g_nworkers) */
static uint64_t g_generation;   /* bumped per task */
static int g_pending;           /* workers still running the current task */
static kb_nn_task g_fn;
static void *g_ctx;
static int g_nt;

struct worker_arg { int tid; uint64_t gen0; };
static struct worker_arg g_args[KB_NN_MAX_THREADS];

static void *worker_main(void *argp)
{
    int tid = ((struct worker_arg *)argp)->tid;
    uint64_t seen = ((struct worker_arg *)argp)->gen0;   /* generation before its first task */
    pthread_mutex_lock(&g_mu);
    for (;;) {
        while (g_generation == seen)
            pthread_cond_wait(&g_start, &g_mu);
        seen = g_generation;
        kb_nn_task fn = g_fn;
        void *ctx = g_ctx;
        int nt = g_nt;
        pthread_mutex_unlock(&g_mu);
        if (tid < nt)
            fn(ctx, tid, nt);
        pthread_mutex_lock(&g_mu);
        if (--g_pending == 0)
            pthread_cond_signal(&g_done);
    }
    return NULL;
}

void kb_nn_set_threads(int n)
{
    if (n < 1)
        n = 1;
    if (n > KB_NN_MAX_THREADS)
        n = KB_NN_MAX_THREADS;
    g_threads = n;
    /* The layers split images across their own threads and call OpenBLAS
     * single-threaded (see docs/engine.md, "Layers: performance"). */
    openblas_set_num_threads(1);
}

int kb_nn_threads(void)
{
    return g_threads;
}

void kb_nn_parallel(kb_nn_task fn, void *ctx, int nt)
{
    if (nt > g_threads)
        nt = g_threads;
    if (nt <= 1) {
        fn(ctx, 0, 1);
        return;
    }
    pthread_mutex_lock(&g_mu);
    while (g_nworkers < nt - 1) {
        int tid = g_nworkers + 1;
        g_args[tid].tid = tid;
        g_args[tid].gen0 = g_generation;
        if (pthread_create(&g_workers[tid], NULL, worker_main, &g_args[tid]) != 0)
            break;
        g_nworkers++;
    }
    if (g_nworkers < nt - 1)
        nt = g_nworkers + 1;    /* could not create more threads: fewer, still static */
    if (nt <= 1) {
        pthread_mutex_unlock(&g_mu);
        fn(ctx, 0, 1);
        return;
    }
    g_fn = fn;
    g_ctx = ctx;
    g_nt = nt;
    g_pending = g_nworkers;
    g_generation++;
    pthread_cond_broadcast(&g_start);
    pthread_mutex_unlock(&g_mu);

    fn(ctx, 0, nt);

    pthread_mutex_lock(&g_mu);
    while (g_pending > 0)
        pthread_cond_wait(&g_done, &g_mu);
    pthread_mutex_unlock(&g_mu);
}

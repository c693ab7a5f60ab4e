/* attacks/ka_util.h — small helpers shared by the key attacks (wrong_key,
 * plain, brute_force, fine_tune, key_estimation, jigsaw, pgd): a growing text
 * buffer for the JSON `extra` of kb_attack_metric, an argmax count and a
 * monotonic clock. Internal to
 * attacks/ (static inline: each plugin is its own shared module). */
#ifndef KB_ATTACKS_KA_UTIL_H
#define KB_ATTACKS_KA_UTIL_H

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct ka_buf {
    char *s;
    size_t n, cap;
    bool oom;
};

static inline void ka_buf_free(struct ka_buf *b)
{
    free(b->s);
    b->s = NULL;
    b->n = b->cap = 0;
}

__attribute__((format(printf, 2, 3)))
static inline void ka_printf(struct ka_buf *b, const char *fmt, ...)
{
    if (b->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = b->cap - b->n;
        int k = vsnprintf(b->s ? b->s + b->n : NULL, b->s ? room : 0, fmt, ap);
        va_end(ap);
        if (k < 0) {
            b->oom = true;
            return;
        }
        if (b->s && (size_t)k < room) {
            b->n += (size_t)k;
            return;
        }
        size_t cap = b->cap ? b->cap : 256;
        while (cap - b->n <= (size_t)k)
            cap *= 2;
        char *s = realloc(b->s, cap);
        if (!s) {
            b->oom = true;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
}

/* A number as JSON: non-finite values are null. */
static inline void ka_num(struct ka_buf *b, double v)
{
    if (isfinite(v))
        ka_printf(b, "%.10g", v);
    else
        ka_printf(b, "null");
}

/* How many of n rows of logits (classes each) have their largest value at
 * the label y[i] (the first of equal maxima wins, like an argmax). */
static inline size_t ka_count_correct(const float *logits, const int32_t *y, size_t n,
                                      uint32_t classes)
{
    size_t correct = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t best = 0;
        for (uint32_t k = 1; k < classes; k++)
            if (logits[i * classes + k] > logits[i * classes + best])
                best = k;
        correct += (int32_t)best == y[i];
    }
    return correct;
}

/* Seconds of a monotonic clock. */
static inline double ka_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#endif

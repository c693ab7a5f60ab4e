/* Fixtures shared by the runner and attack tests: tiny synthetic IDX and CIFAR-10 datasets. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include <keybench/journal.h>
#include <keybench/runner.h>

#include "run_helpers.h"

static void put_be32(FILE *f, uint32_t v)
{
    uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
    fwrite(b, 1, 4, f);
}

uint32_t test_noise(uint32_t *state)
{
    *state = *state * 1664525u + 1013904223u;
    return *state >> 24;
}

void write_idx_fn(const char *data_dir, const char *prefix, uint32_t n, uint32_t n_classes,
                  uint32_t seed, kb_test_pixel_fn fn, void *ctx)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s-images-idx3-ubyte", data_dir, prefix);
    FILE *fi = fopen(p, "wb");
    snprintf(p, sizeof p, "%s/%s-labels-idx1-ubyte", data_dir, prefix);
    FILE *fl = fopen(p, "wb");
    cr_assert(fi && fl);
    put_be32(fi, 0x803), put_be32(fi, n), put_be32(fi, 16), put_be32(fi, 16);
    put_be32(fl, 0x801), put_be32(fl, n);
    uint32_t s = seed * 2654435761u + 1;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t label = i % n_classes;
        fputc((int)label, fl);
        for (int y = 0; y < 16; y++)
            for (int x = 0; x < 16; x++) {
                int v = fn(ctx, i, label, y, x, &s);
                fputc(v < 0 ? 0 : v > 255 ? 255 : v, fi);
            }
    }
    fclose(fi);
    fclose(fl);
}

static int quadrant_pixel(void *ctx, uint32_t i, uint32_t label, int y, int x, uint32_t *noise)
{
    (void)ctx, (void)i;
    int q = (y >= 8) * 2 + (x >= 8);
    return (int)(test_noise(noise) % 90) + (q == (int)label ? 150 : 0);
}

void write_idx_pair(const char *data_dir, const char *prefix, uint32_t n, uint32_t seed)
{
    write_idx_fn(data_dir, prefix, n, 4, seed, quadrant_pixel, NULL);
}

static void write_cifar(const char *path, int n, int salt)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "%s", path);
    for (int i = 0; i < n; i++) {
        fputc(i % 10, f);
        for (int k = 0; k < 3072; k++)
            fputc((k * 7 + i * 13 + salt) & 0xff, f);
    }
    fclose(f);
}

void write_cifar10(const char *data_dir, int per_batch, int test)
{
    char p[4200];
    mkdir(data_dir, 0755);
    for (int b = 1; b <= 5; b++) {
        snprintf(p, sizeof p, "%s/data_batch_%d.bin", data_dir, b);
        write_cifar(p, per_batch, b);
    }
    snprintf(p, sizeof p, "%s/test_batch.bin", data_dir);
    write_cifar(p, test, 99);
}

json_t *run_spec_journal(const char *spec_path, const char *run_dir)
{
    struct kb_run_options o = kb_run_options_default();
    o.spec_path = spec_path, o.run_dir = run_dir, o.quiet = true, o.summary = false;
    o.threads = 1;
    int failed = -1;
    struct kb_error err = {0};
    cr_assert_eq(kb_run(&o, &failed, &err), 0, "%s", err.msg);
    cr_assert_eq(failed, 0);
    char p[4200];
    snprintf(p, sizeof p, "%s/journal.jsonl", run_dir);
    json_t *recs;
    cr_assert_eq(kb_journal_read(&recs, p, NULL, &err), 0, "%s", err.msg);
    return recs;
}

void write_test_key(const char *path)
{
    uint8_t secret[32];
    for (int i = 0; i < 32; i++)
        secret[i] = (uint8_t)(i * 7 + 1);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    cr_assert_geq(fd, 0, "%s", path);
    cr_assert_eq(write(fd, secret, sizeof secret), (ssize_t)sizeof secret);
    close(fd);
}

const char *cond_name(const char *c)
{
    return c && !strncmp(c, "attack:", 7) ? c + 7 : c;
}

double journal_value(const json_t *recs, const char *condition, const char *metric)
{
    size_t i;
    json_t *r;
    json_array_foreach(recs, i, r) {
        const char *t = json_string_value(json_object_get(r, "type"));
        const char *cnd = cond_name(json_string_value(json_object_get(r, "condition")));
        const char *mt = json_string_value(json_object_get(r, "metric"));
        if (t && cnd && mt && !strcmp(t, "measurement") && !strcmp(cnd, condition) &&
            !strcmp(mt, metric))
            return json_number_value(json_object_get(r, "value"));
    }
    cr_assert_fail("no %s/%s in the journal", condition, metric);
    return NAN;
}

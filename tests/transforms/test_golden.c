/* Known answers: a fixed 32-byte secret (00 01 … 1f) and fixed images give
 * fixed float32 bytes. tests/transforms/golden/known_answers.txt holds one
 * line per case: name|settings|HxWxC|n|BLAKE2b-256 of the float32 output
 * (little-endian, as stored in memory)|first four values.
 *
 * Regenerate (only after an intended change of a transform or of kb_rng,
 * and say so in the commit):
 *     KB_REGEN_GOLDEN=1 meson test -C BUILD --suite transforms test_golden
 * which rewrites the file in the source tree; the test itself only compares. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <sodium.h>

#include "tx_helpers.h"

struct gcase { const char *name, *settings; uint32_t h, w, c; size_t n; };

static const struct gcase cases[] = {
    { "none", "block_size=4", 28, 28, 1, 2 },
    { "pixel_shuffle", "block_size=4", 28, 28, 1, 2 },
    { "pixel_shuffle", "block_size=4", 32, 32, 3, 1 },
    { "pixel_shuffle", "block_size=2", 32, 32, 3, 1 },
    { "negpos", "block_size=4", 28, 28, 1, 2 },
    { "negpos", "block_size=4,bits=uniform", 32, 32, 3, 1 },
    { "ffx", "block_size=4,password=password", 28, 28, 1, 2 },
    { "ffx", "block_size=4,password=password", 32, 32, 3, 1 },
    { "ffx", "block_size=4", 32, 32, 3, 1 },
    { "block_scramble", "block_size=4", 28, 28, 1, 2 },
    { "block_scramble", "block_size=4,rotate=true,flip=true,negpos=true,channel_shuffle=true", 32, 32, 3, 1 },
};

static void case_line(char *line, size_t size, const struct gcase *g)
{
    struct tx t;
    struct kb_error err = {0};
    cr_assert_eq(tx_open(&t, g->name, g->settings, g->h, g->w, g->c, &err), 0, "%s", err.msg);
    uint8_t secret[32];
    for (int i = 0; i < 32; i++)
        secret[i] = (uint8_t)i;
    uint8_t *key = tx_key_from(&t, secret);
    uint8_t *x = tx_images(&t, g->n, 2024);
    size_t total = g->n * t.image;
    float *y = malloc(total * sizeof *y);
    t.ops->encrypt(t.state, key, y, x, g->n);
    uint8_t h[32];
    crypto_generichash(h, sizeof h, (const uint8_t *)y, total * sizeof *y, NULL, 0);
    char hex[65];
    sodium_bin2hex(hex, sizeof hex, h, sizeof h);
    snprintf(line, size, "%s|%s|%ux%ux%u|%zu|%s|%.9g %.9g %.9g %.9g\n", g->name, g->settings,
             g->h, g->w, g->c, g->n, hex, (double)y[0], (double)y[1], (double)y[2], (double)y[3]);
    free(y);
    free(x);
    tx_key_free(key);
    tx_close(&t);
}

Test(golden, known_answers)
{
    cr_assert(sodium_init() >= 0);
    const char *src = getenv("KEYBENCH_SOURCE_ROOT");
    cr_assert(src, "KEYBENCH_SOURCE_ROOT is not set (run through meson test)");
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/transforms/golden/known_answers.txt", src);
    size_t n = sizeof cases / sizeof cases[0];
    char lines[sizeof cases / sizeof cases[0]][512];
    for (size_t i = 0; i < n; i++)
        case_line(lines[i], sizeof lines[i], &cases[i]);

    if (getenv("KB_REGEN_GOLDEN")) {
        FILE *f = fopen(path, "w");
        cr_assert(f, "cannot write %s", path);
        for (size_t i = 0; i < n; i++)
            fputs(lines[i], f);
        cr_assert_eq(fclose(f), 0);
        cr_log_warn("regenerated %s", path);
        return;
    }
    FILE *f = fopen(path, "r");
    cr_assert(f, "cannot read %s (regenerate: KB_REGEN_GOLDEN=1)", path);
    char got[512];
    for (size_t i = 0; i < n; i++) {
        cr_assert(fgets(got, sizeof got, f), "%s: %zu lines, expected %zu", path, i, n);
        cr_expect_str_eq(lines[i], got, "known answer changed for case %zu:\n got %s want %s", i,
                         lines[i], got);
    }
    cr_assert(!fgets(got, sizeof got, f), "%s: more lines than cases", path);
    fclose(f);
}

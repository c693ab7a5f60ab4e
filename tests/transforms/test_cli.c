/* keybench encrypt / decrypt / samples, run as a user would, in a temp dir. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <keybench/image.h>
#include <keybench/keys.h>
#include <keybench/safetensors.h>
#include <keybench/secret.h>

#include "tx_helpers.h"

static char dir[64];
static char exe[4096];

static void setup(void)
{
    strcpy(dir, "/tmp/kb_cli_XXXXXX");
    cr_assert(mkdtemp(dir));
    const char *root = getenv("KEYBENCH_BUILD_ROOT");
    cr_assert(root);
    snprintf(exe, sizeof exe, "%s/harness/cli/keybench", root);
    cr_assert_eq(access(exe, X_OK), 0, "%s is not built", exe);
    /* master secret 0x40..0x5f, mode 0600 */
    uint8_t m[32];
    for (int i = 0; i < 32; i++)
        m[i] = (uint8_t)(0x40 + i);
    char path[256];
    snprintf(path, sizeof path, "%s/m.key", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    cr_assert(fd >= 0);
    cr_assert_eq(write(fd, m, 32), 32);
    close(fd);
    /* two 32x32 RGB images */
    uint8_t px[32 * 32 * 3];
    for (int k = 0; k < 2; k++) {
        for (int i = 0; i < 32 * 32 * 3; i++)
            px[i] = (uint8_t)(i * (7 + 2 * k) + k * 13 + (i >> 5));
        struct kb_error err = {0};
        snprintf(path, sizeof path, "%s/%c.png", dir, 'a' + k);
        cr_assert_eq(kb_png_write(path, px, 32, 32, 3, &err), 0, "%s", err.msg);
    }
}

static void teardown(void)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

/* Run `keybench ARGS` in dir; stderr to dir/err.txt. Returns the exit status. */
static int run(const char *args)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' %s >out.txt 2>err.txt", dir, exe, args);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *slurp(const char *name)
{
    static char buf[8192];
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    cr_assert(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

static void same_png(const char *a, const char *b)
{
    char pa[256], pb[256];
    snprintf(pa, sizeof pa, "%s/%s", dir, a);
    snprintf(pb, sizeof pb, "%s/%s", dir, b);
    struct kb_image x = {0}, y = {0};
    struct kb_error err = {0};
    cr_assert_eq(kb_png_read(&x, pa, &err), 0, "%s", err.msg);
    cr_assert_eq(kb_png_read(&y, pb, &err), 0, "%s", err.msg);
    cr_assert(x.h == y.h && x.w == y.w && x.c == y.c);
    cr_assert_arr_eq(x.pixels, y.pixels, (size_t)x.h * x.w * x.c, "%s != %s", a, b);
    kb_image_free(&x);
    kb_image_free(&y);
}

TestSuite(cli, .init = setup, .fini = teardown);

Test(cli, png_round_trip)
{
    cr_assert_eq(run("encrypt --transform pixel_shuffle --set block_size=4 --key m.key -o enc a.png b.png"), 0,
                 "%s", slurp("err.txt"));
    cr_assert(strstr(slurp("err.txt"), "key fingerprint"));
    cr_assert_eq(run("decrypt --transform pixel_shuffle --key m.key -o dec enc/a.png enc/b.png"), 0,
                 "%s", slurp("err.txt"));
    same_png("a.png", "dec/a.png");
    same_png("b.png", "dec/b.png");
    /* the encryption did something */
    struct kb_image x = {0}, y = {0};
    struct kb_error err = {0};
    char p[256];
    snprintf(p, sizeof p, "%s/a.png", dir);
    cr_assert_eq(kb_png_read(&x, p, &err), 0);
    snprintf(p, sizeof p, "%s/enc/a.png", dir);
    cr_assert_eq(kb_png_read(&y, p, &err), 0);
    cr_assert(memcmp(x.pixels, y.pixels, 32 * 32 * 3) != 0);
    kb_image_free(&x);
    kb_image_free(&y);
    /* a wrong seed does not decrypt */
    cr_assert_eq(run("decrypt --transform pixel_shuffle --key m.key --seed 1 -o bad.png enc/a.png"), 0);
    snprintf(p, sizeof p, "%s/a.png", dir);
    cr_assert_eq(kb_png_read(&x, p, &err), 0);
    snprintf(p, sizeof p, "%s/bad.png", dir);
    cr_assert_eq(kb_png_read(&y, p, &err), 0);
    cr_assert(memcmp(x.pixels, y.pixels, 32 * 32 * 3) != 0);
    kb_image_free(&x);
    kb_image_free(&y);
}

Test(cli, safetensors_ffx_matches_the_library)
{
    cr_assert_eq(run("encrypt --transform ffx --set password=password --key m.key -o enc.safetensors a.png b.png"),
                 0, "%s", slurp("err.txt"));
    char errtxt[8192];
    snprintf(errtxt, sizeof errtxt, "%s", slurp("err.txt"));
    cr_assert_eq(run("decrypt --transform ffx --set password=password --key m.key -o dec enc.safetensors"),
                 0, "%s", slurp("err.txt"));
    same_png("a.png", "dec/enc-0.dec.png");
    same_png("b.png", "dec/enc-1.dec.png");

    /* The CLI's key is kb_key_derive(master, "ffx", params, 0): redo it here. */
    struct tx t;
    struct kb_error err = {0};
    cr_assert_eq(tx_open(&t, "ffx", "password=password", 32, 32, 3, &err), 0, "%s", err.msg);
    uint8_t m[32], cell[32];
    for (int i = 0; i < 32; i++)
        m[i] = (uint8_t)(0x40 + i);
    cr_assert_eq(kb_key_derive(cell, m, "ffx", t.params, 0, &err), 0);
    uint8_t *key = tx_key_from(&t, cell);
    char fp[KB_FINGERPRINT_CHARS + 1];
    kb_key_fingerprint(fp, m, key, t.ops->key_size(t.state));
    cr_assert(strstr(errtxt, fp), "fingerprint %s not in: %s", fp, errtxt);

    uint8_t px[2 * 3072];
    const char *in[2] = { "a.png", "b.png" };
    for (int k = 0; k < 2; k++) {
        char p[256];
        snprintf(p, sizeof p, "%s/%s", dir, in[k]);
        struct kb_image img = {0};
        cr_assert_eq(kb_png_read(&img, p, &err), 0);
        memcpy(px + k * 3072, img.pixels, 3072);
        kb_image_free(&img);
    }
    float want[2 * 3072], got[2 * 3072];
    t.ops->encrypt(t.state, key, want, px, 2);
    char p[256];
    snprintf(p, sizeof p, "%s/enc.safetensors", dir);
    struct kb_safetensors st;
    cr_assert_eq(kb_st_open(&st, p, &err), 0, "%s", err.msg);
    const struct kb_st_tensor *ti = kb_st_find(&st, "images");
    cr_assert(ti && ti->dtype == KB_DT_F32 && ti->ndim == 4);
    cr_assert(ti->shape[0] == 2 && ti->shape[1] == 32 && ti->shape[2] == 32 && ti->shape[3] == 3);
    cr_assert_eq(kb_st_read_f32(&st, ti, got, 2 * 3072, &err), 0);
    cr_assert_arr_eq(got, want, sizeof got);
    cr_assert_str_eq(kb_st_meta(&st, "key_fingerprint"), fp);
    kb_st_close(&st);
    tx_key_free(key);
    tx_close(&t);
}

Test(cli, errors)
{
    cr_assert_eq(run("encrypt --transform pixel_shuffle --set block_size=5 --key m.key a.png"), 1);
    cr_assert(strstr(slurp("err.txt"), "block_size=5 does not divide the image size 32x32"),
              "%s", slurp("err.txt"));
    cr_assert_eq(run("encrypt --transform pixel_shufle --key m.key a.png"), 1);
    cr_assert(strstr(slurp("err.txt"), "did you mean 'pixel_shuffle'"), "%s", slurp("err.txt"));
    cr_assert_eq(run("encrypt --transform negpos a.png"), 2);
    cr_assert(strstr(slurp("err.txt"), "--key"));
    cr_assert_eq(run("encrypt --transform negpos --key nope.key a.png"), 1);
    cr_assert(strstr(slurp("err.txt"), "nope.key"));
    cr_assert_eq(run("encrypt --transform negpos --key m.key -o one.png a.png b.png"), 1);
    cr_assert(strstr(slurp("err.txt"), "one.png"));
}

Test(cli, samples_grid)
{
    cr_assert_eq(run("samples --key m.key --set block_size=4 --scale 2 -o grid.png a.png b.png"), 0,
                 "%s", slurp("err.txt"));
    cr_assert(strstr(slurp("out.txt"), "original"));
    cr_assert(strstr(slurp("out.txt"), "wrong key"));
    char p[256];
    snprintf(p, sizeof p, "%s/grid.png", dir);
    struct kb_image g = {0};
    struct kb_error err = {0};
    cr_assert_eq(kb_png_read(&g, p, &err), 0, "%s", err.msg);
    cr_assert_eq(g.h, 2u + 2 * (64 + 2));
    cr_assert_eq((g.w - 2) % 66, 0u);
    cr_assert_geq((g.w - 2) / 66, 7u, "original + 5 transforms + wrong key");
    cr_assert_eq(g.c, 3u);
    kb_image_free(&g);
    cr_assert_eq(run("samples --set no_such=1 -o g2.png a.png"), 1);
    cr_assert(strstr(slurp("err.txt"), "no_such"));
}

/* The jigsaw attack: its solver directly on a smooth synthetic image scrambled
 * with large blocks (positions only, and with rotation and flip), and the
 * attack end to end through kb_run on smooth synthetic IDX data. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "../run/run_helpers.h"
#include <keybench/journal.h>
#include <keybench/rng.h>
#include <keybench/runner.h>

#include "jigsaw_solver.h"

/* 32×32 RGB: a smooth sinusoid per channel (different frequencies and phases). */
static void smooth_image(uint8_t *img, uint32_t h, uint32_t w, uint32_t c, double phase)
{
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++)
            for (uint32_t ch = 0; ch < c; ch++) {
                double v = 128 + 70 * sin(0.11 * (ch + 1) * x + 0.07 * (3 - ch) * y + phase + ch) +
                           40 * cos(0.05 * x * y / 8.0 + ch);
                img[((size_t)y * w + x) * c + ch] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : lround(v));
            }
}

/* Scramble: destination block j := variant code vcode[j] of source block perm[j]. */
static void scramble(uint8_t *out, const uint8_t *img, const uint32_t *perm, const uint32_t *vcode,
                     uint32_t h, uint32_t w, uint32_t c, uint32_t m)
{
    uint32_t rows = h / m, cols = w / m;
    size_t n = (size_t)rows * cols, bsz = (size_t)m * m * c;
    uint8_t *blocks = malloc(n * bsz), *moved = malloc(n * bsz);
    cr_assert(blocks && moved);
    kb_jigsaw_split(blocks, img, h, w, c, m, 1);
    for (size_t j = 0; j < n; j++)
        kb_jigsaw_variant(moved + j * bsz, blocks + (size_t)perm[j] * bsz, m, c, vcode[j]);
    uint32_t *ident = malloc(n * sizeof *ident);
    for (size_t j = 0; j < n; j++)
        ident[j] = (uint32_t)j;
    kb_jigsaw_assemble(out, moved, ident, h, w, c, m);
    free(blocks), free(moved), free(ident);
}

static double solve_fraction(uint32_t variants, bool rotate, uint64_t seed)
{
    const uint32_t h = 32, w = 32, c = 3, m = 8, n = 16;
    uint8_t img[32 * 32 * 3], enc[32 * 32 * 3], rec[32 * 32 * 3];
    smooth_image(img, h, w, c, 0.3 * (double)seed);
    struct kb_rng rng;
    kb_rng_init_seed(&rng, seed, "test-jigsaw");
    uint32_t perm[16], vcode[16];
    kb_rng_permutation(&rng, perm, n);
    for (uint32_t j = 0; j < n; j++)
        vcode[j] = rotate ? kb_rng_uniform(&rng, 8) : 0;
    /* The solver fixes its seed piece's orientation (a whole-image rotation
     * is as compatible as the upright image): keep ciphertext block 0 upright. */
    vcode[0] = 0;
    scramble(enc, img, perm, vcode, h, w, c, m);
    cr_assert_neq(memcmp(enc, img, sizeof img), 0);

    size_t ncand = (size_t)n * variants, bsz = (size_t)m * m * c;
    uint8_t *cands = malloc(ncand * bsz);
    float *dlr = calloc(ncand * ncand, sizeof *dlr), *dtb = calloc(ncand * ncand, sizeof *dtb);
    cr_assert(cands && dlr && dtb);
    kb_jigsaw_split(cands, enc, h, w, c, m, variants);
    struct kb_error err = {0};
    cr_assert_eq(kb_jigsaw_dissim_add(dlr, dtb, cands, ncand, m, c, &err), 0, "%s", err.msg);
    uint32_t slot[16];
    cr_assert_eq(kb_jigsaw_solve(slot, dlr, dtb, 4, 4, variants, 1, &err), 0, "%s", err.msg);
    /* every piece used exactly once */
    bool seen[16] = {0};
    for (int i = 0; i < 16; i++) {
        cr_assert_lt(slot[i] / variants, 16u);
        cr_assert(!seen[slot[i] / variants], "piece %u placed twice", slot[i] / variants);
        seen[slot[i] / variants] = true;
    }
    kb_jigsaw_assemble(rec, cands, slot, h, w, c, m);
    size_t placed, pairs_ok, pairs;
    kb_jigsaw_score(&placed, &pairs_ok, &pairs, rec, img, h, w, c, m);
    cr_assert_eq(pairs, 24u);
    free(cands), free(dlr), free(dtb);
    return (double)placed / n;
}

Test(jigsaw_solver, variants_are_the_dihedral_group_and_negation)
{
    uint8_t b[2 * 2] = { 1, 2, 3, 4 }, o[4];
    kb_jigsaw_variant(o, b, 2, 1, 1);  /* clockwise: [[3,1],[4,2]] */
    cr_assert(o[0] == 3 && o[1] == 1 && o[2] == 4 && o[3] == 2, "%u %u %u %u", o[0], o[1], o[2], o[3]);
    kb_jigsaw_variant(o, b, 2, 1, 4);  /* flip: [[2,1],[4,3]] */
    cr_assert(o[0] == 2 && o[1] == 1 && o[2] == 4 && o[3] == 3);
    kb_jigsaw_variant(o, b, 2, 1, 8);
    cr_assert(o[0] == 254 && o[3] == 251);
    cr_assert_eq(kb_jigsaw_variant_code(1, 2), 8u);
}

Test(jigsaw_solver, reassembles_a_smooth_image_scrambled_with_large_blocks)
{
    for (uint64_t s = 1; s <= 3; s++) {
        double f = solve_fraction(1, false, s);
        cr_assert_geq(f, 0.9, "seed %llu: %.3f of the blocks placed correctly",
                      (unsigned long long)s, f);
    }
}

Test(jigsaw_solver, reassembles_rotated_and_flipped_blocks)
{
    double f = solve_fraction(8, true, 5);
    cr_assert_geq(f, 0.9, "%.3f of the blocks placed correctly", f);
}

Test(jigsaw_solver, score_counts_placements_and_neighbours)
{
    uint8_t a[4 * 4], b[4 * 4];
    for (int i = 0; i < 16; i++)
        a[i] = (uint8_t)(i * 10);
    memcpy(b, a, sizeof a);
    size_t placed, ok, pairs;
    kb_jigsaw_score(&placed, &ok, &pairs, b, a, 4, 4, 1, 2);
    cr_assert(placed == 4 && ok == 4 && pairs == 4);
    uint32_t swap[4] = { 1, 0, 2, 3 };
    uint8_t blocks[4 * 4];
    kb_jigsaw_split(blocks, a, 4, 4, 1, 2, 1);
    kb_jigsaw_assemble(b, blocks, swap, 4, 4, 1, 2);
    kb_jigsaw_score(&placed, &ok, &pairs, b, a, 4, 4, 1, 2);
    cr_assert_eq(placed, 2u);
    cr_assert_lt(ok, 4u);
}

/* ---------------------------------------------------------------- end to end */

static char dir[64];

/* 4 classes: a smooth wave plus a smooth bright blob in quadrant `label`. */
static int smooth_pixel(void *ctx, uint32_t i, uint32_t label, int y, int x, uint32_t *noise)
{
    (void)noise;
    uint32_t seed = *(const uint32_t *)ctx;
    double ph = 0.37 * (i + seed * 1000), cy = 4 + 8 * (label / 2), cx = 4 + 8 * (label % 2);
    double v = 70 + 40 * sin(0.3 * x + 0.2 * y + ph) + 25 * cos(0.25 * y - ph) +
               110 * exp(-((x - cx) * (x - cx) + (y - cy) * (y - cy)) / 18.0);
    return (int)lround(v);
}

static void write_smooth_idx(const char *data_dir, const char *prefix, uint32_t n, uint32_t seed)
{
    write_idx_fn(data_dir, prefix, n, 4, seed, smooth_pixel, &seed);
}

static void setup(void)
{
    strcpy(dir, "/tmp/kbjigXXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    char p[256];
    snprintf(p, sizeof p, "%s/data", dir);
    mkdir(p, 0755);
    write_smooth_idx(p, "train", 240, 1);
    write_smooth_idx(p, "t10k", 60, 2);
    /* a fixed master secret: the same key, hence the same result, every run
     * (a fresh one per run made the encrypted baseline vary from key to key) */
    snprintf(p, sizeof p, "%s/lab.key", dir);
    write_test_key(p);
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

static json_t *run_jigsaw(const char *transform)
{
    char p[256];
    snprintf(p, sizeof p, "%s/s.yaml", dir);
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f);
    fprintf(f, "name: s\n"
               "key: lab.key\n"
               "dataset: {name: idx, path: data}\n"
               "splits: {finetune: {fraction: 0.5}, attacker: {count: 40}}\n"
               "backbone: {name: mlp, hidden: 32, depth: 1}\n"
               "transform: [%s]\n"
               "pretrain: {epochs: 3, batch_size: 32, lr: 0.05}\n"
               "finetune: {epochs: 2, batch_size: 32, lr: 0.05}\n"
               "evaluate: {wrong_keys: 1}\n"
               "attacks: [{name: jigsaw, images: 30, seeds: 4}]\n",
            transform);
    fclose(f);
    char rd[256];
    snprintf(rd, sizeof rd, "%s/run", dir);
    return run_spec_journal(p, rd);
}

Test(jigsaw_run, reassembles_block_scrambled_test_images, .init = setup, .fini = teardown,
     .timeout = 120)
{
    json_t *recs = run_jigsaw("{name: block_scramble, block_size: 4}");
    double placed = journal_value(recs, "jigsaw", "placement_accuracy");
    double joint = journal_value(recs, "jigsaw", "joint_placement_accuracy");
    double nb = journal_value(recs, "jigsaw", "neighbor_accuracy");
    double acc_rec = journal_value(recs, "jigsaw", "pretrained_accuracy_reassembled");
    double acc_enc = journal_value(recs, "jigsaw", "pretrained_accuracy_encrypted");
    double acc_plain = journal_value(recs, "jigsaw", "pretrained_accuracy_plain");
    cr_log_info("placed %.3f joint %.3f neighbours %.3f acc reassembled %.3f encrypted %.3f plain %.3f",
                placed, joint, nb, acc_rec, acc_enc, acc_plain);
    cr_assert_geq(placed, 0.8, "per image: %.3f of the blocks placed", placed);
    cr_assert_geq(joint, 0.95, "joint: %.3f of the blocks placed", joint);
    cr_assert_geq(nb, 0.8, "neighbours: %.3f", nb);
    /* the reassembled images give the unprotected model back its accuracy on
     * plain images (what it gets on encrypted ones depends on the key: a
     * permutation of 16 blocks may leave some in place) */
    cr_assert_geq(acc_rec, acc_plain - 0.1, "reassembled %.3f vs plain %.3f", acc_rec, acc_plain);
    cr_assert_gt(acc_rec, acc_enc, "reassembled %.3f vs encrypted %.3f", acc_rec, acc_enc);
    json_decref(recs);
}

/* With rotation and flip the probe finds the dihedral variants and the
 * solver searches them (8 variants per block). */
Test(jigsaw_run, searches_block_rotations_when_the_transform_rotates, .init = setup,
     .fini = teardown, .timeout = 120)
{
    json_t *recs = run_jigsaw("{name: block_scramble, block_size: 4, rotate: true, flip: true}");
    size_t i;
    json_t *r;
    int seen = 0;
    json_array_foreach(recs, i, r) {
        const char *cnd = cond_name(json_string_value(json_object_get(r, "condition")));
        if (!cnd || strcmp(cnd, "jigsaw"))
            continue;
        double v = json_number_value(json_object_get(r, "value"));
        cr_assert(v >= 0 && v <= 1, "%s = %g", json_string_value(json_object_get(r, "metric")), v);
        json_t *ex = json_object_get(r, "variants");
        if (!ex) {
            json_t *extra = json_object_get(r, "extra");
            ex = extra ? json_object_get(extra, "variants") : NULL;
        }
        if (ex) {
            cr_assert_eq(json_integer_value(ex), 8);
            seen++;
        }
    }
    cr_assert_gt(seen, 0, "no jigsaw record names its variants");
    cr_log_info("rotate+flip: neighbours %.3f joint placement %.3f",
                journal_value(recs, "jigsaw", "neighbor_accuracy"),
                journal_value(recs, "jigsaw", "joint_placement_accuracy"));
    json_decref(recs);
}

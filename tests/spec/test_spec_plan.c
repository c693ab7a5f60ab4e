/* Loading, merging and expanding valid specs: include and override
 * precedence, expansion order and counts, cell ids and names, accessors. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "spec_helpers.h"

static struct kb_plan *plan_of(const char *name, const char *text, const char *const *ovr,
                               size_t n_ovr)
{
    const char *path = spec_test_write(name, text);
    struct kb_error err = { { 0 } };
    struct kb_plan *p = NULL;
    int rc = spec_test_plan(&p, path, ovr, n_ovr, &err);
    cr_assert_eq(rc, 0, "%s: %s", name, err.msg);
    return p;
}

static void ids_of(const struct kb_plan *p, char out[][13], size_t max)
{
    cr_assert_leq(kb_plan_count(p), max);
    for (size_t i = 0; i < kb_plan_count(p); i++)
        snprintf(out[i], 13, "%s", kb_cell_id(kb_plan_cell(p, i)));
}

Test(spec_plan, defaults_and_accessors)
{
    struct kb_plan *p = plan_of("defaults.yaml", "backbone: cnn\ntransform: pixel_shuffle\n"
                                "attacks: [wrong_key, {name: key_estimation, mode: heuristic}]\n",
                                NULL, 0);
    cr_assert_eq(kb_plan_count(p), 1);
    const struct kb_cell *c = kb_plan_cell(p, 0);
    cr_assert_str_eq(kb_cell_name(c), "fashion-mnist/cnn/pixel_shuffle/s0");
    cr_assert_eq(strlen(kb_cell_id(c)), 12);
    cr_assert_eq(kb_cell_int(c, "seed"), 0);
    cr_assert_eq(kb_cell_int(c, "finetune.epochs"), 5);
    cr_assert_eq(kb_cell_int(c, "pretrain.epochs"), 10);
    cr_assert_float_eq(kb_cell_float(c, "splits.finetune.fraction"), 0.1, 1e-12);
    cr_assert_eq(kb_cell_int(c, "splits.attacker.count"), 1000);
    cr_assert(kb_cell_bool(c, "splits.disjoint"));
    cr_assert_str_eq(kb_cell_str(c, "dataset.name"), "fashion-mnist");
    cr_assert_str_eq(kb_cell_str(c, "dataset.path"), "/usr/share/datasets/fashion-mnist");
    cr_assert_str_eq(kb_cell_str(c, "finetune.optimizer"), "sgd");
    cr_assert_null(kb_cell_str(c, "pretrain.weights"));
    cr_assert_eq(kb_cell_int(c, "evaluate.wrong_keys"), 10);
    cr_assert_eq(kb_cell_int(c, "evaluate.batch_size"), 256);
    cr_assert(!kb_cell_has(c, "finetune.nope"));
    cr_assert_str_eq(kb_cell_plugin(c, KB_KIND_TRANSFORM)->name, "pixel_shuffle");
    cr_assert_str_eq(kb_cell_plugin(c, KB_KIND_BACKBONE)->name, "cnn");
    cr_assert_eq(kb_params_int(kb_cell_params(c, KB_KIND_TRANSFORM), "block_size"), 4);
    cr_assert_eq(kb_params_int(kb_cell_params(c, KB_KIND_BACKBONE), "width"), 32);
    cr_assert_eq(kb_cell_attack_count(c), 2);
    const struct kb_params *ap = NULL;
    cr_assert_str_eq(kb_cell_attack(c, 1, &ap)->name, "key_estimation");
    cr_assert_str_eq(kb_params_str(ap, "mode"), "heuristic");
    cr_assert_str_eq(kb_cell_str(c, "attacks.1.mode"), "heuristic");
    /* id = first 12 hex chars of BLAKE2b-256 of the canonical JSON */
    unsigned char h[32];
    char hex[65];
    const char *canon = kb_cell_canonical(c);
    crypto_generichash(h, 32, (const unsigned char *)canon, strlen(canon), NULL, 0);
    sodium_bin2hex(hex, sizeof hex, h, 32);
    cr_assert(strncmp(hex, kb_cell_id(c), 12) == 0);
    cr_assert(strncmp(canon, "{\"attacks\":[", 12) == 0, "%s", canon);   /* sorted, compact */
    cr_assert_eq(kb_plan_find(p, "zzzz"), NULL);
    char pre[5];
    snprintf(pre, sizeof pre, "%.4s", kb_cell_id(c));
    cr_assert_eq(kb_plan_find(p, pre), c);
    kb_plan_free(p);
}

Test(spec_plan, spec_level_keys)
{
    struct kb_error err = { { 0 } };
    const char *path = spec_test_write("levels.yaml",
                                       "backbone: cnn\ntransform: none\nplugin_path: [plug, /abs/dir]\n"
                                       "key: secret.key\ndescription: hello\n");
    struct kb_spec *s = NULL;
    cr_assert_eq(kb_spec_parse(&s, path, NULL, 0, &err), 0, "%s", err.msg);
    cr_assert_str_eq(kb_spec_name(s), "levels");
    cr_assert_str_eq(kb_spec_output(s), "runs/levels");
    cr_assert_str_eq(kb_spec_description(s), "hello");
    bool given = false;
    const char *key = kb_spec_key_path(s, &given);
    cr_assert(given);
    cr_assert(strstr(key, "/secret.key") && key[0] == '/', "%s", key);
    const char *const *dirs;
    cr_assert_eq(kb_spec_plugin_paths(s, &dirs), 2);
    char want[512];
    snprintf(want, sizeof want, "%s/plug", spec_test_dir());
    cr_assert(strstr(dirs[0], "/plug") && dirs[0][0] == '/', "%s", dirs[0]);
    cr_assert_str_eq(dirs[1], "/abs/dir");
    kb_spec_free(s);

    path = spec_test_write("levels2.yaml", "name: my-run\noutput: out/x\nbackbone: cnn\ntransform: none\n");
    cr_assert_eq(kb_spec_parse(&s, path, NULL, 0, &err), 0, "%s", err.msg);
    cr_assert_str_eq(kb_spec_name(s), "my-run");
    cr_assert_str_eq(kb_spec_key_path(s, &given), "out/x/keybench.key");
    cr_assert(!given);
    kb_spec_free(s);
}

Test(spec_plan, include_merge_precedence)
{
    spec_test_write("base1.yaml", "backbone: {name: cnn, width: 16}\ntransform: ffx\n"
                                  "seed: [0, 1, 2]\nfinetune: {lr: 0.5, epochs: 3}\n");
    spec_test_write("base2.yaml", "finetune: {epochs: 4, batch_size: 32}\n");
    struct kb_plan *p = plan_of("top.yaml", "include: [base1.yaml, base2.yaml]\n"
                                "finetune: {lr: 0.2}\nseed: [7]\n", NULL, 0);
    cr_assert_eq(kb_plan_count(p), 1);   /* lists are replaced, not merged */
    const struct kb_cell *c = kb_plan_cell(p, 0);
    cr_assert_eq(kb_cell_int(c, "seed"), 7);
    cr_assert_float_eq(kb_cell_float(c, "finetune.lr"), 0.2, 1e-12);    /* the file wins */
    cr_assert_eq(kb_cell_int(c, "finetune.epochs"), 4);                  /* later include wins */
    cr_assert_eq(kb_cell_int(c, "finetune.batch_size"), 32);
    cr_assert_eq(kb_cell_int(c, "backbone.width"), 16);                  /* deep merge */
    cr_assert_str_eq(kb_cell_str(c, "transform.name"), "ffx");
    kb_plan_free(p);
}

Test(spec_plan, include_relative_to_including_file)
{
    char sub[600];
    snprintf(sub, sizeof sub, "%s/sub", spec_test_dir());
    mkdir(sub, 0755);
    spec_test_write("sub/inner.yaml", "transform: negpos\ndataset: {name: idx, path: data}\n");
    spec_test_write("sub/mid.yaml", "include: inner.yaml\nbackbone: mlp\n");
    struct kb_plan *p = plan_of("outer.yaml", "include: sub/mid.yaml\n", NULL, 0);
    const struct kb_cell *c = kb_plan_cell(p, 0);
    cr_assert_str_eq(kb_cell_str(c, "transform.name"), "negpos");
    cr_assert_str_eq(kb_cell_str(c, "backbone.name"), "mlp");
    /* a relative path is taken from the folder of the file that wrote it */
    cr_assert(strstr(kb_cell_str(c, "dataset.path"), "/sub/data") != NULL, "%s",
              kb_cell_str(c, "dataset.path"));
    kb_plan_free(p);
}

Test(spec_plan, override_precedence)
{
    spec_test_write("ob.yaml", "finetune: {lr: 0.5}\n");
    const char *ovr[] = { "finetune.lr=0.3", "seed=[0,1]", "transform.block_size=8",
                          "backbone=mlp" };
    struct kb_plan *p = plan_of("ov.yaml", "include: ob.yaml\nbackbone: cnn\n"
                                "transform: pixel_shuffle\nfinetune: {lr: 0.4}\n", ovr, 4);
    cr_assert_eq(kb_plan_count(p), 2);
    const struct kb_cell *c = kb_plan_cell(p, 1);
    cr_assert_float_eq(kb_cell_float(c, "finetune.lr"), 0.3, 1e-12);
    cr_assert_eq(kb_cell_int(c, "seed"), 1);
    cr_assert_eq(kb_cell_int(c, "transform.block_size"), 8);
    cr_assert_str_eq(kb_cell_str(c, "backbone.name"), "mlp");
    kb_plan_free(p);
}

Test(spec_plan, expansion_order_and_counts)
{
    struct kb_plan *p = plan_of("mx.yaml", "backbone: cnn\ntransform: [pixel_shuffle, negpos, ffx]\n"
                                "seed: [0, 1, 2]\n", NULL, 0);
    cr_assert_eq(kb_plan_count(p), 9);
    /* the last axis (seed) varies fastest */
    cr_assert_eq(kb_cell_int(kb_plan_cell(p, 0), "seed"), 0);
    cr_assert_eq(kb_cell_int(kb_plan_cell(p, 1), "seed"), 1);
    cr_assert_str_eq(kb_cell_str(kb_plan_cell(p, 3), "transform.name"), "negpos");
    cr_assert_str_eq(kb_cell_name(kb_plan_cell(p, 4)), "fashion-mnist/cnn/negpos/s1");
    const char *const *axes;
    size_t na = kb_plan_axes(p, &axes);
    cr_assert_eq(na, 2, "%zu", na);   /* transform.name, seed (bits: one non-null value) */
    cr_assert_str_eq(axes[0], "transform.name");
    cr_assert_str_eq(axes[na - 1], "seed");
    kb_plan_free(p);

    p = plan_of("mx2.yaml", "backbone: cnn\ntransform: [pixel_shuffle, negpos, ffx]\n"
                "seed: [0, 1, 2]\nmatrix:\n  exclude:\n    - {transform: negpos, seed: 1}\n"
                "    - {transform: ffx}\n", NULL, 0);
    cr_assert_eq(kb_plan_count(p), 5);
    kb_plan_free(p);

    /* an include entry fixes the axes it names and expands over the others */
    p = plan_of("mx3.yaml", "backbone: cnn\ntransform: [pixel_shuffle, negpos]\n"
                "seed: [0, 1, 2]\nmatrix:\n  exclude:\n    - {transform: negpos, seed: 1}\n"
                "  include:\n    - transform: none\n    - {transform: ffx, transform.block_size: 2, seed: 9}\n"
                "    - {transform: negpos, seed: 0}\n", NULL, 0);
    /* 6 - 1 + 3 (none × 3 seeds) + 1 (ffx b2 s9) + 0 (negpos s0 exists) */
    cr_assert_eq(kb_plan_count(p), 9);
    const struct kb_cell *last = kb_plan_cell(p, 8);
    cr_assert_str_eq(kb_cell_str(last, "transform.name"), "ffx");
    cr_assert_eq(kb_cell_int(last, "transform.block_size"), 2);
    cr_assert_eq(kb_cell_int(last, "seed"), 9);
    kb_plan_free(p);
}

Test(spec_plan, plugin_param_axes_and_scalar_axes)
{
    struct kb_plan *p = plan_of("pa.yaml", "backbone: {name: cnn, width: [8, 16], dropout: [0, 0.5]}\n"
                                "transform:\n  - {name: pixel_shuffle, block_size: [2, 4, 7]}\n"
                                "  - negpos\nfinetune: {lr: [0.1, 0.01], milestones: [[1], [2, 3]]}\n"
                                "splits: {finetune: {count: [100, 200]}}\n",
                                NULL, 0);
    cr_assert_eq(kb_plan_count(p), 4 * 4 * 2 * 2 * 2);
    const struct kb_cell *c = kb_plan_cell(p, 0);
    cr_assert_eq(kb_cell_int(c, "backbone.width"), 8);
    cr_assert_float_eq(kb_cell_float(c, "backbone.dropout"), 0.0, 0);
    cr_assert_eq(kb_cell_int(c, "splits.finetune.count"), 100);
    cr_assert(!kb_cell_has(c, "splits.finetune.fraction"));
    /* names are unique */
    json_t *seen = json_object();
    for (size_t i = 0; i < kb_plan_count(p); i++) {
        const char *n = kb_cell_name(kb_plan_cell(p, i));
        cr_assert_null(json_object_get(seen, n), "duplicate name %s", n);
        json_object_set_new(seen, n, json_true());
    }
    json_decref(seen);
    cr_assert(strstr(kb_cell_name(c), "pixel_shuffle-block_size=2") != NULL, "%s", kb_cell_name(c));
    cr_assert(strstr(kb_cell_name(c), "cnn-width=8-dropout=0") != NULL, "%s", kb_cell_name(c));
    kb_plan_free(p);
}

Test(spec_plan, id_stable_under_key_order_and_number_form)
{
    char a[16][13], b[16][13];
    struct kb_plan *p = plan_of("ida.yaml",
                                "backbone: cnn\ntransform: {name: pixel_shuffle, block_size: [4, 8]}\n"
                                "seed: [0, 1]\nfinetune: {lr: 1, epochs: 5}\n", NULL, 0);
    ids_of(p, a, 16);
    size_t n = kb_plan_count(p);
    kb_plan_free(p);
    p = plan_of("idb.yaml",
                "finetune:\n  epochs: 5.0\n  lr: 1.0\nseed: [0, 1]\n"
                "transform: {block_size: [4.0, 8], name: pixel_shuffle}\nbackbone: {name: cnn, width: 32}\n"
                "splits: {finetune: {fraction: 0.1}}\n", NULL, 0);
    ids_of(p, b, 16);
    cr_assert_eq(kb_plan_count(p), n);
    for (size_t i = 0; i < n; i++)
        cr_assert_str_eq(a[i], b[i], "cell %zu", i);
    kb_plan_free(p);
}

Test(spec_plan, id_changes_with_a_value)
{
    char a[4][13], b[4][13], c[4][13];
    struct kb_plan *p = plan_of("ic1.yaml", "backbone: cnn\ntransform: {name: negpos, block_size: 4}\n", NULL, 0);
    ids_of(p, a, 4);
    kb_plan_free(p);
    p = plan_of("ic2.yaml", "backbone: cnn\ntransform: {name: negpos, block_size: 8}\n", NULL, 0);
    ids_of(p, b, 4);
    kb_plan_free(p);
    const char *ovr[] = { "finetune.lr=0.02" };
    p = plan_of("ic3.yaml", "backbone: cnn\ntransform: {name: negpos, block_size: 4}\n", ovr, 1);
    ids_of(p, c, 4);
    kb_plan_free(p);
    cr_assert_str_neq(a[0], b[0]);
    cr_assert_str_neq(a[0], c[0]);
    cr_assert_str_neq(b[0], c[0]);
}

Test(spec_plan, colliding_names_get_the_id)
{
    /* two cells that differ only outside the axes the names show */
    struct kb_plan *p = plan_of("col.yaml", "backbone: cnn\ntransform: negpos\n"
                                "matrix:\n  include:\n    - {transform: negpos, evaluate.wrong_keys: 3}\n",
                                NULL, 0);
    cr_assert_eq(kb_plan_count(p), 2);
    const char *n0 = kb_cell_name(kb_plan_cell(p, 0)), *n1 = kb_cell_name(kb_plan_cell(p, 1));
    cr_assert_str_neq(n0, n1);
    cr_assert(strstr(n1, "evaluate.wrong_keys=3") != NULL, "%s", n1);
    kb_plan_free(p);
}

Test(spec_plan, plan_json_document)
{
    struct kb_plan *p = plan_of("js.yaml", "backbone: cnn\ntransform: [none, ffx]\nseed: [3, 4]\n", NULL, 0);
    json_t *doc = kb_plan_json(p);
    cr_assert_not_null(doc);
    cr_assert_eq(json_integer_value(json_object_get(doc, "count")), 4);
    json_t *cells = json_object_get(doc, "cells");
    cr_assert_eq(json_array_size(cells), 4);
    json_t *c0 = json_array_get(cells, 0);
    cr_assert_str_eq(json_string_value(json_object_get(c0, "id")), kb_cell_id(kb_plan_cell(p, 0)));
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(c0, "axes"), "seed")), 3);
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(c0, "axes"), "transform.name")), "none");
    json_decref(doc);
    kb_plan_free(p);
}

Test(spec_plan, default_explicit_or_omitted_same_id)
{
    char a[2][13], b[2][13];
    struct kb_plan *p = plan_of("de1.yaml", "backbone: cnn\ntransform: pixel_shuffle\n", NULL, 0);
    ids_of(p, a, 2);
    kb_plan_free(p);
    p = plan_of("de2.yaml", "backbone: {name: cnn, dropout: 0.0}\ntransform: {name: pixel_shuffle, block_size: 4}\n"
                "seed: 0\npretrain: {optimizer: sgd}\nevaluate: {wrong_keys: 10}\n", NULL, 0);
    ids_of(p, b, 2);
    kb_plan_free(p);
    cr_assert_str_eq(a[0], b[0]);
}

Test(spec_plan, include_plugin_entries_merge_or_replace)
{
    /* same plugin: parameters merge (a shorthand included is extended) */
    spec_test_write("g1.yaml", "backbone: cnn\ntransform: ffx\n");
    struct kb_plan *p = plan_of("g2.yaml", "include: g1.yaml\ntransform: {block_size: 2}\n", NULL, 0);
    cr_assert_str_eq(kb_cell_str(kb_plan_cell(p, 0), "transform.name"), "ffx");
    cr_assert_eq(kb_cell_int(kb_plan_cell(p, 0), "transform.block_size"), 2);
    kb_plan_free(p);
    /* another plugin: the entry is replaced (ffx's password does not leak into negpos) */
    spec_test_write("g3.yaml", "backbone: {name: cnn, width: 8}\ntransform: {name: ffx, password: x}\n");
    p = plan_of("g4.yaml", "include: g3.yaml\ntransform: negpos\nbackbone: {name: mlp}\n", NULL, 0);
    cr_assert_str_eq(kb_cell_str(kb_plan_cell(p, 0), "transform.name"), "negpos");
    cr_assert(!kb_cell_has(kb_plan_cell(p, 0), "transform.password"));
    cr_assert(!kb_cell_has(kb_plan_cell(p, 0), "backbone.width"));
    kb_plan_free(p);
}

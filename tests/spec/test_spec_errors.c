/* Malformed specs: each gives one error line naming FILE:LINE:COL (or the
 * override) and the key, with the closest valid names for a misspelling. */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "spec_helpers.h"

/* The message must contain every given substring. */
static void expect(const char *msg, int n, ...)
{
    cr_assert(msg[0] != '\0', "expected an error, the spec was accepted");
    cr_assert(strchr(msg, '\n') == NULL, "more than one line: %s", msg);
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++) {
        const char *sub = va_arg(ap, const char *);
        cr_assert(strstr(msg, sub) != NULL, "'%s' not in: %s", sub, msg);
    }
    va_end(ap);
}

#define OK_HEAD "backbone: cnn\ntransform: pixel_shuffle\n"

Test(spec_errors, yaml_syntax_error)
{
    const char *m = spec_test_error("syn.yaml", OK_HEAD "seed: [0, 1\nfinetune: {lr: 1}\n");
    expect(m, 2, "syn.yaml:4:", "YAML syntax error");
}

Test(spec_errors, unknown_top_level_key_with_suggestion)
{
    const char *m = spec_test_error("top.yaml", OK_HEAD "seeds: [0, 1]\n");
    expect(m, 3, "top.yaml:3:1:", "unknown key 'seeds'", "did you mean 'seed'");
}

Test(spec_errors, misspelt_transform_with_suggestion)
{
    const char *m = spec_test_error("tr.yaml", "backbone: cnn\ntransform: pixel_shufle\n");
    expect(m, 3, "tr.yaml:2:12:", "unknown transform plugin 'pixel_shufle'", "'pixel_shuffle'");
}

Test(spec_errors, misspelt_backbone_in_list_with_suggestion)
{
    const char *m = spec_test_error("bb.yaml", "transform: none\nbackbone:\n  - cnn\n  - name: mpl\n");
    expect(m, 3, "bb.yaml:4:11:", "unknown backbone plugin 'mpl'", "'mlp'");
}

Test(spec_errors, unknown_plugin_param_with_suggestion)
{
    const char *m = spec_test_error("pp.yaml", "backbone: cnn\ntransform:\n  name: negpos\n"
                                               "  block_sise: 4\n");
    expect(m, 4, "pp.yaml:4:3:", "unknown key 'block_sise'", "negpos", "did you mean 'block_size'");
}

Test(spec_errors, wrong_type_seed)
{
    const char *m = spec_test_error("wt.yaml", OK_HEAD "seed: abc\n");
    expect(m, 3, "wt.yaml:3:7:", "seed", "expected an integer");
}

Test(spec_errors, quoted_number_is_a_string)
{
    const char *m = spec_test_error("q.yaml", OK_HEAD "seed: \"1\"\n");
    expect(m, 2, "q.yaml:3:7:", "expected an integer");
}

Test(spec_errors, wrong_type_plugin_param)
{
    const char *m = spec_test_error("wp.yaml", "backbone: cnn\ntransform: {name: ffx, block_size: four}\n");
    expect(m, 3, "wp.yaml:2:36:", "block_size", "expected an integer");
}

Test(spec_errors, out_of_range_plugin_param)
{
    const char *m = spec_test_error("rp.yaml", "backbone: cnn\ntransform:\n  name: pixel_shuffle\n"
                                               "  block_size: [2, 0]\n");
    expect(m, 3, "rp.yaml:4:19:", "block_size", "out of range");
}

Test(spec_errors, out_of_range_harness_value)
{
    const char *m = spec_test_error("rh.yaml", OK_HEAD "finetune:\n  momentum: 1.0\n");
    expect(m, 3, "rh.yaml:4:13:", "finetune.momentum", "out of range [0, 1)");
}

Test(spec_errors, negative_lr)
{
    const char *m = spec_test_error("lr.yaml", OK_HEAD "pretrain: {lr: [0.1, 0]}\n");
    expect(m, 3, "lr.yaml:3:22:", "pretrain.lr", "out of range");
}

Test(spec_errors, fraction_and_count_both)
{
    const char *m = spec_test_error("fc.yaml", OK_HEAD "splits:\n  finetune:\n    fraction: 0.1\n"
                                               "    count: 100\n");
    expect(m, 3, "fc.yaml:5:5:", "splits.finetune", "not both");
}

Test(spec_errors, fraction_out_of_range)
{
    const char *m = spec_test_error("fr.yaml", OK_HEAD "splits: {test: {fraction: 1.5}}\n");
    expect(m, 3, "fr.yaml:3:27:", "splits.test.fraction", "out of range (0, 1]");
}

Test(spec_errors, bad_include_path)
{
    const char *m = spec_test_error("inc.yaml", "include: [nope.yaml]\n" OK_HEAD);
    expect(m, 3, "inc.yaml:1:11:", "include", "nope.yaml");
}

Test(spec_errors, include_cycle_names_the_chain)
{
    spec_test_write("cyc_b.yaml", "include: cyc_a.yaml\nseed: 1\n");
    const char *m = spec_test_error("cyc_a.yaml", "include: cyc_b.yaml\n" OK_HEAD);
    expect(m, 4, "cyc_b.yaml:1:10:", "include cycle", "cyc_a.yaml -> ", "cyc_b.yaml -> ");
}

Test(spec_errors, error_in_included_file_names_that_file)
{
    spec_test_write("part.yaml", "finetune:\n  epochs: -1\n");
    const char *m = spec_test_error("main.yaml", "include: part.yaml\n" OK_HEAD);
    expect(m, 2, "part.yaml:2:11:", "finetune.epochs");
}

Test(spec_errors, duplicate_key)
{
    const char *m = spec_test_error("dup.yaml", OK_HEAD "seed: 0\nseed: 1\n");
    expect(m, 3, "dup.yaml:4:1:", "duplicate key 'seed'", "line 3");
}

Test(spec_errors, bad_override_syntax)
{
    const char *ovr[] = { "seed" };
    const char *m = spec_test_error_ovr("o1.yaml", OK_HEAD, ovr, 1);
    expect(m, 2, "override 'seed'", "KEY.PATH=VALUE");
}

Test(spec_errors, bad_override_value)
{
    const char *ovr[] = { "seed=[0,1" };
    const char *m = spec_test_error_ovr("o2.yaml", OK_HEAD, ovr, 1);
    expect(m, 2, "override 'seed=[0,1'", "YAML syntax error");
}

Test(spec_errors, bad_override_key_path)
{
    const char *ovr[] = { "transform..block_size=4" };
    const char *m = spec_test_error_ovr("o3.yaml", OK_HEAD, ovr, 1);
    expect(m, 2, "override 'transform..block_size=4'", "bad key path");
}

Test(spec_errors, override_of_unknown_key)
{
    const char *ovr[] = { "seeds=1" };
    const char *m = spec_test_error_ovr("o4.yaml", OK_HEAD, ovr, 1);
    expect(m, 3, "override 'seeds=1'", "unknown key 'seeds'", "'seed'");
}

Test(spec_errors, override_of_unknown_plugin_param)
{
    const char *ovr[] = { "transform.block_sise=4" };
    const char *m = spec_test_error_ovr("o5.yaml", OK_HEAD, ovr, 1);
    expect(m, 3, "override 'transform.block_sise=4'", "unknown key 'block_sise'", "'block_size'");
}

Test(spec_errors, exclude_naming_unknown_axis)
{
    const char *m = spec_test_error("ex.yaml", "backbone: cnn\ntransform: {name: negpos, block_size: [2, 4]}\n"
                                               "matrix:\n  exclude:\n    - transform.block_sise: 2\n");
    expect(m, 4, "ex.yaml:5:7:", "matrix.exclude", "transform.block_sise", "'transform.block_size'");
}

Test(spec_errors, exclude_naming_non_axis_field)
{
    const char *m = spec_test_error("ex2.yaml", OK_HEAD "seed: [0, 1]\nmatrix:\n  exclude:\n"
                                                "    - finetune.lr: 0.1\n");
    expect(m, 3, "ex2.yaml:6:7:", "'finetune.lr' is not an axis", "seed");
}

Test(spec_errors, exclude_value_not_taken_with_suggestion)
{
    const char *m = spec_test_error("ex3.yaml", "backbone: cnn\ntransform: [negpos, ffx]\nmatrix:\n"
                                                "  exclude:\n    - transform: negpso\n");
    expect(m, 3, "ex3.yaml:5:18:", "'negpso'", "did you mean 'negpos'");
}

Test(spec_errors, empty_matrix_after_exclude)
{
    const char *m = spec_test_error("em.yaml", OK_HEAD "seed: [0, 1]\nmatrix:\n  exclude:\n"
                                               "    - seed: 0\n    - seed: 1\n");
    expect(m, 2, "em.yaml:5:3:", "removes every cell");
}

Test(spec_errors, include_entry_unknown_path)
{
    const char *m = spec_test_error("ie.yaml", OK_HEAD "matrix:\n  include:\n    - transform: ffx\n"
                                               "      transform.pasword: x\n");
    expect(m, 3, "ie.yaml:6:7:", "unknown key 'pasword'", "'password'");
}

Test(spec_errors, include_entry_not_a_cell_key)
{
    const char *m = spec_test_error("ie2.yaml", OK_HEAD "matrix:\n  include:\n    - output: x\n");
    expect(m, 2, "ie2.yaml:5:7:", "'output' is not part of a cell");
}

Test(spec_errors, anchors_and_aliases_rejected)
{
    const char *m = spec_test_error("an.yaml", OK_HEAD "pretrain: &p {epochs: 1}\nfinetune: *p\n");
    expect(m, 2, "an.yaml:3:11:", "anchors");
}

Test(spec_errors, alias_rejected)
{
    const char *m = spec_test_error("al.yaml", OK_HEAD "finetune: *p\n");
    cr_assert(m[0]);   /* undefined alias: libyaml or our check, never a crash */
    expect(m, 1, "al.yaml:3:");
}

Test(spec_errors, merge_key_rejected)
{
    const char *m = spec_test_error("mk.yaml", OK_HEAD "finetune:\n  <<: {epochs: 1}\n");
    expect(m, 2, "mk.yaml:4:3:", "merge keys");
}

Test(spec_errors, explicit_tag_rejected)
{
    const char *m = spec_test_error("tag.yaml", OK_HEAD "seed: !!int 3\n");
    expect(m, 2, "tag.yaml:3:7:", "tags");
}

Test(spec_errors, dataset_needs_path)
{
    const char *m = spec_test_error("ds.yaml", OK_HEAD "dataset: png\n");
    expect(m, 3, "ds.yaml:3:10:", "png", "needs a path");
}

Test(spec_errors, dataset_name_with_suggestion)
{
    const char *m = spec_test_error("dn.yaml", OK_HEAD "dataset: {name: cifar-10, path: x}\n");
    expect(m, 3, "dn.yaml:3:17:", "dataset.name", "'cifar10'");
}

Test(spec_errors, unknown_key_in_section_with_suggestion)
{
    const char *m = spec_test_error("sk.yaml", OK_HEAD "finetune:\n  lrr: 0.1\n");
    expect(m, 3, "sk.yaml:4:3:", "unknown key 'lrr' in finetune", "'lr'");
}

Test(spec_errors, bad_choice_with_suggestion)
{
    const char *m = spec_test_error("ch.yaml", OK_HEAD "pretrain: {optimizer: adamm}\n");
    expect(m, 3, "ch.yaml:3:23:", "pretrain.optimizer", "did you mean 'adam'");
}

Test(spec_errors, unknown_attack_with_suggestion)
{
    const char *m = spec_test_error("at.yaml", OK_HEAD "attacks:\n  - wrong_key\n  - name: key_estimaton\n");
    expect(m, 3, "at.yaml:5:11:", "unknown attack plugin 'key_estimaton'", "'key_estimation'");
}

Test(spec_errors, attack_param_list_is_not_an_axis)
{
    const char *m = spec_test_error("ap.yaml", OK_HEAD "attacks:\n  - {name: wrong_key, trials: [1, 2]}\n");
    expect(m, 3, "ap.yaml:4:31:", "trials", "not an axis");
}

Test(spec_errors, value_listed_twice)
{
    const char *m = spec_test_error("tw.yaml", OK_HEAD "seed: [0, 1, 0]\n");
    expect(m, 2, "tw.yaml:3:14:", "listed twice");
}

Test(spec_errors, multistep_needs_milestones)
{
    const char *m = spec_test_error("ms.yaml", OK_HEAD "pretrain:\n  schedule: multistep\n");
    expect(m, 2, "ms.yaml:4:13:", "milestones");
}

Test(spec_errors, multistep_in_an_axis_needs_milestones)
{
    const char *m = spec_test_error("ms2.yaml", OK_HEAD "finetune: {schedule: [cosine, multistep], milestones: [[], [3]]}\n");
    expect(m, 2, "ms2.yaml:3:", "milestones");
}

Test(spec_errors, milestones_must_increase)
{
    const char *m = spec_test_error("mi.yaml", OK_HEAD "pretrain: {schedule: multistep, milestones: [5, 3]}\n");
    expect(m, 2, "mi.yaml:3:49:", "must increase");
}

Test(spec_errors, root_must_be_a_mapping)
{
    const char *m = spec_test_error("root.yaml", "- backbone: cnn\n");
    expect(m, 2, "root.yaml:1:1:", "mapping");
}

Test(spec_errors, empty_axis_list)
{
    const char *m = spec_test_error("ea.yaml", OK_HEAD "seed: []\n");
    expect(m, 2, "ea.yaml:3:7:", "empty list");
}

Test(spec_errors, missing_backbone)
{
    const char *m = spec_test_error("mb.yaml", "transform: none\n");
    expect(m, 2, "mb.yaml:1:1:", "missing 'backbone'");
}

Test(spec_errors, bad_run_name)
{
    const char *m = spec_test_error("nm.yaml", OK_HEAD "name: a/b\n");
    expect(m, 2, "nm.yaml:3:7:", "name");
}

Test(spec_errors, two_documents)
{
    const char *m = spec_test_error("docs.yaml", OK_HEAD "---\nseed: 1\n");
    expect(m, 2, "docs.yaml:3:1:", "one YAML document");
}

Test(spec_errors, deep_nesting_is_an_error_not_a_crash)
{
    char text[4096];
    size_t n = (size_t)snprintf(text, sizeof text, OK_HEAD "finetune: ");
    for (int i = 0; i < 200; i++)
        text[n++] = '[';
    text[n++] = '\n';
    text[n] = '\0';
    const char *m = spec_test_error("deep.yaml", text);
    expect(m, 1, "deep.yaml:3:");
}

Test(spec_errors, missing_spec_file)
{
    struct kb_error err = { { 0 } };
    struct kb_spec *s = NULL;
    cr_assert_eq(kb_spec_parse(&s, "/nonexistent/dir/x.yaml", NULL, 0, &err), -1);
    cr_assert_null(s);
    cr_assert(strstr(err.msg, "/nonexistent/dir/x.yaml") != NULL, "%s", err.msg);
}

/* Every prefix of a valid spec is either accepted or refused with a message:
 * never a crash, a hang or an empty error. */
Test(spec_errors, truncations_never_crash)
{
    const char *full =
        "name: trunc\ninclude: []\nbackbone: {name: cnn, width: [8, 16]}\n"
        "transform:\n  - pixel_shuffle\n  - {name: ffx, password: \"p w\"}\n"
        "seed: [0, 1]\nsplits: {finetune: {count: 10}}\nfinetune: {lr: [0.1, 0.2], milestones: [1, 2]}\n"
        "attacks: [wrong_key]\nmatrix:\n  exclude: [{seed: 1, transform: ffx}]\n"
        "  include: [{transform: none, seed: 3}]\n";
    size_t len = strlen(full);
    char buf[1024];
    int accepted = 0;
    for (size_t i = 0; i <= len; i++) {
        memcpy(buf, full, i);
        buf[i] = '\0';
        const char *m = spec_test_error("trunc.yaml", buf);
        if (!m[0])
            accepted++;
        else
            cr_assert(strstr(m, "trunc.yaml") != NULL, "prefix %zu: %s", i, m);
    }
    cr_assert_gt(accepted, 0);
}

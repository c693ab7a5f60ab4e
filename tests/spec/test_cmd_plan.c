/* The `keybench plan` command: exit codes, the one-line error, text and JSON output. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "spec_helpers.h"

/* Run `keybench ARGS`; stdout and stderr into buffers. Returns the exit status. */
static int run_kb(const char *args, char *out, size_t out_size, char *errb, size_t err_size)
{
    const char *root = getenv("KEYBENCH_BUILD_ROOT");
    cr_assert_not_null(root, "KEYBENCH_BUILD_ROOT is not set");
    char cmd[4096], o[600], e[600];
    snprintf(o, sizeof o, "%s/cmd.out", spec_test_dir());
    snprintf(e, sizeof e, "%s/cmd.err", spec_test_dir());
    snprintf(cmd, sizeof cmd, "%s/harness/cli/keybench plan %s >%s 2>%s", root, args, o, e);
    int st = system(cmd);
    cr_assert(WIFEXITED(st));
    FILE *f = fopen(o, "r");
    size_t n = f ? fread(out, 1, out_size - 1, f) : 0;
    out[n] = '\0';
    if (f)
        fclose(f);
    f = fopen(e, "r");
    n = f ? fread(errb, 1, err_size - 1, f) : 0;
    errb[n] = '\0';
    if (f)
        fclose(f);
    return WEXITSTATUS(st);
}

static char out[1 << 16], errb[4096];

Test(cmd_plan, usage_errors_exit_2)
{
    cr_assert_eq(run_kb("", out, sizeof out, errb, sizeof errb), 2);
    cr_assert(strstr(errb, "usage: keybench plan") != NULL, "%s", errb);
    cr_assert_eq(run_kb("--bogus x.yaml", out, sizeof out, errb, sizeof errb), 2);
    cr_assert_eq(run_kb("--help", out, sizeof out, errb, sizeof errb), 0);
    cr_assert(strstr(out, "KEY.PATH=VALUE") != NULL);
}

Test(cmd_plan, spec_error_is_one_line_exit_1)
{
    const char *p = spec_test_write("cli_bad.yaml", "backbone: cnn\nseed: [0, 1\n");
    char args[700];
    snprintf(args, sizeof args, "%s", p);
    cr_assert_eq(run_kb(args, out, sizeof out, errb, sizeof errb), 1);
    cr_assert(strncmp(errb, "keybench: ", 10) == 0, "%s", errb);
    cr_assert(strstr(errb, "cli_bad.yaml:3:") != NULL, "%s", errb);
    cr_assert(strchr(errb, '\n') == errb + strlen(errb) - 1, "one line: %s", errb);
    snprintf(args, sizeof args, "%s seed", spec_test_write("cli_ok0.yaml", "backbone: cnn\n"));
    cr_assert_eq(run_kb(args, out, sizeof out, errb, sizeof errb), 2);   /* not an override */
}

/* With the build's real plugins (cnn, none, negpos) when they are built. */
Test(cmd_plan, prints_cells_with_real_plugins)
{
    char so[600];
    struct stat st;
    snprintf(so, sizeof so, "%s/models/cnn.so", getenv("KEYBENCH_BUILD_ROOT"));
    if (stat(so, &st) != 0)
        cr_skip_test("the cnn backbone is not built");
    snprintf(so, sizeof so, "%s/transforms/negpos.so", getenv("KEYBENCH_BUILD_ROOT"));
    if (stat(so, &st) != 0)
        cr_skip_test("the negpos transform is not built");
    const char *p = spec_test_write("cli_ok.yaml", "backbone: cnn\ntransform: [none, negpos]\n"
                                                   "seed: [0, 1]\n");
    char args[700];
    snprintf(args, sizeof args, "%s seed=[0,1,2]", p);
    int rc = run_kb(args, out, sizeof out, errb, sizeof errb);
    cr_assert_eq(rc, 0, "%s", errb);
    cr_assert(strstr(out, "6 cells") != NULL, "%s", out);
    cr_assert(strstr(out, "fashion-mnist/cnn/negpos") != NULL, "%s", out);
    snprintf(args, sizeof args, "%s --json", p);
    cr_assert_eq(run_kb(args, out, sizeof out, errb, sizeof errb), 0, "%s", errb);
    json_error_t je;
    json_t *doc = json_loads(out, 0, &je);
    cr_assert_not_null(doc, "%s", je.text);
    cr_assert_eq(json_integer_value(json_object_get(doc, "count")), 4);
    json_decref(doc);
}

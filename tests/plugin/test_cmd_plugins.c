/* `keybench plugins`: run the built binary with KEYBENCH_PLUGIN_PATH pointing
 * at a folder holding the good test plugin and check what it prints. */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include <keybench/registry.h>


/* Temp folders made by this test process, removed by the suite's fini. */
static char *tmpdirs[16];
static int n_tmpdirs;

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb; (void)flag; (void)ftw;
    return remove(p);
}

static void remove_tmpdirs(void)
{
    for (int i = 0; i < n_tmpdirs; i++)
        nftw(tmpdirs[i], rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static char *remember(char *d)
{
    cr_assert_lt(n_tmpdirs, 16);
    tmpdirs[n_tmpdirs++] = d;
    return d;
}

static char *plugin_dir(const char *name)
{
    char tmpl[] = "/tmp/kb-cmd-plugins-XXXXXX";
    char *d = mkdtemp(tmpl);
    cr_assert(d, "mkdtemp: %s", strerror(errno));
    const char *root = getenv("KEYBENCH_BUILD_ROOT");
    cr_assert(root && *root, "KEYBENCH_BUILD_ROOT is not set (run under meson test)");
    char cmd[3 * PATH_MAX];
    snprintf(cmd, sizeof cmd, "cp '%s/tests/plugin/%s.so' '%s/'", root, name, d);
    cr_assert_eq(system(cmd), 0);
    return remember(strdup(d));
}

/* Run `keybench ARGS` with stderr captured into stdout; returns its exit status. */
static int run(char **out, const char *args)
{
    char cmd[2 * PATH_MAX];
    snprintf(cmd, sizeof cmd, "'%s/harness/cli/keybench' %s 2>&1", getenv("KEYBENCH_BUILD_ROOT"),
             args);
    FILE *p = popen(cmd, "r");
    cr_assert(p);
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n - 1, p)) > 0) {
        n += got;
        if (n + 1 == cap)
            buf = realloc(buf, cap *= 2);
    }
    buf[n] = '\0';
    int st = pclose(p);
    *out = buf;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static json_t *find_plugin(json_t *plugins, const char *name)
{
    size_t i;
    json_t *p;
    json_array_foreach(plugins, i, p) {
        if (!strcmp(json_string_value(json_object_get(p, "name")), name))
            return p;
    }
    return NULL;
}

TestSuite(cmd_plugins, .fini = remove_tmpdirs);

Test(cmd_plugins, json_lists_the_test_plugin)
{
    char *dir = plugin_dir("good");
    setenv("KEYBENCH_PLUGIN_PATH", dir, 1);
    char *out;
    cr_assert_eq(run(&out, "plugins --json"), 0, "%s", out);
    json_error_t jerr;
    json_t *root = json_loads(out, 0, &jerr);
    cr_assert(root, "not JSON (%s): %s", jerr.text, out);
    cr_assert_str_eq(json_string_value(json_object_get(root, "keybench_version")), kb_version());
    json_t *plugins = json_object_get(root, "plugins");
    cr_assert(json_is_array(plugins));
    json_t *p = find_plugin(plugins, "test_good");
    cr_assert(p, "test_good not listed: %s", out);
    cr_assert_str_eq(json_string_value(json_object_get(p, "kind")), "transform");
    cr_assert_str_eq(json_string_value(json_object_get(p, "version")), "1.2.3");
    cr_assert_str_eq(json_string_value(json_object_get(p, "summary")), "a good test transform");
    char want[PATH_MAX];
    snprintf(want, sizeof want, "%s/good.so", dir);
    cr_assert_str_eq(json_string_value(json_object_get(p, "file")), want);
    cr_assert_eq(strlen(json_string_value(json_object_get(p, "blake2b"))), 64);
    json_t *params = json_object_get(p, "params");
    cr_assert_eq(json_array_size(params), 5);
    json_t *bs = json_array_get(params, 0);
    cr_assert_str_eq(json_string_value(json_object_get(bs, "name")), "block_size");
    cr_assert_str_eq(json_string_value(json_object_get(bs, "type")), "int");
    cr_assert_str_eq(json_string_value(json_object_get(bs, "default")), "4");
    cr_assert_eq(json_integer_value(json_object_get(bs, "min")), 1);
    cr_assert_eq(json_integer_value(json_object_get(bs, "max")), 64);
    cr_assert_str_eq(json_string_value(json_object_get(bs, "doc")), "block side M in pixels");
    json_t *pw = json_array_get(params, 3);
    cr_assert(json_is_null(json_object_get(pw, "default")));
    json_t *mode = json_array_get(params, 4);
    json_t *choices = json_object_get(mode, "choices");
    cr_assert_eq(json_array_size(choices), 2);
    cr_assert_str_eq(json_string_value(json_array_get(choices, 1)), "uniform");
    cr_assert(find_plugin(plugins, "test_good_attack"));
    /* The search path ends with the env folder. */
    json_t *sp = json_object_get(root, "search_path");
    cr_assert_str_eq(json_string_value(json_array_get(sp, json_array_size(sp) - 1)), dir);
    json_decref(root);
    free(out);
}

Test(cmd_plugins, kind_filter_and_text)
{
    char *dir = plugin_dir("good");
    setenv("KEYBENCH_PLUGIN_PATH", dir, 1);
    char *out;
    cr_assert_eq(run(&out, "plugins --json --kind attack"), 0, "%s", out);
    json_t *root = json_loads(out, 0, NULL);
    cr_assert(root, "%s", out);
    json_t *plugins = json_object_get(root, "plugins");
    cr_assert(find_plugin(plugins, "test_good_attack"));
    cr_assert_null(find_plugin(plugins, "test_good"));
    size_t i;
    json_t *p;
    json_array_foreach(plugins, i, p)
        cr_assert_str_eq(json_string_value(json_object_get(p, "kind")), "attack");
    json_decref(root);
    free(out);

    cr_assert_eq(run(&out, "plugins --kind transform"), 0, "%s", out);
    cr_assert(strstr(out, "test_good"), "%s", out);
    cr_assert(strstr(out, "block_size"), "%s", out);
    cr_assert(strstr(out, "[1, 64]"), "%s", out);
    cr_assert(strstr(out, "{fixed|uniform}"), "%s", out);
    cr_assert_null(strstr(out, "test_good_attack"), "%s", out);
    free(out);

    cr_assert_eq(run(&out, "plugins --kind gadget"), 2, "%s", out);
    cr_assert(strstr(out, "unknown kind 'gadget'"), "%s", out);
    free(out);
}

Test(cmd_plugins, bad_plugin_fails_with_one_line)
{
    char *dir = plugin_dir("bad_abi");
    setenv("KEYBENCH_PLUGIN_PATH", dir, 1);
    char *out;
    cr_assert_eq(run(&out, "plugins --json"), 1, "%s", out);
    cr_assert(strstr(out, "bad_abi.so"), "%s", out);
    cr_assert(strstr(out, "plugin ABI 7, keybench expects 1"), "%s", out);
    cr_assert_eq(strchr(out, '\n'), out + strlen(out) - 1, "one line: %s", out);
    free(out);
}

Test(cmd_plugins, plugin_path_option)
{
    char *dir = plugin_dir("good");
    setenv("KEYBENCH_PLUGIN_PATH", "", 1);
    char *out;
    char args[PATH_MAX + 64];
    snprintf(args, sizeof args, "plugins --json --plugin-path '%s'", dir);
    cr_assert_eq(run(&out, args), 0, "%s", out);
    json_t *root = json_loads(out, 0, NULL);
    cr_assert(root, "%s", out);
    cr_assert(find_plugin(json_object_get(root, "plugins"), "test_good"));
    json_decref(root);
    free(out);
}

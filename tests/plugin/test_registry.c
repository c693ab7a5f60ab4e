/* Plugin registry: loading, ABI checks, rollback, duplicate names, search order. */
#include <errno.h>
#include <ftw.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <sodium.h>

#include <keybench/registry.h>
#include "plugins/test_ops.h"

/* $KEYBENCH_BUILD_ROOT/tests/plugin/<name>.so */

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

static const char *built(const char *name)
{
    static char buf[8][PATH_MAX];
    static int slot;
    const char *root = getenv("KEYBENCH_BUILD_ROOT");
    cr_assert(root && *root, "KEYBENCH_BUILD_ROOT is not set (run under meson test)");
    char *b = buf[slot++ % 8];
    snprintf(b, PATH_MAX, "%s/tests/plugin/%s.so", root, name);
    return b;
}

static char *make_tmpdir(void)
{
    char tmpl[] = "/tmp/kb-plugin-XXXXXX";
    char *d = mkdtemp(tmpl);
    cr_assert(d, "mkdtemp: %s", strerror(errno));
    return remember(strdup(d));
}

/* Copy a built test plugin into dir as `as` (e.g. "10-good.so"); returns the new
 * path (a static slot, valid for the next 7 calls). */
static char *copy_plugin(const char *dir, const char *name, const char *as)
{
    static char slots[8][PATH_MAX];
    static int slot;
    char *dst = slots[slot++ % 8];
    snprintf(dst, PATH_MAX, "%s/%s", dir, as);
    FILE *in = fopen(built(name), "rb");
    cr_assert(in, "cannot open %s", built(name));
    FILE *out = fopen(dst, "wb");
    cr_assert(out);
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        cr_assert_eq(fwrite(buf, 1, n, out), n);
    fclose(in);
    fclose(out);
    return dst;
}

#define assert_has(msg, needle) \
    cr_assert(strstr((msg), (needle)), "expected '%s' in: %s", (needle), (msg))

static size_t count_from(const struct kb_registry *r, const char *path)
{
    size_t n = 0;
    for (size_t i = 0; i < kb_registry_count(r); i++) {
        const char *p;
        kb_registry_get(r, i, &p);
        n += !strcmp(p, path);
    }
    return n;
}

TestSuite(registry, .fini = remove_tmpdirs);
TestSuite(template, .fini = remove_tmpdirs);

Test(registry, good_file_loads_with_schema_and_hash)
{
    struct kb_registry *r = kb_registry_new();
    struct kb_error err = { { 0 } };
    const char *path = built("good");
    cr_assert_eq(kb_registry_load_file(r, path, &err), 0, "%s", err.msg);
    cr_assert_eq(kb_registry_count(r), 2);
    const struct kb_plugin *t = kb_registry_find(r, KB_KIND_TRANSFORM, "test_good");
    cr_assert(t);
    cr_assert_str_eq(t->version, "1.2.3");
    cr_assert_null(kb_registry_find(r, KB_KIND_ATTACK, "test_good"), "kind must match");
    cr_assert(kb_registry_find(r, KB_KIND_ATTACK, "test_good_attack"));
    cr_assert_eq(kb_param_count(t->params), 5);
    const struct kb_param *bs = kb_param_find(t->params, "block_size");
    cr_assert(bs);
    cr_assert_str_eq(bs->dflt, "4");
    cr_assert_eq(bs->type, KB_PARAM_INT);

    const char *p;
    cr_assert_eq(kb_registry_get(r, 0, &p), t);
    cr_assert_str_eq(p, path);

    /* BLAKE2b-256 of the file, computed independently. */
    FILE *f = fopen(path, "rb");
    cr_assert(f);
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, 32);
    unsigned char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        crypto_generichash_update(&st, buf, n);
    fclose(f);
    unsigned char h[32];
    char hex[65];
    crypto_generichash_final(&st, h, 32);
    sodium_bin2hex(hex, sizeof hex, h, 32);
    cr_assert_str_eq(kb_registry_file_hash(r, 0), hex);
    cr_assert_str_eq(kb_registry_file_hash(r, 1), hex);

    const char **names;
    cr_assert_eq(kb_registry_names(r, KB_KIND_TRANSFORM, &names), 1);
    cr_assert_str_eq(names[0], "test_good");
    free(names);
    kb_registry_free(r);
}

/* Load `name` into a registry that already holds the good file: it must fail
 * with a message naming the file and containing each needle, and the registry
 * must hold exactly what it held before. */
static void expect_bad(const char *name, const char *const *needles)
{
    struct kb_registry *r = kb_registry_new();
    struct kb_error err = { { 0 } };
    cr_assert_eq(kb_registry_load_file(r, built("good"), &err), 0, "%s", err.msg);
    const char *path = built(name);
    cr_assert_eq(kb_registry_load_file(r, path, &err), -1, "%s should fail to load", name);
    assert_has(err.msg, path);
    cr_assert_null(strchr(err.msg, '\n'), "one line: %s", err.msg);
    for (size_t i = 0; needles[i]; i++)
        assert_has(err.msg, needles[i]);
    cr_assert_eq(kb_registry_count(r), 2, "nothing of %s may be registered", name);
    cr_assert_eq(count_from(r, path), 0);
    kb_registry_free(r);
}

#define BAD(name, ...) expect_bad(name, (const char *const[]){ __VA_ARGS__, NULL })

Test(registry, wrong_abi_names_both_numbers)
{
    BAD("bad_abi", "plugin ABI 7, keybench expects 1", "rebuild the plugin");
}

Test(registry, wrong_struct_size_names_both_numbers)
{
    char a[64], b[64];
    snprintf(a, sizeof a, "size %zu", sizeof(struct kb_plugin) + 8);
    snprintf(b, sizeof b, "expects %zu", sizeof(struct kb_plugin));
    BAD("bad_size", a, b);
}

Test(registry, wrong_ops_size_names_both_numbers)
{
    char b[64];
    snprintf(b, sizeof b, "expects %zu", sizeof(struct kb_transform_ops));
    BAD("bad_ops_size", "kb_transform_ops struct_size 16", b, "test_bad_ops_size");
}

Test(registry, missing_entry_symbol)
{
    BAD("no_entry", "keybench_plugin_entry");
}

Test(registry, empty_descriptor_list)
{
    BAD("empty_list", "empty list");
}

Test(registry, unknown_kind_names_the_number)
{
    BAD("bad_kind", "unknown kind 9", "test_bad_kind");
}

Test(registry, invalid_name)
{
    BAD("bad_name", "invalid name 'Bad-Name'", "[a-z0-9_]+");
}

Test(registry, missing_summary)
{
    BAD("no_summary", "missing summary");
}

Test(registry, transform_without_ops)
{
    BAD("no_ops", "transform without ops");
}

Test(registry, transform_with_null_op)
{
    BAD("null_op", "'decrypt' is NULL");
}

Test(registry, bad_default_rolls_back_the_whole_file)
{
    BAD("bad_schema", "test_bad_schema", "block_size");
    struct kb_registry *r = kb_registry_new();
    struct kb_error err = { { 0 } };
    cr_assert_eq(kb_registry_load_file(r, built("bad_schema"), &err), -1);
    cr_assert_null(kb_registry_find(r, KB_KIND_TRANSFORM, "test_rollback_ok"),
                   "descriptor #0 of a failed file must not stay registered");
    cr_assert_eq(kb_registry_count(r), 0);
    kb_registry_free(r);
}

Test(registry, backbone_with_null_build)
{
    BAD("bad_backbone", "backbone op 'build' is NULL", "test_bad_backbone");
}

Test(registry, bad_param_type)
{
    BAD("bad_ptype", "unknown type 42", "weird");
}

Test(registry, not_a_shared_object)
{
    char *dir = make_tmpdir();
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/junk.so", dir);
    FILE *f = fopen(path, "w");
    fputs("this is not an ELF file\n", f);
    fclose(f);
    struct kb_registry *r = kb_registry_new();
    struct kb_error err = { { 0 } };
    cr_assert_eq(kb_registry_load_file(r, path, &err), -1);
    assert_has(err.msg, path);
    assert_has(err.msg, "cannot load plugin");
    cr_assert_eq(kb_registry_count(r), 0);
    kb_registry_free(r);
}

Test(registry, duplicate_name_names_both_files)
{
    struct kb_registry *r = kb_registry_new();
    struct kb_error err = { { 0 } };
    cr_assert_eq(kb_registry_load_file(r, built("dup_a"), &err), 0, "%s", err.msg);
    cr_assert_eq(kb_registry_load_file(r, built("dup_b"), &err), -1);
    assert_has(err.msg, built("dup_a"));
    assert_has(err.msg, built("dup_b"));
    assert_has(err.msg, "'test_dup'");
    cr_assert_eq(kb_registry_count(r), 1);
    cr_assert(kb_registry_find(r, KB_KIND_ATTACK, "test_dup"));
    cr_assert_null(kb_registry_find(r, KB_KIND_TRANSFORM, "test_dup"));
    kb_registry_free(r);
}

Test(registry, same_file_twice_is_loaded_once)
{
    struct kb_registry *r = kb_registry_new();
    struct kb_error err = { { 0 } };
    cr_assert_eq(kb_registry_load_file(r, built("good"), &err), 0, "%s", err.msg);
    cr_assert_eq(kb_registry_load_file(r, built("good"), &err), 0, "%s", err.msg);
    cr_assert_eq(kb_registry_count(r), 2);
    kb_registry_free(r);
}

Test(registry, builtin_add_and_collision)
{
    static const struct kb_attack_ops aops = { TEST_ATTACK_OPS_INIT };
    static const struct kb_plugin builtin = {
        KB_PLUGIN_HEADER, .kind = KB_KIND_ATTACK, .name = "test_good_attack", .version = "1",
        .summary = "in memory", .ops = &aops,
    };
    struct kb_registry *r = kb_registry_new();
    struct kb_error err = { { 0 } };
    cr_assert_eq(kb_registry_add(r, &builtin, "memory:test", &err), 0, "%s", err.msg);
    const char *p;
    cr_assert_eq(kb_registry_get(r, 0, &p), &builtin);
    cr_assert_str_eq(p, "memory:test");
    cr_assert_str_eq(kb_registry_file_hash(r, 0), "");
    cr_assert_eq(kb_registry_load_file(r, built("good"), &err), -1);
    assert_has(err.msg, "memory:test");
    assert_has(err.msg, built("good"));
    cr_assert_eq(kb_registry_count(r), 1);
    kb_registry_free(r);
}

Test(registry, load_dir_is_sorted_and_strict)
{
    char *dir = make_tmpdir();
    copy_plugin(dir, "template_xor", "b.so");
    copy_plugin(dir, "good", "a.so");
    struct kb_registry *r = kb_registry_new();
    struct kb_error err = { { 0 } };
    cr_assert_eq(kb_registry_load_dir(r, dir, &err), 0, "%s", err.msg);
    cr_assert_eq(kb_registry_count(r), 3);
    cr_assert_str_eq(kb_registry_get(r, 0, NULL)->name, "test_good");     /* a.so */
    cr_assert_str_eq(kb_registry_get(r, 2, NULL)->name, "template_xor");  /* b.so */
    kb_registry_free(r);

    char *bad = copy_plugin(dir, "bad_abi", "c.so");
    r = kb_registry_new();
    cr_assert_eq(kb_registry_load_dir(r, dir, &err), -1);
    assert_has(err.msg, bad);
    kb_registry_free(r);

    /* A missing folder is skipped. */
    r = kb_registry_new();
    cr_assert_eq(kb_registry_load_dir(r, "/nonexistent/keybench/plugins", &err), 0);
    cr_assert_eq(kb_registry_count(r), 0);
    kb_registry_free(r);
}

/* Index of the plugin called `name`, or SIZE_MAX. */
static size_t index_of(const struct kb_registry *r, const char *name)
{
    for (size_t i = 0; i < kb_registry_count(r); i++)
        if (!strcmp(kb_registry_get(r, i, NULL)->name, name))
            return i;
    return SIZE_MAX;
}

Test(registry, search_order_env_then_extra)
{
    char *a = make_tmpdir(), *b = make_tmpdir(), *c = make_tmpdir();
    copy_plugin(a, "good", "good.so");
    copy_plugin(b, "template_xor", "template_xor.so");
    copy_plugin(c, "dup_a", "dup_a.so");
    char env[3 * PATH_MAX];
    /* Empty entries are ignored; B before A on purpose. */
    snprintf(env, sizeof env, "::%s::%s:", b, a);
    setenv("KEYBENCH_PLUGIN_PATH", env, 1);
    struct kb_registry *r;
    struct kb_error err = { { 0 } };
    const char *extra[] = { c, "/nonexistent/extra" };
    cr_assert_eq(kb_registry_open(&r, extra, 2, &err), 0, "%s", err.msg);
    size_t ia = index_of(r, "test_good"), ib = index_of(r, "template_xor"),
           ic = index_of(r, "test_dup");
    cr_assert(ia != SIZE_MAX && ib != SIZE_MAX && ic != SIZE_MAX);
    cr_assert(ib < ia && ia < ic, "order B, A, extra; got %zu %zu %zu", ib, ia, ic);

    /* Folders: defaults first, then B, A, then the extras. */
    size_t nd = kb_registry_dir_count(r);
    cr_assert_geq(nd, 4);
    cr_assert_str_eq(kb_registry_dir(r, nd - 4), b);
    cr_assert_str_eq(kb_registry_dir(r, nd - 3), a);
    cr_assert_str_eq(kb_registry_dir(r, nd - 2), c);
    cr_assert_str_eq(kb_registry_dir(r, nd - 1), "/nonexistent/extra");
    char defaults[8192];
    cr_assert_eq(kb_registry_default_dirs(defaults, sizeof defaults), 1,
                 "the tests run against the build-tree libkeybench");
    const char *root = getenv("KEYBENCH_BUILD_ROOT");
    char want[PATH_MAX];
    snprintf(want, sizeof want, "%s/transforms", root);
    cr_assert_str_eq(kb_registry_dir(r, 0), want);
    kb_registry_free(r);

    /* The same folder listed twice loads once. */
    snprintf(env, sizeof env, "%s:%s", a, a);
    setenv("KEYBENCH_PLUGIN_PATH", env, 1);
    const char *again[] = { a };
    cr_assert_eq(kb_registry_open(&r, again, 1, &err), 0, "%s", err.msg);
    cr_assert_neq(index_of(r, "test_good"), SIZE_MAX);
    kb_registry_free(r);
}

Test(registry, open_fails_on_a_bad_file_in_the_path)
{
    char *a = make_tmpdir();
    copy_plugin(a, "good", "good.so");
    char *bad = copy_plugin(a, "bad_kind", "zz.so");
    setenv("KEYBENCH_PLUGIN_PATH", a, 1);
    struct kb_registry *r = (void *)1;
    struct kb_error err = { { 0 } };
    cr_assert_eq(kb_registry_open(&r, NULL, 0, &err), -1);
    cr_assert_null(r);
    assert_has(err.msg, bad);
    assert_has(err.msg, "unknown kind 9");
}

Test(registry, duplicate_across_path_folders)
{
    char *a = make_tmpdir(), *b = make_tmpdir();
    char *pa = copy_plugin(a, "dup_a", "x.so");
    char *pb = copy_plugin(b, "dup_b", "x.so");
    char env[2 * PATH_MAX + 2];
    snprintf(env, sizeof env, "%s:%s", a, b);
    setenv("KEYBENCH_PLUGIN_PATH", env, 1);
    struct kb_registry *r;
    struct kb_error err = { { 0 } };
    cr_assert_eq(kb_registry_open(&r, NULL, 0, &err), -1);
    assert_has(err.msg, pa);
    assert_has(err.msg, pb);
}

Test(registry, kind_names)
{
    cr_assert_str_eq(kb_plugin_kind_name(KB_KIND_TRANSFORM), "transform");
    cr_assert_str_eq(kb_plugin_kind_name(KB_KIND_BACKBONE), "backbone");
    cr_assert_str_eq(kb_plugin_kind_name(KB_KIND_ATTACK), "attack");
    cr_assert_null(kb_plugin_kind_name(0));
    cr_assert_null(kb_plugin_kind_name(4));
}

/* The SDK template's transform really works: exact inverse, involution, keys. */
Test(template, xor_roundtrip)
{
    struct kb_registry *r = kb_registry_new();
    struct kb_error err = { { 0 } };
    cr_assert_eq(kb_registry_load_file(r, built("template_xor"), &err), 0, "%s", err.msg);
    const struct kb_plugin *p = kb_registry_find(r, KB_KIND_TRANSFORM, "template_xor");
    cr_assert(p);
    const struct kb_transform_ops *ops = p->ops;
    struct kb_params *params;
    cr_assert_eq(kb_params_new(&params, p->params, &err), 0, "%s", err.msg);
    cr_assert_eq(kb_params_set(params, "block_size", "2", &err), 0, "%s", err.msg);
    struct kb_image_shape shape = { 4, 6, 3 };
    void *st;
    cr_assert_eq(ops->create(&st, params, &shape, &err), 0, "%s", err.msg);
    cr_assert_eq(ops->key_size(st), 12);
    cr_assert_float_eq(ops->keyspace_bits(st), 96.0, 1e-9);
    uint8_t secret[32] = { 1, 2, 3 }, secret2[32] = { 9 };
    uint8_t k1[12], k2[12], k3[12];
    ops->key_make(st, k1, secret);
    ops->key_make(st, k2, secret);
    ops->key_make(st, k3, secret2);
    cr_assert_eq(memcmp(k1, k2, 12), 0, "key_make is deterministic");
    cr_assert_float_eq(ops->key_agreement(st, k1, k2), 1.0, 1e-12);
    cr_assert_lt(ops->key_agreement(st, k1, k3), 1.0);
    struct kb_rng rng;
    kb_rng_init_seed(&rng, 1, "test");
    ops->key_mutate(st, k2, &rng);
    cr_assert_float_eq(ops->key_agreement(st, k1, k2), 11.0 / 12.0, 1e-12);

    enum { N = 2, PX = 2 * 4 * 6 * 3 };
    uint8_t img[PX], back[PX];
    float enc[PX];
    for (size_t i = 0; i < PX; i++)
        img[i] = (uint8_t)(i * 37 + 11);
    ops->encrypt(st, k1, enc, img, N);
    size_t changed = 0;
    for (size_t i = 0; i < PX; i++) {
        cr_assert(enc[i] >= 0.0f && enc[i] <= 1.0f);
        changed += enc[i] != (float)img[i] / 255.0f;
    }
    cr_assert_gt(changed, PX / 2);
    ops->decrypt(st, k1, back, enc, N);
    cr_assert_eq(memcmp(img, back, PX), 0, "decrypt(encrypt(x)) == x");

    struct kb_image_shape odd = { 5, 6, 3 };
    void *st2;
    cr_assert_eq(ops->create(&st2, params, &odd, &err), -1);
    assert_has(err.msg, "block_size 2");
    ops->destroy(st);
    kb_params_free(params);
    kb_registry_free(r);
}

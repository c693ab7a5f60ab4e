#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <keybench/secret.h>

static char dir[64];
static char path[128];

static void setup(void)
{
    strcpy(dir, "/tmp/kbsecretXXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/lab.key", dir);
}

static void teardown(void)
{
    unlink(path);
    rmdir(dir);
}

TestSuite(secret, .init = setup, .fini = teardown);

Test(secret, keygen_writes_0600_and_refuses_overwrite)
{
    struct kb_error err = {0};
    cr_assert_eq(kb_secret_generate_file(path, &err), 0, "%s", err.msg);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600);
    cr_assert_eq(st.st_size, KB_SECRET_BYTES);
    uint8_t a[32], b[32];
    bool warn = true;
    cr_assert_eq(kb_secret_load(a, path, &warn, &err), 0, "%s", err.msg);
    cr_assert(!warn);
    cr_assert_eq(kb_secret_generate_file(path, &err), -1);
    cr_assert(strstr(err.msg, "refusing to overwrite"), "%s", err.msg);
    cr_assert_eq(kb_secret_load(b, path, NULL, &err), 0);
    cr_assert_arr_eq(a, b, 32, "a refused keygen must leave the old key intact");
}

Test(secret, wrong_size_is_error)
{
    FILE *f = fopen(path, "wb");
    fwrite("short", 1, 5, f);
    fclose(f);
    chmod(path, 0600);
    uint8_t k[32];
    struct kb_error err = {0};
    cr_assert_eq(kb_secret_load(k, path, NULL, &err), -1);
    cr_assert(strstr(err.msg, path) && strstr(err.msg, "5 bytes") && strstr(err.msg, "32"),
              "%s", err.msg);
}

Test(secret, world_readable_warns)
{
    struct kb_error err = {0};
    cr_assert_eq(kb_secret_generate_file(path, &err), 0);
    chmod(path, 0644);
    uint8_t k[32];
    bool warn = false;
    cr_assert_eq(kb_secret_load(k, path, &warn, &err), 0);
    cr_assert(warn);
    cr_assert(strstr(err.msg, "chmod 600"), "%s", err.msg);
}

Test(secret, derive_is_deterministic_and_context_bound)
{
    uint8_t m[32], a[32], b[32], c[32];
    for (int i = 0; i < 32; i++)
        m[i] = (uint8_t)i;
    kb_secret_derive(a, m, "{\"seed\":0,\"transform\":\"ffx\"}");
    kb_secret_derive(b, m, "{\"seed\":0,\"transform\":\"ffx\"}");
    kb_secret_derive(c, m, "{\"seed\":1,\"transform\":\"ffx\"}");
    cr_assert_arr_eq(a, b, 32);
    cr_assert(memcmp(a, c, 32) != 0);
    cr_assert(memcmp(a, m, 32) != 0);
}

Test(secret, fingerprint_is_short_hex_and_not_the_key)
{
    uint8_t k[32];
    memset(k, 0xab, sizeof k);
    char fp[KB_FINGERPRINT_CHARS + 1], fp2[KB_FINGERPRINT_CHARS + 1];
    kb_fingerprint(fp, k, sizeof k);
    cr_assert_eq(strlen(fp), KB_FINGERPRINT_CHARS);
    cr_assert_null(strstr(fp, "abab"));
    k[31] ^= 1;
    kb_fingerprint(fp2, k, sizeof k);
    cr_assert_str_neq(fp, fp2);
}

Test(secret, alloc_free)
{
    uint8_t *s = kb_secret_alloc();
    cr_assert_not_null(s);
    for (int i = 0; i < KB_SECRET_BYTES; i++)
        cr_assert_eq(s[i], 0);
    kb_secret_random(s);
    kb_secret_free(s);
    kb_secret_free(NULL);
}

Test(secret, key_fingerprint_is_keyed_by_the_master)
{
    uint8_t m1[32], m2[32], key[16];
    memset(m1, 1, sizeof m1);
    memset(m2, 2, sizeof m2);
    memset(key, 0x5a, sizeof key);
    char a[KB_FINGERPRINT_CHARS + 1], b[KB_FINGERPRINT_CHARS + 1], c[KB_FINGERPRINT_CHARS + 1],
        plain[KB_FINGERPRINT_CHARS + 1];
    kb_key_fingerprint(a, m1, key, sizeof key);
    kb_key_fingerprint(b, m1, key, sizeof key);
    kb_key_fingerprint(c, m2, key, sizeof key);
    kb_fingerprint(plain, key, sizeof key);
    cr_assert_str_eq(a, b, "stable for one master");
    cr_assert_str_neq(a, c, "another master gives another fingerprint");
    cr_assert_str_neq(a, plain, "not the unkeyed hash anyone could recompute");
    cr_assert_eq(strlen(a), KB_FINGERPRINT_CHARS);
}

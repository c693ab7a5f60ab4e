/* FFX: the pyffx 0.3 known answers, the authors' "password" table, and the
 * ffx plugin's key layout and encryption rule. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "ffx_core.h"
#include "tx_helpers.h"

static const uint8_t *PW(const char *s) { return (const uint8_t *)s; }

Test(ffx, pyffx_vector_4_digits)
{
    uint32_t y = 0, z = 0;
    cr_assert_eq(kbt_ffx_encrypt(&y, PW("secret-key"), 10, 1234, 4, 10), 0);
    cr_assert_eq(y, 6103u); /* pyffx.Integer(b'secret-key', length=4).encrypt(1234) */
    cr_assert_eq(kbt_ffx_decrypt(&z, PW("secret-key"), 10, y, 4, 10), 0);
    cr_assert_eq(z, 1234u);
}

Test(ffx, password_table)
{
    static const uint16_t prefix[16] = { 355, 522, 858, 133, 916, 326, 747, 930,
                                         444, 760, 203, 17, 565, 473, 31, 756 };
    uint16_t t[256];
    cr_assert_eq(kbt_ffx_table(t, PW("password"), 8), 0);
    cr_assert_arr_eq(t, prefix, sizeof prefix);
    uint16_t mn = 1000, mx = 0;
    bool seen[1000] = { false };
    for (int v = 0; v < 256; v++) {
        cr_assert(t[v] < 1000);
        cr_assert(!seen[t[v]], "value %u appears twice", t[v]);
        seen[t[v]] = true;
        mn = t[v] < mn ? t[v] : mn;
        mx = t[v] > mx ? t[v] : mx;
    }
    cr_assert_eq(mn, 2);
    cr_assert_eq(mx, 996);
}

Test(ffx, core_is_a_permutation_for_several_digit_counts)
{
    for (unsigned n = 1; n <= 5; n++) {
        uint32_t lim = 1, step = n == 5 ? 97 : 1; /* 5 digits: a sample, for time */
        for (unsigned i = 0; i < n; i++)
            lim *= 10;
        bool *seen = calloc(lim, 1);
        for (uint32_t x = 0; x < lim; x += step) {
            uint32_t y, z;
            cr_assert_eq(kbt_ffx_encrypt(&y, PW("k"), 1, x, n, 10), 0);
            cr_assert(y < lim && !seen[y], "n=%u x=%u", n, x);
            seen[y] = true;
            cr_assert_eq(kbt_ffx_decrypt(&z, PW("k"), 1, y, n, 10), 0);
            cr_assert_eq(z, x);
        }
        free(seen);
    }
    uint32_t y;
    cr_assert_eq(kbt_ffx_encrypt(&y, PW("k"), 1, 1000, 3, 10), -1, "x with too many digits");
    cr_assert_eq(kbt_ffx_encrypt(&y, PW("k"), 1, 0, 0, 10), -1);
}

static const uint8_t *bits_of(const uint8_t *key) { return key + KBT_FFX_OFF_BITS; }

Test(ffx, plugin_key_layout_and_rule)
{
    struct tx t;
    struct kb_error err = {0};
    cr_assert_eq(tx_open(&t, "ffx", "block_size=4,password=password", 8, 8, 3, &err), 0, "%s", err.msg);
    cr_assert_eq(t.ops->key_size(t.state), KBT_FFX_OFF_BITS + 48);
    cr_assert_eq(t.ops->key_length(t.state), 48u);
    cr_assert_float_eq(t.ops->keyspace_bits(t.state), 44.81536350244578, 1e-9);
    uint8_t *k = tx_key(&t, 3);
    uint16_t table[256], ref[256];
    memcpy(table, k + KBT_FFX_OFF_TABLE, sizeof table);
    cr_assert_eq(kbt_ffx_table(ref, PW("password"), 8), 0);
    cr_assert_arr_eq(table, ref, sizeof ref);
    uint16_t max;
    memcpy(&max, k + KBT_FFX_OFF_MAX, 2);
    cr_assert_eq(max, 996);
    cr_assert_str_eq((const char *)k + KBT_FFX_OFF_PASSWORD, "password");
    for (int v = 0; v < 256; v++) {
        uint16_t inv;
        memcpy(&inv, k + KBT_FFX_OFF_INVERSE + 2 * (size_t)table[v], 2);
        cr_assert_eq(inv, v);
    }
    size_t ones = 0;
    for (int j = 0; j < 48; j++) {
        cr_assert(bits_of(k)[j] <= 1);
        ones += bits_of(k)[j];
    }
    cr_assert_eq(ones, 23u, "the authors' rule: perm > L/2 gives 23 ones of 48");

    uint8_t *x = tx_images(&t, 1, 11);
    float y[192];
    t.ops->encrypt(t.state, k, y, x, 1);
    for (uint32_t r = 0; r < 8; r++)
        for (uint32_t c = 0; c < 8; c++)
            for (uint32_t ch = 0; ch < 3; ch++) {
                size_t o = (r * 8 + c) * 3 + ch;
                size_t kk = ((r % 4) * 4 + (c % 4)) * 3 + ch; /* in-block index */
                unsigned q = bits_of(k)[kk] ? table[x[o]] : x[o];
                cr_assert_eq(y[o], (float)q / 996.0f, "at %zu", o);
            }
    free(x);
    tx_key_free(k);
    tx_close(&t);
}

Test(ffx, derived_password)
{
    struct tx t;
    struct kb_error err = {0};
    cr_assert_eq(tx_open(&t, "ffx", "block_size=4,bits=uniform", 8, 8, 1, &err), 0, "%s", err.msg);
    cr_assert_float_eq(t.ops->keyspace_bits(t.state), 16.0 + 128.0, 1e-9);
    uint8_t *a = tx_key(&t, 1), *b = tx_key(&t, 2);
    const char *pa = (const char *)a + KBT_FFX_OFF_PASSWORD, *pb = (const char *)b + KBT_FFX_OFF_PASSWORD;
    cr_assert_eq(strlen(pa), 32u);
    cr_assert_eq(strspn(pa, "0123456789abcdef"), 32u);
    cr_assert_str_neq(pa, pb);
    uint16_t ref[256], table[256];
    cr_assert_eq(kbt_ffx_table(ref, (const uint8_t *)pa, 32), 0);
    memcpy(table, a + KBT_FFX_OFF_TABLE, sizeof table);
    cr_assert_arr_eq(table, ref, sizeof ref);
    tx_key_free(a);
    tx_key_free(b);
    tx_close(&t);
}

Test(ffx, fixed_bits_counts_and_keyspace)
{
    struct tx t;
    struct kb_error err = {0};
    cr_assert_eq(tx_open(&t, "ffx", "block_size=4,password=x", 28, 28, 1, &err), 0, "%s", err.msg);
    cr_assert_float_eq(t.ops->keyspace_bits(t.state), 13.481799431665753, 1e-9);
    uint8_t *k = tx_key(&t, 9);
    size_t ones = 0;
    for (int j = 0; j < 16; j++)
        ones += bits_of(k)[j];
    cr_assert_eq(ones, 7u);
    tx_key_free(k);
    tx_close(&t);

    cr_assert_eq(tx_open(&t, "ffx", "block_size=1", 4, 4, 1, &err), 0, "%s", err.msg);
    cr_assert_eq(t.ops->keyspace_bits(t.state), 0.0, "L=1 fixed: no bit is ever 1");
    tx_close(&t);
}

Test(ffx, password_too_long)
{
    char pw[300 + 10];
    memset(pw, 'a', 300);
    pw[300] = 0;
    char set[400];
    snprintf(set, sizeof set, "block_size=4,password=%s", pw);
    struct tx t;
    struct kb_error err = {0};
    cr_assert_eq(tx_open(&t, "ffx", set, 8, 8, 1, &err), -1);
    cr_assert(strstr(err.msg, "password") && strstr(err.msg, "255"), "%s", err.msg);
    tx_close(&t);
}

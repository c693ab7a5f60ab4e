/* The canonical key-derivation context (keybench/keys.h). */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <keybench/keys.h>
#include <keybench/secret.h>

#include "tx_helpers.h"

Test(keys, context_is_canonical_json)
{
    const struct kb_plugin *p = tx_plugin("ffx");
    struct kb_params *params = NULL;
    struct kb_error err = {0};
    cr_assert_eq(kb_params_new(&params, p->params, &err), 0, "%s", err.msg);
    char *c = kb_key_context("ffx", params, 0);
    cr_assert_str_eq(c, "{\"transform\":\"ffx\",\"params\":{\"bits\":\"fixed\",\"block_size\":4},\"seed\":0}");
    free(c);
    cr_assert_eq(kb_params_set(params, "password", "pa\"ss", &err), 0);
    cr_assert_eq(kb_params_set(params, "block_size", "8", &err), 0);
    c = kb_key_context("ffx", params, 12345678901234ull);
    cr_assert_str_eq(c, "{\"transform\":\"ffx\",\"params\":{\"bits\":\"fixed\",\"block_size\":8,"
                        "\"password\":\"pa\\\"ss\"},\"seed\":12345678901234}");
    free(c);
    kb_params_free(params);

    p = tx_plugin("block_scramble");
    cr_assert_eq(kb_params_new(&params, p->params, &err), 0);
    c = kb_key_context("block_scramble", params, 1);
    cr_assert_str_eq(c, "{\"transform\":\"block_scramble\",\"params\":{\"block_size\":4,"
                        "\"channel_shuffle\":false,\"flip\":false,\"negpos\":false,\"rotate\":false},"
                        "\"seed\":1}");
    free(c);
    kb_params_free(params);
}

Test(keys, derive_depends_on_every_part)
{
    const struct kb_plugin *p = tx_plugin("negpos");
    struct kb_params *a = NULL, *b = NULL;
    struct kb_error err = {0};
    cr_assert_eq(kb_params_new(&a, p->params, &err), 0);
    cr_assert_eq(kb_params_new(&b, p->params, &err), 0);
    cr_assert_eq(kb_params_set(b, "block_size", "4", &err), 0); /* the default, spelled out */
    uint8_t master[32], x[32], y[32];
    for (int i = 0; i < 32; i++)
        master[i] = (uint8_t)(100 + i);
    cr_assert_eq(kb_key_derive(x, master, "negpos", a, 0, &err), 0);
    cr_assert_eq(kb_key_derive(y, master, "negpos", b, 0, &err), 0);
    cr_assert_arr_eq(x, y, 32, "a default given explicitly gives the same key");
    char *ctx = kb_key_context("negpos", a, 0);
    kb_secret_derive(y, master, ctx);
    free(ctx);
    cr_assert_arr_eq(x, y, 32, "kb_key_derive = kb_secret_derive(kb_key_context)");
    cr_assert_eq(kb_key_derive(y, master, "negpos", a, 1, &err), 0);
    cr_assert(memcmp(x, y, 32) != 0, "the seed changes the key");
    cr_assert_eq(kb_params_set(b, "bits", "uniform", &err), 0);
    cr_assert_eq(kb_key_derive(y, master, "negpos", b, 0, &err), 0);
    cr_assert(memcmp(x, y, 32) != 0, "a param changes the key");
    cr_assert_eq(kb_key_derive(y, master, "ffx", a, 0, &err), 0);
    cr_assert(memcmp(x, y, 32) != 0, "the transform name changes the key");
    kb_params_free(a);
    kb_params_free(b);
}

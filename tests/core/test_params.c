#include <criterion/criterion.h>
#include <string.h>

#include <keybench/params.h>

static const struct kb_param schema[] = {
    { "block_size", KB_PARAM_INT, "4", 1, 64, NULL, "block side" },
    { "rate", KB_PARAM_FLOAT, "0.5", 0, 1, NULL, "a rate" },
    { "rotate", KB_PARAM_BOOL, "false", 0, 0, NULL, "rotate blocks" },
    { "password", KB_PARAM_STRING, NULL, 0, 0, NULL, "optional password" },
    { "bits", KB_PARAM_CHOICE, "fixed", 0, 0, "fixed|uniform", "bit draw" },
    { NULL, 0, NULL, 0, 0, NULL, NULL }
};

static struct kb_params *p;
static struct kb_error err;

static void setup(void)
{
    memset(&err, 0, sizeof err);
    cr_assert_eq(kb_params_new(&p, schema, &err), 0, "%s", err.msg);
}
static void teardown(void) { kb_params_free(p); }

TestSuite(params, .init = setup, .fini = teardown);

Test(params, defaults)
{
    cr_assert_eq(kb_params_int(p, "block_size"), 4);
    cr_assert_float_eq(kb_params_float(p, "rate"), 0.5, 1e-12);
    cr_assert_eq(kb_params_bool(p, "rotate"), false);
    cr_assert_str_eq(kb_params_str(p, "bits"), "fixed");
    cr_assert_null(kb_params_str(p, "password"));
    cr_assert(!kb_params_has(p, "password"));
    cr_assert(kb_params_has(p, "block_size"));
    cr_assert(!kb_params_given(p, "block_size"));
}

Test(params, set_and_canonical_text)
{
    cr_assert_eq(kb_params_set(p, "block_size", "8.0", &err), 0, "%s", err.msg);
    cr_assert_str_eq(kb_params_text(p, "block_size"), "8");
    cr_assert(kb_params_given(p, "block_size"));
    cr_assert_eq(kb_params_set(p, "rate", "0.1", &err), 0, "%s", err.msg);
    cr_assert_str_eq(kb_params_text(p, "rate"), "0.1");
    cr_assert_eq(kb_params_set(p, "rotate", "yes", &err), 0, "%s", err.msg);
    cr_assert_str_eq(kb_params_text(p, "rotate"), "true");
    cr_assert_eq(kb_params_set(p, "password", "hunter2", &err), 0);
    cr_assert_str_eq(kb_params_str(p, "password"), "hunter2");
}

Test(params, rejects_bad_values)
{
    cr_assert_eq(kb_params_set(p, "block_size", "0", &err), -1);
    cr_assert(strstr(err.msg, "out of range [1, 64]"), "%s", err.msg);
    cr_assert_eq(kb_params_set(p, "block_size", " 4", &err), -1);
    cr_assert_eq(kb_params_set(p, "block_size", "4.5", &err), -1);
    cr_assert(strstr(err.msg, "expected an integer"), "%s", err.msg);
    cr_assert_eq(kb_params_set(p, "rate", "nan", &err), -1);
    cr_assert_eq(kb_params_set(p, "rate", "2", &err), -1);
    cr_assert_eq(kb_params_set(p, "rotate", "maybe", &err), -1);
    cr_assert(strstr(err.msg, "expected true or false"), "%s", err.msg);
    cr_assert_eq(kb_params_set(p, "bits", "random", &err), -1);
    cr_assert(strstr(err.msg, "fixed|uniform"), "%s", err.msg);
    /* failed sets leave the old value */
    cr_assert_eq(kb_params_int(p, "block_size"), 4);
}

Test(params, unknown_name_suggests)
{
    cr_assert_eq(kb_params_set(p, "blok_size", "4", &err), -1);
    cr_assert(strstr(err.msg, "did you mean 'block_size'"), "%s", err.msg);
}

Test(params, clone_is_deep)
{
    cr_assert_eq(kb_params_set(p, "password", "a", &err), 0);
    struct kb_params *c = kb_params_clone(p);
    cr_assert_not_null(c);
    cr_assert_eq(kb_params_set(p, "password", "b", &err), 0);
    cr_assert_str_eq(kb_params_str(c, "password"), "a");
    kb_params_free(c);
}

Test(params_schema, bad_default_is_error)
{
    static const struct kb_param bad[] = {
        { "m", KB_PARAM_INT, "zero", 1, 4, NULL, "" },
        { NULL, 0, NULL, 0, 0, NULL, NULL }
    };
    struct kb_params *q = NULL;
    struct kb_error e = {0};
    cr_assert_eq(kb_params_new(&q, bad, &e), -1);
    cr_assert_null(q);
    cr_assert(strstr(e.msg, "invalid default") && strstr(e.msg, "'m'"), "%s", e.msg);
}

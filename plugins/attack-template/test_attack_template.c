/* attack_template's descriptor, as keybench's loader will see it: dlopen
 * the built module (path in ATTACK_MODULE, set by meson test), call the entry
 * point, check the ABI fields, the kind, the name, the ops and the schema. */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include <keybench/attack.h>
#include <keybench/params.h>
#include <keybench/plugin.h>

Test(attack_template, loads_as_a_keybench_attack)
{
    const char *path = getenv("ATTACK_MODULE");
    cr_assert_not_null(path, "ATTACK_MODULE must name the built module (meson test sets it)");
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    cr_assert_not_null(h, "dlopen: %s", dlerror());
    void *sym = dlsym(h, KB_PLUGIN_ENTRY_SYMBOL);
    cr_assert_not_null(sym, "no %s in %s", KB_PLUGIN_ENTRY_SYMBOL, path);
    kb_plugin_entry_fn entry;
    memcpy(&entry, &sym, sizeof entry);
    const struct kb_plugin *const *list = entry();
    cr_assert_not_null(list);
    cr_assert_not_null(list[0]);
    cr_assert_null(list[1], "one plugin per module here");
    const struct kb_plugin *p = list[0];
    cr_assert_eq(p->abi_version, KB_PLUGIN_ABI_VERSION);
    cr_assert_eq(p->struct_size, sizeof *p);
    cr_assert_eq(p->kind, KB_KIND_ATTACK);
    cr_assert_str_eq(p->name, "attack_template");
    cr_assert_not_null(p->summary);
    const struct kb_attack_ops *ops = p->ops;
    cr_assert_not_null(ops);
    cr_assert_geq(ops->struct_size, sizeof *ops);
    cr_assert_not_null(ops->run);
    /* the parameter schema is valid: its defaults parse */
    struct kb_params *params;
    struct kb_error err = {0};
    cr_assert_eq(kb_params_new(&params, p->params, &err), 0, "%s", err.msg);
    kb_params_free(params);
    dlclose(h);
}

#include <keybench/plugin.h>
static const struct kb_param params[] = {
    { "weird", (enum kb_ptype)42, "1", 0, 0, NULL, "unknown type" },
    { NULL },
};
static const struct kb_plugin p = {
    KB_PLUGIN_HEADER, .kind = KB_KIND_ATTACK, .name = "test_bad_ptype", .version = "1",
    .summary = "bad parameter type", .params = params,
};
KB_PLUGIN_ENTRY(&p)

#include <keybench/plugin.h>
static const struct kb_plugin p = {
    KB_PLUGIN_HEADER, .kind = 9, .name = "test_bad_kind", .version = "1",
    .summary = "unknown kind",
};
KB_PLUGIN_ENTRY(&p)

#include <keybench/plugin.h>
static const struct kb_plugin p = {
    KB_PLUGIN_HEADER, .kind = KB_KIND_ATTACK, .name = "test_no_summary", .version = "1",
};
KB_PLUGIN_ENTRY(&p)

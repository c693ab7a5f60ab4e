#include <keybench/plugin.h>
static const struct kb_plugin p = {
    KB_PLUGIN_HEADER, .kind = KB_KIND_ATTACK, .name = "Bad-Name", .version = "1",
    .summary = "invalid name",
};
KB_PLUGIN_ENTRY(&p)

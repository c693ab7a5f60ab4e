#include <keybench/plugin.h>
static const struct kb_plugin p = {
    KB_PLUGIN_HEADER, .kind = KB_KIND_TRANSFORM, .name = "test_no_ops", .version = "1",
    .summary = "a transform without ops",
};
KB_PLUGIN_ENTRY(&p)

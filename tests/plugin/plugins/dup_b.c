/* Same name as dup_a, different kind: names are global, so still an error. */
#include <keybench/plugin.h>
static const struct kb_plugin p = {
    KB_PLUGIN_HEADER, .kind = KB_KIND_BACKBONE, .name = "test_dup", .version = "2",
    .summary = "second of two plugins named test_dup",
};
KB_PLUGIN_ENTRY(&p)

/* A backbone whose ops table has a NULL build. */
#include <keybench/plugin.h>
static const struct kb_backbone_ops ops = { .struct_size = sizeof ops, .build = NULL };
static const struct kb_plugin p = {
    KB_PLUGIN_HEADER, .kind = KB_KIND_BACKBONE, .name = "test_bad_backbone", .version = "1",
    .summary = "backbone without build", .ops = &ops,
};
KB_PLUGIN_ENTRY(&p)

/* Same name as dup_a (an attack), different kind: names are global, so still an error. */
#include "test_ops.h"
static const struct kb_transform_ops ops = { TEST_OPS_INIT };
static const struct kb_plugin p = {
    KB_PLUGIN_HEADER, .kind = KB_KIND_TRANSFORM, .name = "test_dup", .version = "2",
    .summary = "second of two plugins named test_dup", .ops = &ops,
};
KB_PLUGIN_ENTRY(&p)

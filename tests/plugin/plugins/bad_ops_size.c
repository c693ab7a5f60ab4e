#include "test_ops.h"
static const struct kb_transform_ops ops = { TEST_OPS_INIT, .struct_size = 16 };
static const struct kb_plugin p = {
    KB_PLUGIN_HEADER, .kind = KB_KIND_TRANSFORM, .name = "test_bad_ops_size", .version = "1",
    .summary = "wrong ops size", .ops = &ops,
};
KB_PLUGIN_ENTRY(&p)

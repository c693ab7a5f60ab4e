#include "test_ops.h"
static const struct kb_transform_ops ops = { TEST_OPS_INIT, .decrypt = NULL };
static const struct kb_plugin p = {
    KB_PLUGIN_HEADER, .kind = KB_KIND_TRANSFORM, .name = "test_null_op", .version = "1",
    .summary = "decrypt missing", .ops = &ops,
};
KB_PLUGIN_ENTRY(&p)

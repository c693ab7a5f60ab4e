#include "test_ops.h"
static const struct kb_transform_ops ops = { TEST_OPS_INIT };
static const struct kb_plugin p = {
    .abi_version = 7, .struct_size = sizeof(struct kb_plugin), .kind = KB_KIND_TRANSFORM,
    .name = "test_bad_abi", .version = "1", .summary = "wrong ABI", .ops = &ops,
};
KB_PLUGIN_ENTRY(&p)

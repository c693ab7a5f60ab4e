#include "test_ops.h"
static const struct kb_transform_ops ops = { TEST_OPS_INIT };
static const struct kb_plugin p = {
    .abi_version = KB_PLUGIN_ABI_VERSION, .struct_size = sizeof(struct kb_plugin) + 8,
    .kind = KB_KIND_TRANSFORM, .name = "test_bad_size", .version = "1", .summary = "wrong size",
    .ops = &ops,
};
KB_PLUGIN_ENTRY(&p)

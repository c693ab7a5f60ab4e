/* Descriptor #0 is fine, #1 has a default that its own schema rejects: the
 * whole file must be refused and nothing of it registered. */
#include "test_ops.h"
static const struct kb_transform_ops ops = { TEST_OPS_INIT };
static const struct kb_param ok_params[] = {
    { "block_size", KB_PARAM_INT, "4", 1, 64, NULL, "block side" },
    { NULL },
};
static const struct kb_param bad_params[] = {
    { "block_size", KB_PARAM_INT, "100", 1, 64, NULL, "default out of its own range" },
    { NULL },
};
static const struct kb_plugin ok = {
    KB_PLUGIN_HEADER, .kind = KB_KIND_TRANSFORM, .name = "test_rollback_ok", .version = "1",
    .summary = "fine on its own", .params = ok_params, .ops = &ops,
};
static const struct kb_plugin bad = {
    KB_PLUGIN_HEADER, .kind = KB_KIND_TRANSFORM, .name = "test_bad_schema", .version = "1",
    .summary = "bad default", .params = bad_params, .ops = &ops,
};
KB_PLUGIN_ENTRY(&ok, &bad)

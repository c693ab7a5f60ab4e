#include "test_ops.h"
static const struct kb_attack_ops ops = { TEST_ATTACK_OPS_INIT };
static const struct kb_plugin p = {
    KB_PLUGIN_HEADER, .kind = KB_KIND_ATTACK, .name = "test_dup", .version = "1",
    .summary = "first of two plugins named test_dup", .ops = &ops,
};
KB_PLUGIN_ENTRY(&p)

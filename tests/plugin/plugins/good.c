/* A well-formed plugin file holding two plugins (a transform and an attack). */
#include "test_ops.h"

static const struct kb_param params[] = {
    { "block_size", KB_PARAM_INT, "4", 1, 64, NULL, "block side M in pixels" },
    { "rate", KB_PARAM_FLOAT, "0.5", 0, 1, NULL, "a rate" },
    { "flip", KB_PARAM_BOOL, "false", 0, 0, NULL, "flip or not" },
    { "password", KB_PARAM_STRING, NULL, 0, 0, NULL, "optional text" },
    { "mode", KB_PARAM_CHOICE, "fixed", 0, 0, "fixed|uniform", "how keys are drawn" },
    { NULL },
};
static const struct kb_transform_ops ops = { TEST_OPS_INIT };
static const struct kb_plugin good = {
    KB_PLUGIN_HEADER, .kind = KB_KIND_TRANSFORM, .name = "test_good", .version = "1.2.3",
    .summary = "a good test transform", .params = params, .caps = KB_CAP_KEYED, .ops = &ops,
};
static const struct kb_attack_ops attack_ops = { TEST_ATTACK_OPS_INIT };
static const struct kb_plugin good_attack = {
    KB_PLUGIN_HEADER, .kind = KB_KIND_ATTACK, .name = "test_good_attack", .version = "0.1",
    .summary = "a good test attack without parameters", .ops = &attack_ops,
};
KB_PLUGIN_ENTRY(&good, &good_attack)

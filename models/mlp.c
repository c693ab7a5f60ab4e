/* mlp — a multilayer perceptron on the flattened image:
 * flatten -> depth × (fc<i> (hidden) + ReLU) -> fc<depth+1> (classes).
 * Tensor names: fc1.weight, fc1.bias, …, fc<depth+1>.weight/bias (the head). */
#include <stdio.h>

#include <keybench/plugin.h>

static const struct kb_param params[] = {
    { "hidden", KB_PARAM_INT, "256", 1, 65536, NULL, "width of each hidden layer" },
    { "depth", KB_PARAM_INT, "2", 0, 64, NULL, "number of hidden layers (0: linear classifier)" },
    { NULL, 0, NULL, 0, 0, NULL, NULL }
};

static int build(struct kb_model *m, const struct kb_params *p, int64_t classes,
                 struct kb_error *err)
{
    int64_t hidden = kb_params_int(p, "hidden"), depth = kb_params_int(p, "depth");
    int x = kb_model_flatten(m, 0);
    char name[32];
    for (int64_t i = 1; i <= depth; i++) {
        snprintf(name, sizeof name, "fc%lld", (long long)i);
        x = kb_model_linear(m, x, name, hidden, true);
        x = kb_model_relu(m, x);
    }
    snprintf(name, sizeof name, "fc%lld", (long long)depth + 1);
    x = kb_model_linear(m, x, name, classes, true);
    (void)err;
    return x;
}

static const struct kb_backbone_ops ops = { .struct_size = sizeof ops, .build = build };

static const struct kb_plugin mlp = {
    KB_PLUGIN_HEADER, .kind = KB_KIND_BACKBONE, .name = "mlp", .version = "1.0.0",
    .summary = "multilayer perceptron: depth x (linear hidden + ReLU), linear classes",
    .params = params, .ops = &ops,
};

KB_PLUGIN_ENTRY(&mlp)

/* cnn — the reference's SmallCNN (torch_reference.py; the classic TF "deep
 * MNIST" net): conv1 5×5 (32, pad 2) + ReLU + maxpool 2, conv2 5×5 (64, pad 2)
 * + ReLU + maxpool 2, fc1 (hidden, default 1024) + ReLU, fc2 (classes).
 * Tensor names as its state_dict: conv1, conv2, fc1, fc2 (.weight, .bias).
 * Any input channels; fc1 reads 64·⌊⌊H/2⌋/2⌋·⌊⌊W/2⌋/2⌋ features. */
#include <keybench/plugin.h>

static const struct kb_param params[] = {
    { "hidden", KB_PARAM_INT, "1024", 1, 65536, NULL, "width of fc1" },
    { NULL, 0, NULL, 0, 0, NULL, NULL }
};

static int build(struct kb_model *m, const struct kb_params *p, int64_t classes,
                 struct kb_error *err)
{
    int64_t h, w;
    kb_model_input_shape(m, NULL, &h, &w);
    if (h < 4 || w < 4) {
        kb_error_set(err, "cnn: input %lldx%lld: expected at least 4x4 (two 2x2 max pools)",
                     (long long)h, (long long)w);
        return -1;
    }
    int x = kb_model_conv2d(m, 0, "conv1", 32, 5, 1, 2, 1, true);
    x = kb_model_relu(m, x);
    x = kb_model_maxpool(m, x, 2, 2, 0);
    x = kb_model_conv2d(m, x, "conv2", 64, 5, 1, 2, 1, true);
    x = kb_model_relu(m, x);
    x = kb_model_maxpool(m, x, 2, 2, 0);
    x = kb_model_flatten(m, x);
    x = kb_model_linear(m, x, "fc1", kb_params_int(p, "hidden"), true);
    x = kb_model_relu(m, x);
    return kb_model_linear(m, x, "fc2", classes, true);
}

static const struct kb_backbone_ops ops = { .struct_size = sizeof ops, .build = build };

static const struct kb_plugin cnn = {
    KB_PLUGIN_HEADER, .kind = KB_KIND_BACKBONE, .name = "cnn", .version = "1.0.0",
    .summary = "small CNN: conv5x5x32-pool-conv5x5x64-pool-fc1024-fc (the reference's SmallCNN)",
    .params = params, .ops = &ops,
};

KB_PLUGIN_ENTRY(&cnn)

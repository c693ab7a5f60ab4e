/* convmixer — the reference's ConvMixer (torch_reference.py; Trockman & Kolter
 * 2022): stem conv (kernel = stride = patch, bias) + GELU + stem_bn, then
 * depth × blocks.<i>: x + bn1(GELU(dw(x))) with dw a depthwise kernel×kernel
 * conv (same padding, bias), then bn2(GELU(pw(x))) with pw a 1×1 conv (bias);
 * global average pool, fc. Tensor names: stem, stem_bn, blocks.<i>.dw,
 * blocks.<i>.bn1, blocks.<i>.pw, blocks.<i>.bn2, fc. */
#include <stdio.h>

#include <keybench/plugin.h>

static const struct kb_param params[] = {
    { "dim", KB_PARAM_INT, "128", 1, 65536, NULL, "channels of every layer" },
    { "depth", KB_PARAM_INT, "6", 0, 1024, NULL, "number of mixer blocks" },
    { "patch", KB_PARAM_INT, "4", 1, 1024, NULL, "patch size (stem kernel = stride)" },
    { "kernel", KB_PARAM_INT, "5", 1, 63, NULL, "depthwise kernel size (odd)" },
    { NULL, 0, NULL, 0, 0, NULL, NULL }
};

static int build(struct kb_model *m, const struct kb_params *p, int64_t classes,
                 struct kb_error *err)
{
    int64_t dim = kb_params_int(p, "dim"), depth = kb_params_int(p, "depth");
    int64_t patch = kb_params_int(p, "patch"), kernel = kb_params_int(p, "kernel");
    int64_t h, w;
    kb_model_input_shape(m, NULL, &h, &w);
    if (kernel % 2 == 0) {
        kb_error_set(err, "convmixer: kernel %lld: expected an odd size ('same' padding)",
                     (long long)kernel);
        return -1;
    }
    if (patch > h || patch > w) {
        kb_error_set(err, "convmixer: patch %lld is larger than the %lldx%lld input",
                     (long long)patch, (long long)h, (long long)w);
        return -1;
    }
    int x = kb_model_conv2d(m, 0, "stem", dim, patch, patch, 0, 1, true);
    x = kb_model_gelu(m, x);
    x = kb_model_batchnorm(m, x, "stem_bn");
    char name[64];
    for (int64_t i = 0; i < depth; i++) {
        snprintf(name, sizeof name, "blocks.%lld.dw", (long long)i);
        int y = kb_model_conv2d(m, x, name, dim, kernel, 1, kernel / 2, dim, true);
        y = kb_model_gelu(m, y);
        snprintf(name, sizeof name, "blocks.%lld.bn1", (long long)i);
        y = kb_model_batchnorm(m, y, name);
        x = kb_model_add(m, x, y);
        snprintf(name, sizeof name, "blocks.%lld.pw", (long long)i);
        x = kb_model_conv2d(m, x, name, dim, 1, 1, 0, 1, true);
        x = kb_model_gelu(m, x);
        snprintf(name, sizeof name, "blocks.%lld.bn2", (long long)i);
        x = kb_model_batchnorm(m, x, name);
    }
    x = kb_model_gap(m, x);
    return kb_model_linear(m, x, "fc", classes, true);
}

static const struct kb_backbone_ops ops = { .struct_size = sizeof ops, .build = build };

static const struct kb_plugin convmixer = {
    KB_PLUGIN_HEADER, .kind = KB_KIND_BACKBONE, .name = "convmixer", .version = "1.0.0",
    .summary = "ConvMixer (patch-embedding conv, depthwise/pointwise mixer blocks; the reference's)",
    .params = params, .ops = &ops,
};

KB_PLUGIN_ENTRY(&convmixer)

/* resnet — residual networks.
 *
 * resnet20/32/56: the reference's ResNetCifar (torch_reference.py; He et al.
 * 2016 §4.2): conv1 3×3 (16) + bn1 + ReLU, three stages layer1..layer3 of n
 * BasicBlocks (16, 32, 64 channels; stride 2 entering stages 2 and 3) with
 * option-A shortcuts (stride-2 subsample + zero-padded channels, no
 * parameters), global average pool, fc. n = 3, 5, 9. Any input channels.
 *
 * resnet18/34: torchvision's layout and names: conv1, bn1, [maxpool],
 * layer1..layer4 of BasicBlocks ([2,2,2,2] / [3,4,6,3]; 64..512 channels),
 * each block conv1/bn1/conv2/bn2 and, where the shape changes,
 * downsample.0 (1×1 conv, stride) and downsample.1 (batch norm); avgpool, fc.
 * `stem`: imagenet = 7×7/2 conv + 3×3/2 max pool; small = 3×3/1 conv, no pool.
 * Note: weights get PyTorch's per-layer default init (kb_model_init), not
 * torchvision's kaiming_normal(fan_out) re-init. */
#include <stdio.h>
#include <string.h>

#include <keybench/plugin.h>

/* ------------------------------------------------------------ CIFAR ResNet */

static int cifar_block(struct kb_model *m, int x, const char *prefix, int64_t cin, int64_t cout,
                       int64_t stride)
{
    char name[64];
    snprintf(name, sizeof name, "%s.conv1", prefix);
    int y = kb_model_conv2d(m, x, name, cout, 3, stride, 1, 1, false);
    snprintf(name, sizeof name, "%s.bn1", prefix);
    y = kb_model_batchnorm(m, y, name);
    y = kb_model_relu(m, y);
    snprintf(name, sizeof name, "%s.conv2", prefix);
    y = kb_model_conv2d(m, y, name, cout, 3, 1, 1, 1, false);
    snprintf(name, sizeof name, "%s.bn2", prefix);
    y = kb_model_batchnorm(m, y, name);
    int sc = x;
    if (stride != 1 || cout != cin)
        sc = kb_model_shortcut_a(m, x, cout, stride);
    y = kb_model_add(m, y, sc);
    return kb_model_relu(m, y);
}

static int build_cifar(struct kb_model *m, int64_t n, int64_t classes)
{
    int x = kb_model_conv2d(m, 0, "conv1", 16, 3, 1, 1, 1, false);
    x = kb_model_batchnorm(m, x, "bn1");
    x = kb_model_relu(m, x);
    static const int64_t widths[3] = { 16, 32, 64 }, strides[3] = { 1, 2, 2 };
    int64_t cin = 16;
    char prefix[48];
    for (int s = 0; s < 3; s++)
        for (int64_t i = 0; i < n; i++) {
            snprintf(prefix, sizeof prefix, "layer%d.%lld", s + 1, (long long)i);
            x = cifar_block(m, x, prefix, cin, widths[s], i == 0 ? strides[s] : 1);
            cin = widths[s];
        }
    x = kb_model_gap(m, x);
    return kb_model_linear(m, x, "fc", classes, true);
}

static int build_resnet20(struct kb_model *m, const struct kb_params *p, int64_t classes,
                          struct kb_error *err)
{
    (void)p; (void)err;
    return build_cifar(m, 3, classes);
}

static int build_resnet32(struct kb_model *m, const struct kb_params *p, int64_t classes,
                          struct kb_error *err)
{
    (void)p; (void)err;
    return build_cifar(m, 5, classes);
}

static int build_resnet56(struct kb_model *m, const struct kb_params *p, int64_t classes,
                          struct kb_error *err)
{
    (void)p; (void)err;
    return build_cifar(m, 9, classes);
}

/* ------------------------------------------------------------ torchvision ResNet */

static int tv_block(struct kb_model *m, int x, const char *prefix, int64_t cin, int64_t cout,
                    int64_t stride)
{
    char name[64];
    snprintf(name, sizeof name, "%s.conv1", prefix);
    int y = kb_model_conv2d(m, x, name, cout, 3, stride, 1, 1, false);
    snprintf(name, sizeof name, "%s.bn1", prefix);
    y = kb_model_batchnorm(m, y, name);
    y = kb_model_relu(m, y);
    snprintf(name, sizeof name, "%s.conv2", prefix);
    y = kb_model_conv2d(m, y, name, cout, 3, 1, 1, 1, false);
    snprintf(name, sizeof name, "%s.bn2", prefix);
    y = kb_model_batchnorm(m, y, name);
    int sc = x;
    if (stride != 1 || cin != cout) {
        snprintf(name, sizeof name, "%s.downsample.0", prefix);
        sc = kb_model_conv2d(m, x, name, cout, 1, stride, 0, 1, false);
        snprintf(name, sizeof name, "%s.downsample.1", prefix);
        sc = kb_model_batchnorm(m, sc, name);
    }
    y = kb_model_add(m, y, sc);
    return kb_model_relu(m, y);
}

static int build_tv(struct kb_model *m, const struct kb_params *p, const int64_t blocks[4],
                    int64_t classes, struct kb_error *err)
{
    const char *stem = kb_params_str(p, "stem");
    bool small = stem && !strcmp(stem, "small");
    int64_t h, w;
    kb_model_input_shape(m, NULL, &h, &w);
    if (!small && (h < 2 || w < 2)) {
        kb_error_set(err, "resnet: input %lldx%lld too small for the imagenet stem; "
                     "try --set stem=small", (long long)h, (long long)w);
        return -1;
    }
    int x;
    if (small) {
        x = kb_model_conv2d(m, 0, "conv1", 64, 3, 1, 1, 1, false);
        x = kb_model_batchnorm(m, x, "bn1");
        x = kb_model_relu(m, x);
    } else {
        x = kb_model_conv2d(m, 0, "conv1", 64, 7, 2, 3, 1, false);
        x = kb_model_batchnorm(m, x, "bn1");
        x = kb_model_relu(m, x);
        x = kb_model_maxpool(m, x, 3, 2, 1);
    }
    int64_t cin = 64;
    char prefix[48];
    for (int s = 0; s < 4; s++) {
        int64_t cout = (int64_t)64 << s;
        for (int64_t i = 0; i < blocks[s]; i++) {
            snprintf(prefix, sizeof prefix, "layer%d.%lld", s + 1, (long long)i);
            x = tv_block(m, x, prefix, cin, cout, (i == 0 && s > 0) ? 2 : 1);
            cin = cout;
        }
    }
    x = kb_model_gap(m, x);
    return kb_model_linear(m, x, "fc", classes, true);
}

static int build_resnet18(struct kb_model *m, const struct kb_params *p, int64_t classes,
                          struct kb_error *err)
{
    static const int64_t blocks[4] = { 2, 2, 2, 2 };
    return build_tv(m, p, blocks, classes, err);
}

static int build_resnet34(struct kb_model *m, const struct kb_params *p, int64_t classes,
                          struct kb_error *err)
{
    static const int64_t blocks[4] = { 3, 4, 6, 3 };
    return build_tv(m, p, blocks, classes, err);
}

/* ------------------------------------------------------------ descriptors */

static const struct kb_param tv_params[] = {
    { "stem", KB_PARAM_CHOICE, "imagenet", 0, 0, "imagenet|small",
      "imagenet: 7x7/2 conv + 3x3/2 max pool; small: 3x3/1 conv, no pool" },
    { NULL, 0, NULL, 0, 0, NULL, NULL }
};

#define OPS(fn) { .struct_size = sizeof(struct kb_backbone_ops), .build = fn }
static const struct kb_backbone_ops ops20 = OPS(build_resnet20);
static const struct kb_backbone_ops ops32 = OPS(build_resnet32);
static const struct kb_backbone_ops ops56 = OPS(build_resnet56);
static const struct kb_backbone_ops ops18 = OPS(build_resnet18);
static const struct kb_backbone_ops ops34 = OPS(build_resnet34);

static const struct kb_plugin resnet20 = {
    KB_PLUGIN_HEADER, .kind = KB_KIND_BACKBONE, .name = "resnet20", .version = "1.0.0",
    .summary = "CIFAR ResNet-20 (option-A shortcuts, 0.27M params; the reference's ResNetCifar)",
    .params = NULL, .ops = &ops20,
};
static const struct kb_plugin resnet32 = {
    KB_PLUGIN_HEADER, .kind = KB_KIND_BACKBONE, .name = "resnet32", .version = "1.0.0",
    .summary = "CIFAR ResNet-32 (option-A shortcuts)", .params = NULL, .ops = &ops32,
};
static const struct kb_plugin resnet56 = {
    KB_PLUGIN_HEADER, .kind = KB_KIND_BACKBONE, .name = "resnet56", .version = "1.0.0",
    .summary = "CIFAR ResNet-56 (option-A shortcuts)", .params = NULL, .ops = &ops56,
};
static const struct kb_plugin resnet18 = {
    KB_PLUGIN_HEADER, .kind = KB_KIND_BACKBONE, .name = "resnet18", .version = "1.0.0",
    .summary = "ResNet-18, torchvision layout and names (stem: imagenet|small)",
    .params = tv_params, .ops = &ops18,
};
static const struct kb_plugin resnet34 = {
    KB_PLUGIN_HEADER, .kind = KB_KIND_BACKBONE, .name = "resnet34", .version = "1.0.0",
    .summary = "ResNet-34, torchvision layout and names (stem: imagenet|small)",
    .params = tv_params, .ops = &ops34,
};

KB_PLUGIN_ENTRY(&resnet20, &resnet32, &resnet56, &resnet18, &resnet34)

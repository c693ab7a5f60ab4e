/* A test-only transform (`bad_layout`): the SDK template (XOR,
 * plugins/template/template_xor.c, compiled in unchanged) given a key_layout
 * that breaks the op's contract, a source one past the image, so test_pgd can
 * check that the harness refuses it with one error instead of reading out of
 * bounds or differentiating through a forward that is not encrypt. */
#include <keybench/plugin.h>

/* The template's own entry point is not wanted: its plugin is kept as
 * `template_plugin_` and re-exported below under another name. */
#pragma push_macro("KB_PLUGIN_ENTRY")
#undef KB_PLUGIN_ENTRY
#define KB_PLUGIN_ENTRY(p) static const struct kb_plugin *const template_plugin_ = (p);
#include "../../plugins/template/template_xor.c"
#pragma pop_macro("KB_PLUGIN_ENTRY")

/* Every value copied from itself, but the last one from one past the image. */
static void bad_key_layout(const void *state, const void *key, uint32_t *src, int8_t *sign,
                           float *denom)
{
    (void)key;
    const struct xor_state *s = state;
    size_t img = (size_t)s->shape.h * s->shape.w * s->shape.c;
    for (size_t k = 0; k < img; k++)
        src[k] = (uint32_t)k, sign[k] = 1, denom[k] = 255.0f;
    src[img - 1] = (uint32_t)img;
}

static struct kb_transform_ops bad_ops;
static struct kb_plugin bad_plugin;

KB_API const struct kb_plugin *const *keybench_plugin_entry(void);
KB_API const struct kb_plugin *const *keybench_plugin_entry(void)
{
    static const struct kb_plugin *list[2];
    if (!list[0]) {
        bad_ops = *(const struct kb_transform_ops *)template_plugin_->ops;
        bad_ops.key_layout = bad_key_layout;
        bad_plugin = *template_plugin_;
        bad_plugin.name = "bad_layout";
        bad_plugin.summary = "test only: the XOR template with a key_layout outside the image";
        bad_plugin.ops = &bad_ops;
        list[0] = &bad_plugin;
    }
    return list;
}

/* build.c — a backbone plugin's network as a finished kb_model (keybench/model.h). */
#include <stdlib.h>

#include <keybench/model.h>
#include <keybench/plugin.h>

int kb_model_build(struct kb_model **out, const struct kb_plugin *backbone,
                   const struct kb_params *params, int64_t in_c, int64_t in_h, int64_t in_w,
                   int64_t classes, struct kb_error *err)
{
    *out = NULL;
    if (!backbone || backbone->kind != KB_KIND_BACKBONE || !backbone->ops)
        return kb_error_set(err, "model: '%s' is not a backbone plugin",
                            backbone && backbone->name ? backbone->name : "(null)");
    const struct kb_backbone_ops *ops = backbone->ops;
    if (ops->struct_size < sizeof(struct kb_backbone_ops) || !ops->build)
        return kb_error_set(err, "backbone %s: ops table of %u bytes without build (expected %zu)",
                            backbone->name, ops->struct_size, sizeof(struct kb_backbone_ops));
    if (classes < 1 || classes > (1 << 24))
        return kb_error_set(err, "backbone %s: %lld classes: expected 1..%d", backbone->name,
                            (long long)classes, 1 << 24);
    struct kb_params *own = NULL;
    if (!params) {
        if (kb_params_new(&own, backbone->params, err) < 0)
            return kb_error_prefix(err, "backbone %s", backbone->name);
        params = own;
    }
    struct kb_model *m;
    if (kb_model_new(&m, in_c, in_h, in_w, err) < 0) {
        kb_params_free(own);
        return kb_error_prefix(err, "backbone %s", backbone->name);
    }
    struct kb_error e = {0};
    int y = ops->build(m, params, classes, &e);
    kb_params_free(own);
    struct kb_error fe = {0};
    /* finish reports the first builder error (with the layer) if build failed in a builder */
    if (kb_model_finish(m, y, &fe) < 0) {
        if (y < 0 && e.msg[0])
            kb_error_set(err, "backbone %s: %s", backbone->name, e.msg);
        else
            kb_error_set(err, "backbone %s: %s", backbone->name, fe.msg);
        kb_model_free(m);
        return -1;
    }
    *out = m;
    return 0;
}

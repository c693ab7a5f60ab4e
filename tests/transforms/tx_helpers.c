#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <keybench/params.h>

#include "tx_helpers.h"

const struct kb_plugin *tx_plugin(const char *name)
{
    const char *root = getenv("KEYBENCH_BUILD_ROOT");
    cr_assert(root, "KEYBENCH_BUILD_ROOT is not set (run through meson test)");
    char path[4096];
    snprintf(path, sizeof path, "%s/transforms/%s.so", root, name);
    void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    cr_assert(dl, "dlopen %s: %s", path, dlerror());
    kb_plugin_entry_fn entry = (kb_plugin_entry_fn)dlsym(dl, KB_PLUGIN_ENTRY_SYMBOL);
    cr_assert(entry, "%s: no %s", path, KB_PLUGIN_ENTRY_SYMBOL);
    const struct kb_plugin *const *list = entry();
    cr_assert(list && list[0] && !list[1], "%s: expected exactly one plugin", path);
    const struct kb_plugin *p = list[0];
    cr_assert_eq(p->abi_version, KB_PLUGIN_ABI_VERSION);
    cr_assert_eq(p->struct_size, sizeof(struct kb_plugin));
    cr_assert_eq(p->kind, KB_KIND_TRANSFORM);
    cr_assert_str_eq(p->name, name);
    const struct kb_transform_ops *ops = p->ops;
    cr_assert(ops && ops->struct_size == sizeof(struct kb_transform_ops));
    return p;
}

int tx_open(struct tx *t, const char *name, const char *settings, uint32_t h, uint32_t w,
            uint32_t c, struct kb_error *err)
{
    memset(t, 0, sizeof *t);
    t->plugin = tx_plugin(name);
    t->ops = t->plugin->ops;
    if (kb_params_new(&t->params, t->plugin->params, err) < 0)
        return -1;
    if (settings && *settings) {
        char *dup = strdup(settings), *save = NULL;
        for (char *kv = strtok_r(dup, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
            char *eq = strchr(kv, '=');
            cr_assert(eq, "bad setting '%s'", kv);
            *eq = 0;
            if (kb_params_set(t->params, kv, eq + 1, err) < 0) {
                free(dup);
                return -1;
            }
        }
        free(dup);
    }
    t->shape = (struct kb_image_shape){ h, w, c };
    t->image = (size_t)h * w * c;
    return t->ops->create(&t->state, t->params, &t->shape, err);
}

void tx_close(struct tx *t)
{
    if (t->state)
        t->ops->destroy(t->state);
    kb_params_free(t->params);
    memset(t, 0, sizeof *t);
}

uint8_t *tx_key_from(const struct tx *t, const uint8_t secret[32])
{
    size_t size = t->ops->key_size(t->state);
    cr_assert(size > 0);
    uint8_t *base = malloc(size + 1);
    cr_assert(base);
    base[0] = 0xA5;
    uint8_t *key = base + 1;
    memset(key, 0xEE, size);
    t->ops->key_make(t->state, key, secret);
    return key;
}

uint8_t *tx_key(const struct tx *t, uint8_t s)
{
    uint8_t secret[32];
    for (int i = 0; i < 32; i++)
        secret[i] = (uint8_t)(s + i);
    return tx_key_from(t, secret);
}

void tx_key_free(uint8_t *key)
{
    if (key)
        free(key - 1);
}

uint8_t *tx_images(const struct tx *t, size_t n, uint32_t seed)
{
    size_t total = n * t->image;
    uint8_t *img = malloc(total ? total : 1);
    cr_assert(img);
    uint32_t x = seed * 2654435761u + 12345u;
    for (size_t i = 0; i < total; i++) {
        x = x * 1664525u + 1013904223u; /* LCG: fixed, portable */
        img[i] = (uint8_t)(x >> 24);
    }
    if (total >= 256) /* make sure 0 and 255 occur */
        img[0] = 0, img[total - 1] = 255;
    return img;
}

#include <keybench/plugin.h>
KB_API const struct kb_plugin *const *keybench_plugin_entry(void);
KB_API const struct kb_plugin *const *keybench_plugin_entry(void)
{
    static const struct kb_plugin *const list[] = { NULL };
    return list;
}

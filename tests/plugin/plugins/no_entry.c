/* A shared object without keybench_plugin_entry. */
#include <keybench/common.h>
KB_API int not_a_plugin(void);
KB_API int not_a_plugin(void) { return 42; }

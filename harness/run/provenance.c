/* Provenance: what produced a number. */
#include <string.h>

#include <cblas.h>

#include <keybench/journal.h>
#include <keybench/nn.h>
#include "kb_config.h"
#include "kb_vcs.h"

/* OpenBLAS extensions (declared in its cblas.h on Debian; repeated here so a
 * different CBLAS header does not break the build). */
char *openblas_get_config(void);
int openblas_get_num_threads(void);

json_t *kb_provenance(void)
{
    const char *describe = KB_GIT_DESCRIBE;
    size_t len = strlen(describe);
    bool dirty = len > 6 && !strcmp(describe + len - 6, "-dirty");
    return json_pack("{s:s, s:s, s:b, s:s, s:s, s:i, s:i}",
                     "keybench_version", KB_VERSION,
                     "git", describe,
                     "git_dirty", dirty,
                     "compiler", KB_CC_VERSION,
                     "openblas", openblas_get_config(),
                     "blas_threads", openblas_get_num_threads(),
                     "engine_threads", kb_nn_threads());
}

/* tests/spec/spec_helpers.h — a fake in-memory plugin registry and fixture
 * helpers shared by the spec tests. */
#ifndef KB_TEST_SPEC_HELPERS_H
#define KB_TEST_SPEC_HELPERS_H

#include <keybench/registry.h>
#include <keybench/spec.h>

/* A registry holding small fake plugins:
 *   transforms: pixel_shuffle {block_size int 4 [1,1024]}, negpos {block_size,
 *               bits choice fixed|uniform}, ffx {block_size, password string (no default)},
 *               none {}
 *   backbones:  cnn {width int 32 [1,4096], dropout float 0 [0,1]}, mlp {hidden int 128}
 *   attacks:    wrong_key {trials int 10 [1,1e6]},
 *               key_estimation {mode choice random|heuristic, iterations int 100} */
struct kb_registry *spec_test_registry(void);

/* A fresh temp folder (mkdtemp under /tmp) for this test process. */
const char *spec_test_dir(void);
/* Write `text` to DIR/name; returns the path (static storage rotates over 8). */
const char *spec_test_write(const char *name, const char *text);

/* parse + validate + expand with the fake registry. Returns 0 or -1 (err set). */
int spec_test_plan(struct kb_plan **plan, const char *path, const char *const *ovr, size_t n_ovr,
                   struct kb_error *err);
/* Write `text` as `name` and try to plan it; returns the error message ("" on success). */
const char *spec_test_error(const char *name, const char *text);
const char *spec_test_error_ovr(const char *name, const char *text, const char *const *ovr,
                                size_t n_ovr);

#endif

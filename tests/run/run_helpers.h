/* Fixtures shared by the runner and attack tests: tiny synthetic IDX and
 * CIFAR-10 datasets. */
#ifndef KB_TEST_RUN_HELPERS_H
#define KB_TEST_RUN_HELPERS_H

#include <stdint.h>

/* The value of pixel (y, x) of image i with label `label`; *noise is a
 * running LCG state the function may advance for per-pixel noise. */
typedef int (*kb_test_pixel_fn)(void *ctx, uint32_t i, uint32_t label, int y, int x,
                                uint32_t *noise);

/* DIR/PREFIX-images-idx3-ubyte and DIR/PREFIX-labels-idx1-ubyte: n 16×16 gray
 * images, label i % n_classes, pixels from fn (clamped to 0..255). */
void write_idx_fn(const char *data_dir, const char *prefix, uint32_t n, uint32_t n_classes,
                  uint32_t seed, kb_test_pixel_fn fn, void *ctx);

/* The LCG step the pixel functions use for noise: returns a byte. */
uint32_t test_noise(uint32_t *state);

/* 4 classes: class k is bright in quadrant k (150 over noise 0..89). */
void write_idx_pair(const char *data_dir, const char *prefix, uint32_t n, uint32_t seed);
/* A fixed 32-byte master secret at `path` (0600): the same keys, hence the
 * same results, on every run of a test whose assertions depend on the key. */
void write_test_key(const char *path);

/* A CIFAR-10 binary stand-in folder (created): data_batch_1..5.bin with
 * per_batch records each and test_batch.bin with `test`; a record is 1 label
 * byte (i % 10) and 3072 planar bytes (a pattern shifted by i and the file). */
void write_cifar10(const char *data_dir, int per_batch, int test);

/* Run SPEC into RUN_DIR (quiet, one engine thread), assert that it set up and
 * that no cell failed, and return RUN_DIR/journal.jsonl's records. */
struct json_t;
struct json_t *run_spec_journal(const char *spec_path, const char *run_dir);

/* An attack's condition is "attack:NAME": its NAME (other conditions as they are). */
const char *cond_name(const char *c);
/* The value of the first measurement of (condition, metric) in recs, the
 * condition compared by cond_name; fails the test when there is none. */
double journal_value(const struct json_t *recs, const char *condition, const char *metric);

#endif

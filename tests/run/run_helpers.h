/* Fixtures shared by the runner tests. */
#ifndef KB_TEST_RUN_HELPERS_H
#define KB_TEST_RUN_HELPERS_H

#include <stdint.h>

/* DIR/PREFIX-images-idx3-ubyte and -labels-idx1-ubyte: n 16×16 gray images,
 * 4 classes; class k is bright in quadrant k, plus noise (seeded). */
void write_idx_pair(const char *data_dir, const char *prefix, uint32_t n, uint32_t seed);

#endif

/* jigsaw_solver.h — a greedy jigsaw-puzzle solver for block-scrambled images
 * (internal to the jigsaw attack and its test; not part of libkeybench).
 *
 * Pieces are M×M×C uint8 blocks (row-major, channel fastest). A candidate is
 * one piece in one of V variants, each a variant code v (kb_jigsaw_variant_code):
 * rotation by (v & 3)·90° clockwise, then a horizontal flip if v & 4, then
 * negation (p XOR 255) if v & 8. V = 1: as is; 2: negation only (codes 0, 8);
 * 8: the dihedral group (codes 0..7); 16: both (codes 0..15).
 * Candidate id = piece·V + variant index.
 *
 *     kb_jigsaw_split(cands, img, h, w, c, m, V);             // rows·cols·V candidates
 *     kb_jigsaw_dissim_add(dlr, dtb, cands, n·V, m, c);       // summed over images if wanted
 *     kb_jigsaw_solve(slot, dlr, dtb, rows, cols, V, seeds);  // slot[r·cols + q] = candidate
 *     kb_jigsaw_assemble(out, cands, slot, h, w, c, m);
 *
 * Dissimilarity (Pomeranz et al. 2011 style, prediction-based): for a piece a
 * left of b, the sum over the boundary rows and channels of the squared error
 * of predicting each boundary column linearly from its own piece's two
 * outermost columns, plus the plain squared difference across the boundary.
 * The solver grows the arrangement greedily from a seed piece, always placing
 * the (free slot, unused piece) pair of best normalised compatibility, inside
 * a box of the true grid size (so the result is aligned to the block grid);
 * it keeps the arrangement of least total dissimilarity over `seeds` seeds. */
#ifndef KB_ATTACKS_JIGSAW_SOLVER_H
#define KB_ATTACKS_JIGSAW_SOLVER_H

#include <stddef.h>
#include <stdint.h>

#include <keybench/common.h>

/* Most candidates (pieces × variants) one puzzle may have: the dissimilarity
 * tables take 2·n² floats. */
#define KB_JIGSAW_MAX_CANDIDATES 4096u

/* The variant code of variant `index` of a set of `variants` (1, 2, 8 or 16). */
uint32_t kb_jigsaw_variant_code(uint32_t index, uint32_t variants);

/* out (m·m·c) := variant code v of block `in` (m·m·c). */
void kb_jigsaw_variant(uint8_t *out, const uint8_t *in, uint32_t m, uint32_t c, uint32_t v);

/* cands ((h/m)·(w/m)·variants·m·m·c) := the image's blocks in row-major
 * order, each in its `variants` variants. */
void kb_jigsaw_split(uint8_t *cands, const uint8_t *img, uint32_t h, uint32_t w, uint32_t c,
                     uint32_t m, uint32_t variants);

/* dlr[a·n + b] += D(a left of b), dtb[a·n + b] += D(a above b), for the n
 * candidates `cands`. Returns 0, or -1 on OOM. */
int kb_jigsaw_dissim_add(float *dlr, float *dtb, const uint8_t *cands, size_t n, uint32_t m,
                         uint32_t c, struct kb_error *err);

/* slot (rows·cols) := the candidate placed in each grid slot; every piece is
 * used exactly once. Returns 0, or -1 on OOM or too many candidates. */
int kb_jigsaw_solve(uint32_t *slot, const float *dlr, const float *dtb, uint32_t rows,
                    uint32_t cols, uint32_t variants, uint32_t seeds, struct kb_error *err);

/* img (h·w·c) := the candidates of `slot` laid out on the block grid. */
void kb_jigsaw_assemble(uint8_t *img, const uint8_t *cands, const uint32_t *slot, uint32_t h,
                        uint32_t w, uint32_t c, uint32_t m);

/* Compare a reassembled image with the plain one: *placed := blocks equal to
 * the plain block at the same position; *pairs_ok := horizontally or vertically
 * adjacent pairs (a, b) of the reassembled image that are adjacent the same way
 * somewhere in the plain image (by content); *pairs := adjacent pairs. */
void kb_jigsaw_score(size_t *placed, size_t *pairs_ok, size_t *pairs, const uint8_t *recon,
                     const uint8_t *plain, uint32_t h, uint32_t w, uint32_t c, uint32_t m);

#endif

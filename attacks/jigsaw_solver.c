/* jigsaw_solver.c — the greedy jigsaw solver of jigsaw_solver.h. */
#include "jigsaw_solver.h"

#include <float.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

void kb_jigsaw_variant(uint8_t *out, const uint8_t *in, uint32_t m, uint32_t c, uint32_t v)
{
    uint32_t rot = v & 3;
    bool flip = (v & 4) != 0, neg = (v & 8) != 0;
    for (uint32_t y = 0; y < m; y++)
        for (uint32_t x = 0; x < m; x++) {
            /* out(y, x) after the flip reads the rotated block at (y, xs). */
            uint32_t xs = flip ? m - 1 - x : x, sy = y, sx = xs;
            /* One clockwise turn: rotated(y, x) = in(m-1-x, y); undo rot turns. */
            for (uint32_t k = 0; k < rot; k++) {
                uint32_t ty = m - 1 - sx, tx = sy;
                sy = ty, sx = tx;
            }
            const uint8_t *src = in + ((size_t)sy * m + sx) * c;
            uint8_t *dst = out + ((size_t)y * m + x) * c;
            for (uint32_t ch = 0; ch < c; ch++)
                dst[ch] = neg ? (uint8_t)(src[ch] ^ 255u) : src[ch];
        }
}

uint32_t kb_jigsaw_variant_code(uint32_t index, uint32_t variants)
{
    return variants == 2 ? index * 8 : index;
}

void kb_jigsaw_split(uint8_t *cands, const uint8_t *img, uint32_t h, uint32_t w, uint32_t c,
                     uint32_t m, uint32_t variants)
{
    uint32_t rows = h / m, cols = w / m;
    size_t bsz = (size_t)m * m * c;
    for (uint32_t br = 0; br < rows; br++)
        for (uint32_t bc = 0; bc < cols; bc++) {
            uint8_t *base = cands + ((size_t)br * cols + bc) * variants * bsz;
            for (uint32_t y = 0; y < m; y++)
                memcpy(base + (size_t)y * m * c,
                       img + (((size_t)br * m + y) * w + (size_t)bc * m) * c, (size_t)m * c);
            for (uint32_t v = 1; v < variants; v++)
                kb_jigsaw_variant(base + v * bsz, base, m, c, kb_jigsaw_variant_code(v, variants));
        }
}

/* Edge k of a candidate as floats: 0 right col, 1 right inner, 2 left col,
 * 3 left inner, 4 bottom row, 5 bottom inner, 6 top row, 7 top inner. */
static void edges(float *e, const uint8_t *b, uint32_t m, uint32_t c)
{
    size_t L = (size_t)m * c;
    uint32_t in1 = m >= 2 ? 1 : 0, inm = m >= 2 ? m - 2 : 0;
    for (uint32_t i = 0; i < m; i++)
        for (uint32_t ch = 0; ch < c; ch++) {
            size_t k = (size_t)i * c + ch;
            e[0 * L + k] = b[((size_t)i * m + m - 1) * c + ch];
            e[1 * L + k] = b[((size_t)i * m + inm) * c + ch];
            e[2 * L + k] = b[((size_t)i * m + 0) * c + ch];
            e[3 * L + k] = b[((size_t)i * m + in1) * c + ch];
            e[4 * L + k] = b[((size_t)(m - 1) * m + i) * c + ch];
            e[5 * L + k] = b[((size_t)inm * m + i) * c + ch];
            e[6 * L + k] = b[((size_t)0 * m + i) * c + ch];
            e[7 * L + k] = b[((size_t)in1 * m + i) * c + ch];
        }
}

/* D between the outer edge `ao` (inner `ai`) of one piece and `bo`/`bi` of the other. */
static float pair_d(const float *ao, const float *ai, const float *bo, const float *bi, size_t L,
                    bool predict)
{
    float d = 0;
    for (size_t k = 0; k < L; k++) {
        float diff = ao[k] - bo[k];
        d += diff * diff;
        if (predict) {
            float pb = 2 * ao[k] - ai[k] - bo[k], pa = 2 * bo[k] - bi[k] - ao[k];
            d += pb * pb + pa * pa;
        }
    }
    return d;
}

int kb_jigsaw_dissim_add(float *dlr, float *dtb, const uint8_t *cands, size_t n, uint32_t m,
                         uint32_t c, struct kb_error *err)
{
    size_t L = (size_t)m * c, bsz = L * m;
    float *e = malloc(n * 8 * L * sizeof *e);
    if (!e)
        return kb_error_set(err, "jigsaw: out of memory for the edges of %zu pieces", n);
    for (size_t i = 0; i < n; i++)
        edges(e + i * 8 * L, cands + i * bsz, m, c);
    bool predict = m >= 2;
    for (size_t a = 0; a < n; a++) {
        const float *ea = e + a * 8 * L;
        for (size_t b = 0; b < n; b++) {
            const float *eb = e + b * 8 * L;
            dlr[a * n + b] += pair_d(ea + 0 * L, ea + 1 * L, eb + 2 * L, eb + 3 * L, L, predict);
            dtb[a * n + b] += pair_d(ea + 4 * L, ea + 5 * L, eb + 6 * L, eb + 7 * L, L, predict);
        }
    }
    free(e);
    return 0;
}

/* Second-best dissimilarity of each candidate in one direction, over the
 * other pieces (the best per piece counted once). rowwise: over b of d[a][b]. */
static void second_best(float *out, const float *d, size_t n, uint32_t V, bool rowwise)
{
    for (size_t a = 0; a < n; a++) {
        float m1 = FLT_MAX, m2 = FLT_MAX;
        size_t p1 = (size_t)-1;
        for (size_t b = 0; b < n; b++) {
            if (b / V == a / V)
                continue;
            float x = rowwise ? d[a * n + b] : d[b * n + a];
            size_t pb = b / V;
            if (x < m1) {
                if (pb != p1)
                    m2 = m1;
                m1 = x, p1 = pb;
            } else if (x < m2 && pb != p1) {
                m2 = x;
            }
        }
        out[a] = m2 == FLT_MAX ? (m1 == FLT_MAX ? 1 : m1) : m2;
    }
}

struct solver {
    const float *dlr, *dtb;
    const float *sec_r, *sec_l, *sec_b, *sec_t;  /* normalisers */
    size_t n;          /* candidates */
    uint32_t V, rows, cols, gr, gc;
    int32_t *canvas;   /* gr·gc candidate ids, -1 empty */
    bool *used;        /* per piece */
    float *best;       /* per cell: best score, or FLT_MAX */
    int32_t *bestc;    /* per cell: best candidate, -1 if not computed */
    int rmin, rmax, cmin, cmax;
};

#define NORM_EPS 1.0f

static float nlr(const struct solver *s, size_t a, size_t b)
{
    float den = s->sec_r[a] < s->sec_l[b] ? s->sec_r[a] : s->sec_l[b];
    return s->dlr[a * s->n + b] / (den + NORM_EPS);
}

static float ntb(const struct solver *s, size_t a, size_t b)
{
    float den = s->sec_b[a] < s->sec_t[b] ? s->sec_b[a] : s->sec_t[b];
    return s->dtb[a * s->n + b] / (den + NORM_EPS);
}

static bool cell_ok(const struct solver *s, int r, int q)
{
    if (r < 0 || q < 0 || r >= (int)s->gr || q >= (int)s->gc || s->canvas[r * (int)s->gc + q] >= 0)
        return false;
    int lo = r < s->rmin ? r : s->rmin, hi = r > s->rmax ? r : s->rmax;
    int cl = q < s->cmin ? q : s->cmin, ch = q > s->cmax ? q : s->cmax;
    if (hi - lo + 1 > (int)s->rows || ch - cl + 1 > (int)s->cols)
        return false;
    static const int dr[4] = { 0, 0, -1, 1 }, dq[4] = { -1, 1, 0, 0 };
    for (int k = 0; k < 4; k++) {
        int rr = r + dr[k], qq = q + dq[k];
        if (rr >= 0 && qq >= 0 && rr < (int)s->gr && qq < (int)s->gc &&
            s->canvas[rr * (int)s->gc + qq] >= 0)
            return true;
    }
    return false;
}

static void cell_eval(struct solver *s, int r, int q)
{
    int gc = (int)s->gc;
    int32_t L = q > 0 ? s->canvas[r * gc + q - 1] : -1;
    int32_t R = q + 1 < gc ? s->canvas[r * gc + q + 1] : -1;
    int32_t T = r > 0 ? s->canvas[(r - 1) * gc + q] : -1;
    int32_t B = r + 1 < (int)s->gr ? s->canvas[(r + 1) * gc + q] : -1;
    int cnt = (L >= 0) + (R >= 0) + (T >= 0) + (B >= 0);
    float best = FLT_MAX;
    int32_t bc = -1;
    for (size_t x = 0; x < s->n; x++) {
        if (s->used[x / s->V])
            continue;
        float sc = 0;
        if (L >= 0)
            sc += nlr(s, (size_t)L, x);
        if (R >= 0)
            sc += nlr(s, x, (size_t)R);
        if (T >= 0)
            sc += ntb(s, (size_t)T, x);
        if (B >= 0)
            sc += ntb(s, x, (size_t)B);
        if (sc < best)
            best = sc, bc = (int32_t)x;
    }
    s->best[r * gc + q] = cnt ? best / (float)cnt : FLT_MAX;
    s->bestc[r * gc + q] = bc;
}

static void place(struct solver *s, int r, int q, int32_t cand)
{
    int gc = (int)s->gc;
    s->canvas[r * gc + q] = cand;
    s->used[(size_t)cand / s->V] = true;
    if (r < s->rmin) s->rmin = r;
    if (r > s->rmax) s->rmax = r;
    if (q < s->cmin) s->cmin = q;
    if (q > s->cmax) s->cmax = q;
    static const int dr[4] = { 0, 0, -1, 1 }, dq[4] = { -1, 1, 0, 0 };
    for (int k = 0; k < 4; k++) {
        int rr = r + dr[k], qq = q + dq[k];
        if (rr >= 0 && qq >= 0 && rr < (int)s->gr && qq < gc)
            s->bestc[rr * gc + qq] = -1;  /* neighbours changed: recompute */
    }
}

/* Grow from `seed`; slot := the arrangement; returns its total raw dissimilarity. */
static double grow(struct solver *s, uint32_t *slot, int32_t seed)
{
    size_t cells = (size_t)s->gr * s->gc, pieces = s->n / s->V;
    for (size_t i = 0; i < cells; i++)
        s->canvas[i] = -1, s->bestc[i] = -1, s->best[i] = FLT_MAX;
    memset(s->used, 0, pieces * sizeof *s->used);
    int r0 = (int)s->rows - 1, q0 = (int)s->cols - 1;
    s->rmin = s->rmax = r0, s->cmin = s->cmax = q0;
    place(s, r0, q0, seed);
    for (size_t placed = 1; placed < pieces; placed++) {
        float best = FLT_MAX;
        int br = -1, bq = -1;
        for (int r = 0; r < (int)s->gr; r++)
            for (int q = 0; q < (int)s->gc; q++) {
                if (!cell_ok(s, r, q))
                    continue;
                int i = r * (int)s->gc + q;
                if (s->bestc[i] < 0 || s->used[(size_t)s->bestc[i] / s->V])
                    cell_eval(s, r, q);
                if (s->bestc[i] >= 0 && (br < 0 || s->best[i] < best))
                    best = s->best[i], br = r, bq = q;
            }
        if (br < 0)
            break;  /* cannot happen: a box with a hole has a frontier cell */
        place(s, br, bq, s->bestc[br * (int)s->gc + bq]);
    }
    double total = 0;
    for (uint32_t r = 0; r < s->rows; r++)
        for (uint32_t q = 0; q < s->cols; q++) {
            int32_t x = s->canvas[(s->rmin + (int)r) * (int)s->gc + s->cmin + (int)q];
            slot[r * s->cols + q] = x < 0 ? 0 : (uint32_t)x;
        }
    for (uint32_t r = 0; r < s->rows; r++)
        for (uint32_t q = 0; q < s->cols; q++) {
            size_t a = slot[r * s->cols + q];
            if (q + 1 < s->cols)
                total += s->dlr[a * s->n + slot[r * s->cols + q + 1]];
            if (r + 1 < s->rows)
                total += s->dtb[a * s->n + slot[(r + 1) * s->cols + q]];
        }
    return total;
}

int kb_jigsaw_solve(uint32_t *slot, const float *dlr, const float *dtb, uint32_t rows,
                    uint32_t cols, uint32_t variants, uint32_t seeds, struct kb_error *err)
{
    size_t pieces = (size_t)rows * cols, n = pieces * variants;
    if (!rows || !cols || !variants || n > KB_JIGSAW_MAX_CANDIDATES)
        return kb_error_set(err, "jigsaw: %zu pieces in %u variants; expected 1 to %u candidates",
                            pieces, variants, KB_JIGSAW_MAX_CANDIDATES);
    struct solver s = { .dlr = dlr, .dtb = dtb, .n = n, .V = variants, .rows = rows,
                        .cols = cols, .gr = 2 * rows - 1, .gc = 2 * cols - 1 };
    size_t cells = (size_t)s.gr * s.gc;
    float *sec = malloc(4 * n * sizeof *sec);
    s.canvas = malloc(cells * sizeof *s.canvas);
    s.bestc = malloc(cells * sizeof *s.bestc);
    s.best = malloc(cells * sizeof *s.best);
    s.used = malloc(pieces * sizeof *s.used);
    uint32_t *tmp = malloc(pieces * sizeof *tmp);
    int rc = 0;
    if (!sec || !s.canvas || !s.bestc || !s.best || !s.used || !tmp) {
        rc = kb_error_set(err, "jigsaw: out of memory for a %ux%u puzzle", rows, cols);
        goto out;
    }
    second_best(sec, dlr, n, variants, true);
    second_best(sec + n, dlr, n, variants, false);
    second_best(sec + 2 * n, dtb, n, variants, true);
    second_best(sec + 3 * n, dtb, n, variants, false);
    s.sec_r = sec, s.sec_l = sec + n, s.sec_b = sec + 2 * n, s.sec_t = sec + 3 * n;
    if (!seeds)
        seeds = 1;
    if (seeds > pieces)
        seeds = (uint32_t)pieces;
    double best = DBL_MAX;
    for (uint32_t k = 0; k < seeds; k++) {
        size_t piece = (size_t)k * pieces / seeds;
        double t = grow(&s, tmp, (int32_t)(piece * variants));
        if (t < best) {
            best = t;
            memcpy(slot, tmp, pieces * sizeof *slot);
        }
    }
out:
    free(sec), free(s.canvas), free(s.bestc), free(s.best), free(s.used), free(tmp);
    return rc;
}

void kb_jigsaw_assemble(uint8_t *img, const uint8_t *cands, const uint32_t *slot, uint32_t h,
                        uint32_t w, uint32_t c, uint32_t m)
{
    uint32_t rows = h / m, cols = w / m;
    size_t bsz = (size_t)m * m * c;
    for (uint32_t br = 0; br < rows; br++)
        for (uint32_t bc = 0; bc < cols; bc++) {
            const uint8_t *b = cands + (size_t)slot[br * cols + bc] * bsz;
            for (uint32_t y = 0; y < m; y++)
                memcpy(img + (((size_t)br * m + y) * w + (size_t)bc * m) * c,
                       b + (size_t)y * m * c, (size_t)m * c);
        }
}

void kb_jigsaw_score(size_t *placed, size_t *pairs_ok, size_t *pairs, const uint8_t *recon,
                     const uint8_t *plain, uint32_t h, uint32_t w, uint32_t c, uint32_t m)
{
    uint32_t rows = h / m, cols = w / m;
    size_t n = (size_t)rows * cols, bsz = (size_t)m * m * c;
    *placed = *pairs_ok = *pairs = 0;
    uint8_t *pb = malloc(2 * n * bsz);
    uint32_t *id = malloc(2 * n * sizeof *id);  /* content class of plain[i], recon[i] */
    if (!pb || !id) {
        free(pb), free(id);
        return;
    }
    kb_jigsaw_split(pb, plain, h, w, c, m, 1);
    kb_jigsaw_split(pb + n * bsz, recon, h, w, c, m, 1);
    for (size_t i = 0; i < 2 * n; i++) {
        id[i] = (uint32_t)i;
        for (size_t j = 0; j < i; j++)
            if (!memcmp(pb + i * bsz, pb + j * bsz, bsz)) {
                id[i] = id[j];
                break;
            }
    }
    const uint32_t *ip = id, *ir = id + n;
    for (size_t i = 0; i < n; i++)
        *placed += ip[i] == ir[i];
    for (uint32_t r = 0; r < rows; r++)
        for (uint32_t q = 0; q < cols; q++)
            for (int dir = 0; dir < 2; dir++) {
                uint32_t r2 = r + (dir == 1), q2 = q + (dir == 0);
                if (r2 >= rows || q2 >= cols)
                    continue;
                (*pairs)++;
                uint32_t a = ir[r * cols + q], b = ir[r2 * cols + q2];
                bool ok = false;
                for (uint32_t pr = 0; pr + (dir == 1) < rows && !ok; pr++)
                    for (uint32_t pq = 0; pq + (dir == 0) < cols && !ok; pq++)
                        ok = ip[pr * cols + pq] == a &&
                             ip[(pr + (dir == 1)) * cols + pq + (dir == 0)] == b;
                *pairs_ok += ok;
            }
    free(pb), free(id);
}

/* block_scramble — block scrambling with the optional per-block steps of the
 * Encryption-then-Compression (EtC) family.
 *
 * Key (n = (H/M)·(W/M) blocks, row-major; plain bytes):
 *   [0, 4n)          perm: uint32[n], native-endian — destination block j
 *                    receives source block perm[j] (blocks move whole)
 *   [4n, 5n)         rot[j]  in 0..3: clockwise rotation by rot·90°   (param rotate)
 *   [5n, 6n)         flip[j] in 0..1: horizontal flip after rotation  (param flip)
 *   [6n, 7n)         neg[j]  in 0..1: p XOR 255 on the whole block     (param negpos)
 *   [7n, 7n + n·C)   chan[j·C + ch]: destination channel ch takes source
 *                    channel chan[j·C + ch]; a permutation per block (param channel_shuffle)
 * Disabled steps hold their identity value. Encrypt, for destination block j:
 * take source block perm[j], rotate, flip, negate, shuffle channels, write it
 * at j, then x = p / 255. Decrypt applies the inverse of each step.
 *
 * Key space: log2(n!) + n·(2 if rotate) + n·(1 if flip) + n·(1 if negpos)
 * + n·log2(C!) (if channel_shuffle); rotation and flip count only when M ≥ 2
 * (a 1×1 block is unchanged by them). key_length = n; key_agreement is the
 * fraction of block positions whose components (source block and every
 * enabled step) all agree. */
#include <stdlib.h>

#include <keybench/rng.h>

#include "block.h"

struct bs_state {
    struct kbt_geom g;
    bool rotate, flip, negpos, channel_shuffle;
    size_t n;  /* blocks */
};

static const struct kb_param bs_params[] = {
    { "block_size", KB_PARAM_INT, "4", 1, 1024, NULL, "block side M in pixels; must divide H and W" },
    { "rotate", KB_PARAM_BOOL, "false", 0, 0, NULL, "also rotate each block by a keyed multiple of 90 degrees" },
    { "flip", KB_PARAM_BOOL, "false", 0, 0, NULL, "also flip each block horizontally where the key says so" },
    { "negpos", KB_PARAM_BOOL, "false", 0, 0, NULL, "also negate whole blocks (p XOR 255) where the key says so" },
    { "channel_shuffle", KB_PARAM_BOOL, "false", 0, 0, NULL, "also permute the colour channels of each block with a keyed permutation" },
    { NULL, 0, NULL, 0, 0, NULL, NULL }
};

static int bs_create(void **state, const struct kb_params *params,
                     const struct kb_image_shape *shape, struct kb_error *err)
{
    struct bs_state *s = calloc(1, sizeof *s);
    if (!s)
        return kb_error_set(err, "block_scramble: out of memory");
    if (kbt_geom_init(&s->g, params, shape, "block_scramble", err) < 0) {
        free(s);
        return -1;
    }
    if (s->g.c > 256 || s->g.nblocks > UINT32_MAX / 16) {
        uint32_t c = s->g.c;
        kbt_geom_free(&s->g);
        free(s);
        return kb_error_set(err, "block_scramble: image with %u channels or too many blocks; "
                            "expected at most 256 channels", c);
    }
    s->n = s->g.nblocks;
    s->rotate = kb_params_bool(params, "rotate");
    s->flip = kb_params_bool(params, "flip");
    s->negpos = kb_params_bool(params, "negpos");
    s->channel_shuffle = kb_params_bool(params, "channel_shuffle");
    *state = s;
    return 0;
}

static void bs_destroy(void *state)
{
    struct bs_state *s = state;
    if (!s)
        return;
    kbt_geom_free(&s->g);
    free(s);
}

static size_t bs_key_size(const void *state)
{
    const struct bs_state *s = state;
    return 7 * s->n + s->n * s->g.c;
}

static double bs_keyspace_bits(const void *state)
{
    const struct bs_state *s = state;
    double n = (double)s->n, bits = kbt_log2_factorial(n);
    if (s->rotate && s->g.m > 1)
        bits += 2 * n;
    if (s->flip && s->g.m > 1)
        bits += n;
    if (s->negpos)
        bits += n;
    if (s->channel_shuffle)
        bits += n * kbt_log2_factorial((double)s->g.c);
    return bits;
}

static size_t bs_key_length(const void *state)
{
    return ((const struct bs_state *)state)->n;
}

/* Section pointers of a key buffer. */
struct bs_key {
    uint8_t *perm, *rot, *flip, *neg, *chan;
};

static struct bs_key bs_sections(const struct bs_state *s, const void *key)
{
    uint8_t *k = (uint8_t *)key;
    size_t n = s->n;
    return (struct bs_key){ k, k + 4 * n, k + 5 * n, k + 6 * n, k + 7 * n };
}

static void bs_key_make(const void *state, void *key, const uint8_t secret[32])
{
    const struct bs_state *s = state;
    struct bs_key k = bs_sections(s, key);
    uint32_t n = (uint32_t)s->n, C = s->g.c;
    struct kb_rng r;
    kb_rng_init(&r, secret, 0);
    /* the block permutation: kb_rng_permutation in place on the bytes */
    for (uint32_t i = 0; i < n; i++)
        kbt_st32(k.perm + 4 * (size_t)i, i);
    for (uint32_t i = n; i > 1; i--) {
        uint32_t j = kb_rng_uniform(&r, i);
        uint32_t t = kbt_ld32(k.perm + 4 * (size_t)(i - 1));
        kbt_st32(k.perm + 4 * (size_t)(i - 1), kbt_ld32(k.perm + 4 * (size_t)j));
        kbt_st32(k.perm + 4 * (size_t)j, t);
    }
    for (uint32_t j = 0; j < n; j++) {
        k.rot[j] = s->rotate ? (uint8_t)kb_rng_uniform(&r, 4) : 0;
        k.flip[j] = s->flip ? (uint8_t)kb_rng_uniform(&r, 2) : 0;
        k.neg[j] = s->negpos ? (uint8_t)kb_rng_uniform(&r, 2) : 0;
        uint8_t *p = k.chan + (size_t)j * C;
        for (uint32_t ch = 0; ch < C; ch++)
            p[ch] = (uint8_t)ch;
        if (s->channel_shuffle)
            for (uint32_t i = C; i > 1; i--) {
                uint32_t t = kb_rng_uniform(&r, i);
                uint8_t v = p[i - 1];
                p[i - 1] = p[t];
                p[t] = v;
            }
    }
    kb_rng_wipe(&r);
}

enum bs_move { MOVE_PERM, MOVE_ROT, MOVE_FLIP, MOVE_NEG, MOVE_CHAN };

static void bs_key_mutate(const void *state, void *key, struct kb_rng *rng)
{
    const struct bs_state *s = state;
    struct bs_key k = bs_sections(s, key);
    uint32_t n = (uint32_t)s->n, C = s->g.c;
    enum bs_move moves[5];
    uint32_t nm = 0;
    if (n >= 2)
        moves[nm++] = MOVE_PERM;
    if (s->rotate && s->g.m > 1)
        moves[nm++] = MOVE_ROT;
    if (s->flip && s->g.m > 1)
        moves[nm++] = MOVE_FLIP;
    if (s->negpos)
        moves[nm++] = MOVE_NEG;
    if (s->channel_shuffle && C >= 2)
        moves[nm++] = MOVE_CHAN;
    if (nm == 0)
        return; /* a single key */
    enum bs_move mv = moves[kb_rng_uniform(rng, nm)];
    uint32_t j = kb_rng_uniform(rng, n);
    switch (mv) {
    case MOVE_PERM: {
        uint32_t i = kb_rng_uniform(rng, n - 1);
        if (i >= j)
            i++;
        uint32_t t = kbt_ld32(k.perm + 4 * (size_t)i);
        kbt_st32(k.perm + 4 * (size_t)i, kbt_ld32(k.perm + 4 * (size_t)j));
        kbt_st32(k.perm + 4 * (size_t)j, t);
        break;
    }
    case MOVE_ROT:
        k.rot[j] = (uint8_t)((k.rot[j] + 1 + kb_rng_uniform(rng, 3)) % 4);
        break;
    case MOVE_FLIP:
        k.flip[j] ^= 1;
        break;
    case MOVE_NEG:
        k.neg[j] ^= 1;
        break;
    case MOVE_CHAN: {
        uint8_t *p = k.chan + (size_t)j * C;
        uint32_t a = kb_rng_uniform(rng, C), b = kb_rng_uniform(rng, C - 1);
        if (b >= a)
            b++;
        uint8_t t = p[a];
        p[a] = p[b];
        p[b] = t;
        break;
    }
    }
}

static double bs_key_agreement(const void *state, const void *a, const void *b)
{
    const struct bs_state *s = state;
    struct bs_key ka = bs_sections(s, a), kb = bs_sections(s, b);
    uint32_t C = s->g.c;
    if (s->n == 0)
        return 1.0;
    size_t same = 0;
    for (size_t j = 0; j < s->n; j++) {
        bool eq = kbt_ld32(ka.perm + 4 * j) == kbt_ld32(kb.perm + 4 * j);
        if (s->rotate && s->g.m > 1)
            eq = eq && ka.rot[j] == kb.rot[j];
        if (s->flip && s->g.m > 1)
            eq = eq && ka.flip[j] == kb.flip[j];
        if (s->negpos)
            eq = eq && ka.neg[j] == kb.neg[j];
        if (s->channel_shuffle)
            eq = eq && !memcmp(ka.chan + j * C, kb.chan + j * C, C);
        same += eq;
    }
    return (double)same / (double)s->n;
}

/* Source (row, column) in the source block of destination (r, c) under
 * rotation `rot` (clockwise quarter turns) followed by a horizontal flip. */
static inline void bs_source_rc(uint32_t *r0, uint32_t *c0, uint32_t r, uint32_t c, uint32_t m,
                                unsigned rot, unsigned flip)
{
    uint32_t r1 = r, c1 = flip ? m - 1 - c : c;
    switch (rot & 3) {
    case 0: *r0 = r1; *c0 = c1; break;
    case 1: *r0 = m - 1 - c1; *c0 = r1; break;
    case 2: *r0 = m - 1 - r1; *c0 = m - 1 - c1; break;
    default: *r0 = c1; *c0 = m - 1 - r1; break;
    }
}

static void bs_encrypt(const void *state, const void *key, float *out, const uint8_t *in,
                       size_t n)
{
    const struct bs_state *s = state;
    const struct kbt_geom *g = &s->g;
    struct bs_key k = bs_sections(s, key);
    uint32_t M = g->m, C = g->c;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *src = in + i * g->image;
        float *dst = out + i * g->image;
        for (size_t j = 0; j < s->n; j++) {
            size_t dbase = kbt_block_base(g, j);
            size_t sbase = kbt_block_base(g, kbt_ld32(k.perm + 4 * j));
            const uint8_t *P = k.chan + j * C;
            uint8_t mask = k.neg[j] ? 0xFF : 0x00;
            for (uint32_t r = 0; r < M; r++)
                for (uint32_t c = 0; c < M; c++) {
                    uint32_t r0, c0;
                    bs_source_rc(&r0, &c0, r, c, M, k.rot[j], k.flip[j]);
                    const uint8_t *sp = src + sbase + ((size_t)r0 * g->w + c0) * C;
                    float *dp = dst + dbase + ((size_t)r * g->w + c) * C;
                    for (uint32_t ch = 0; ch < C; ch++)
                        dp[ch] = g->unit[sp[P[ch]] ^ mask];
                }
        }
    }
}

static void bs_decrypt(const void *state, const void *key, uint8_t *out, const float *in,
                       size_t n)
{
    const struct bs_state *s = state;
    const struct kbt_geom *g = &s->g;
    struct bs_key k = bs_sections(s, key);
    uint32_t M = g->m, C = g->c;
    for (size_t i = 0; i < n; i++) {
        const float *src = in + i * g->image;
        uint8_t *dst = out + i * g->image;
        for (size_t j = 0; j < s->n; j++) {
            size_t dbase = kbt_block_base(g, j);
            size_t sbase = kbt_block_base(g, kbt_ld32(k.perm + 4 * j));
            const uint8_t *P = k.chan + j * C;
            uint8_t mask = k.neg[j] ? 0xFF : 0x00;
            for (uint32_t r = 0; r < M; r++)
                for (uint32_t c = 0; c < M; c++) {
                    uint32_t r0, c0;
                    bs_source_rc(&r0, &c0, r, c, M, k.rot[j], k.flip[j]);
                    uint8_t *op = dst + sbase + ((size_t)r0 * g->w + c0) * C;
                    const float *ip = src + dbase + ((size_t)r * g->w + c) * C;
                    for (uint32_t ch = 0; ch < C; ch++)
                        op[P[ch]] = kbt_u8(ip[ch]) ^ mask;
                }
        }
    }
}

/* Exchange entries i and j of the block permutation (the per-block steps
 * stay where they are: they belong to destination positions). */
static void bs_key_swap(const void *state, void *key, size_t i, size_t j)
{
    const struct bs_state *s = state;
    struct bs_key k = bs_sections(s, key);
    if (i >= s->n || j >= s->n || i == j)
        return;
    uint32_t t = kbt_ld32(k.perm + 4 * i);
    kbt_st32(k.perm + 4 * i, kbt_ld32(k.perm + 4 * j));
    kbt_st32(k.perm + 4 * j, t);
}

/* Destination (block j, r, c, ch) takes source block perm[j] at the rotated
 * and flipped (r0, c0), channel chan[j·C + ch]; negated where neg[j]. */
static void bs_key_layout(const void *state, const void *key, uint32_t *src, int8_t *sign,
                          float *denom)
{
    const struct bs_state *s = state;
    const struct kbt_geom *g = &s->g;
    struct bs_key k = bs_sections(s, key);
    uint32_t M = g->m, C = g->c;
    kbt_layout_identity(g, src, sign, denom, 255.0f);
    for (size_t j = 0; j < s->n; j++) {
        size_t dbase = kbt_block_base(g, j);
        size_t sbase = kbt_block_base(g, kbt_ld32(k.perm + 4 * j));
        const uint8_t *P = k.chan + j * C;
        for (uint32_t r = 0; r < M; r++)
            for (uint32_t c = 0; c < M; c++) {
                uint32_t r0, c0;
                bs_source_rc(&r0, &c0, r, c, M, k.rot[j], k.flip[j]);
                size_t sp = sbase + ((size_t)r0 * g->w + c0) * C;
                size_t dp = dbase + ((size_t)r * g->w + c) * C;
                for (uint32_t ch = 0; ch < C; ch++) {
                    src[dp + ch] = (uint32_t)(sp + P[ch]);
                    sign[dp + ch] = k.neg[j] ? -1 : 1;
                }
            }
    }
}

static const struct kb_transform_ops bs_ops = {
    .struct_size = sizeof(struct kb_transform_ops),
    .create = bs_create,
    .destroy = bs_destroy,
    .key_size = bs_key_size,
    .keyspace_bits = bs_keyspace_bits,
    .key_length = bs_key_length,
    .key_make = bs_key_make,
    .key_mutate = bs_key_mutate,
    .key_agreement = bs_key_agreement,
    .encrypt = bs_encrypt,
    .decrypt = bs_decrypt,
    .key_swap = bs_key_swap,
    .key_layout = bs_key_layout,
};

static const struct kb_plugin bs_plugin = {
    KB_PLUGIN_HEADER,
    .kind = KB_KIND_TRANSFORM,
    .name = "block_scramble",
    .version = "1.0.0",
    .summary = "block scrambling (EtC): a key permutation of whole blocks, optional per-block rotate/flip/negpos/channel shuffle",
    .params = bs_params,
    .caps = KB_CAP_KEYED | KB_CAP_KEY_PERMUTATION | KB_CAP_BLOCK_PERMUTATION,
    .ops = &bs_ops,
};

KB_PLUGIN_ENTRY(&bs_plugin)

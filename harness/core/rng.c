/* Deterministic ChaCha20 streams with unbiased bounded sampling. */
#include <string.h>

#include <sodium.h>

#include <keybench/rng.h>

static void refill(struct kb_rng *r)
{
    static const uint8_t zeros[64];
    crypto_stream_chacha20_ietf_xor_ic(r->buf, zeros, sizeof r->buf, r->nonce, r->counter, r->key);
    r->counter++;
    r->pos = 0;
}

void kb_rng_init(struct kb_rng *r, const uint8_t key[32], uint64_t stream)
{
    memcpy(r->key, key, 32);
    memset(r->nonce, 0, sizeof r->nonce);
    for (int i = 0; i < 8; i++)
        r->nonce[4 + i] = (uint8_t)(stream >> (8 * i));
    r->counter = 0;
    r->pos = sizeof r->buf; /* refill on first use */
}

void kb_rng_init_seed(struct kb_rng *r, uint64_t seed, const char *domain)
{
    static const char label[] = "keybench.seed.v1";
    uint8_t key[32], le[8];
    for (int i = 0; i < 8; i++)
        le[i] = (uint8_t)(seed >> (8 * i));
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, sizeof key);
    crypto_generichash_update(&st, (const uint8_t *)label, sizeof label); /* with its NUL */
    crypto_generichash_update(&st, (const uint8_t *)domain, strlen(domain) + 1);
    crypto_generichash_update(&st, le, sizeof le);
    crypto_generichash_final(&st, key, sizeof key);
    kb_rng_init(r, key, 0);
    sodium_memzero(key, sizeof key);
}

void kb_rng_bytes(struct kb_rng *r, void *out, size_t n)
{
    uint8_t *o = out;
    while (n > 0) {
        if (r->pos == sizeof r->buf)
            refill(r);
        size_t take = sizeof r->buf - r->pos;
        if (take > n)
            take = n;
        memcpy(o, r->buf + r->pos, take);
        r->pos += (unsigned)take;
        o += take;
        n -= take;
    }
}

uint32_t kb_rng_u32(struct kb_rng *r)
{
    uint8_t b[4];
    kb_rng_bytes(r, b, 4);
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

uint64_t kb_rng_u64(struct kb_rng *r)
{
    uint64_t lo = kb_rng_u32(r);
    return lo | (uint64_t)kb_rng_u32(r) << 32;
}

uint32_t kb_rng_uniform(struct kb_rng *r, uint32_t bound)
{
    if (bound <= 1)
        return 0;
    /* Reject the low (2^32 mod bound) values so every residue is equally likely. */
    uint32_t threshold = (uint32_t)(-bound) % bound;
    for (;;) {
        uint32_t x = kb_rng_u32(r);
        if (x >= threshold)
            return x % bound;
    }
}

double kb_rng_double(struct kb_rng *r)
{
    return (double)(kb_rng_u64(r) >> 11) * 0x1.0p-53;
}

void kb_rng_shuffle(struct kb_rng *r, uint32_t *a, uint32_t n)
{
    for (uint32_t i = n; i > 1; i--) {
        uint32_t j = kb_rng_uniform(r, i);
        uint32_t t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

void kb_rng_permutation(struct kb_rng *r, uint32_t *perm, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        perm[i] = i;
    kb_rng_shuffle(r, perm, n);
}

void kb_rng_wipe(struct kb_rng *r)
{
    sodium_memzero(r, sizeof *r);
}

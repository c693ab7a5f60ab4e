/* FFX (radix 10), pyffx 0.3-compatible, with OpenSSL's HMAC-SHA1. */
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "ffx_core.h"

/* f[0..nf) := the first nf decimal digits (least significant first) of the
 * round function F(i, b[0..nb)). One SHA-1 value gives 48 digits (pyffx's
 * chars_per_hash = int(20·log_10(256))), more than KBT_FFX_MAX_DIGITS. */
static int ffx_round(uint8_t *f, size_t nf, const uint8_t *password, size_t password_len,
                     uint32_t i, const uint8_t *b, size_t nb)
{
    uint8_t msg[4 * (KBT_FFX_MAX_DIGITS + 2)];
    size_t len = 0;
    uint32_t words[KBT_FFX_MAX_DIGITS + 2];
    size_t nw = 0;
    words[nw++] = i;
    for (size_t j = 0; j < nb; j++)
        words[nw++] = b[j];
    words[nw++] = 0; /* pyffx's hash counter */
    for (size_t w = 0; w < nw; w++) {
        msg[len++] = (uint8_t)words[w];
        msg[len++] = (uint8_t)(words[w] >> 8);
        msg[len++] = (uint8_t)(words[w] >> 16);
        msg[len++] = (uint8_t)(words[w] >> 24);
    }
    uint8_t d[EVP_MAX_MD_SIZE];
    unsigned dlen = 0;
    if (!HMAC(EVP_sha1(), password, (int)password_len, msg, len, d, &dlen) || dlen != 20)
        return -1;
    for (size_t t = 0; t < nf; t++) {
        unsigned rem = 0;
        for (unsigned j = 0; j < dlen; j++) { /* d := d / 10 (big-endian), rem := d mod 10 */
            unsigned cur = rem * 256u + d[j];
            d[j] = (uint8_t)(cur / 10u);
            rem = cur % 10u;
        }
        f[t] = (uint8_t)rem;
    }
    return 0;
}

static int ffx_digits(uint8_t *dig, uint32_t x, unsigned n)
{
    for (unsigned t = n; t > 0; t--) {
        dig[t - 1] = (uint8_t)(x % 10u);
        x /= 10u;
    }
    return x == 0 ? 0 : -1; /* x had more than n digits */
}

static uint32_t ffx_value(const uint8_t *dig, unsigned n)
{
    uint32_t v = 0;
    for (unsigned t = 0; t < n; t++)
        v = v * 10u + dig[t];
    return v;
}

int kbt_ffx_encrypt(uint32_t *out, const uint8_t *password, size_t password_len,
                    uint32_t x, unsigned n, unsigned rounds)
{
    if (n < 1 || n > KBT_FFX_MAX_DIGITS || password_len > (size_t)INT32_MAX)
        return -1;
    uint8_t v[KBT_FFX_MAX_DIGITS], a[KBT_FFX_MAX_DIGITS], b[KBT_FFX_MAX_DIGITS];
    uint8_t c[KBT_FFX_MAX_DIGITS], f[KBT_FFX_MAX_DIGITS];
    if (ffx_digits(v, x, n) < 0)
        return -1;
    size_t na = n / 2, nb = n - na;
    memcpy(a, v, na);
    memcpy(b, v + na, nb);
    for (unsigned i = 0; i < rounds; i++) {
        if (ffx_round(f, na, password, password_len, i, b, nb) < 0)
            return -1;
        for (size_t j = 0; j < na; j++)
            c[j] = (uint8_t)((a[j] + f[j]) % 10u);
        /* (a, b) := (b, c) */
        memcpy(a, b, nb);
        memcpy(b, c, na);
        size_t t = na;
        na = nb;
        nb = t;
    }
    memcpy(v, a, na);
    memcpy(v + na, b, nb);
    *out = ffx_value(v, n);
    return 0;
}

int kbt_ffx_decrypt(uint32_t *out, const uint8_t *password, size_t password_len,
                    uint32_t y, unsigned n, unsigned rounds)
{
    if (n < 1 || n > KBT_FFX_MAX_DIGITS || password_len > (size_t)INT32_MAX)
        return -1;
    uint8_t v[KBT_FFX_MAX_DIGITS], a[KBT_FFX_MAX_DIGITS], b[KBT_FFX_MAX_DIGITS];
    uint8_t c[KBT_FFX_MAX_DIGITS], f[KBT_FFX_MAX_DIGITS];
    if (ffx_digits(v, y, n) < 0)
        return -1;
    /* lengths after `rounds` rounds: they alternate starting from n/2 | n-n/2 */
    size_t na = (rounds % 2 == 0) ? n / 2 : n - n / 2, nb = n - na;
    memcpy(a, v, na);
    memcpy(b, v + na, nb);
    for (unsigned i = rounds; i-- > 0;) {
        /* encrypt did (a, b) := (b, a + F(i, b)); undo: b_old = a, a_old = b - F(i, a) */
        memcpy(c, b, nb);   /* c = a_old + F(i, b_old), length nb */
        size_t nc = nb;
        memcpy(b, a, na);   /* b_old */
        nb = na;
        if (ffx_round(f, nc, password, password_len, i, b, nb) < 0)
            return -1;
        for (size_t j = 0; j < nc; j++)
            a[j] = (uint8_t)((c[j] + 10u - f[j]) % 10u);
        na = nc;
    }
    memcpy(v, a, na);
    memcpy(v + na, b, nb);
    *out = ffx_value(v, n);
    return 0;
}

int kbt_ffx_table(uint16_t table[256], const uint8_t *password, size_t password_len)
{
    for (uint32_t v = 0; v < 256; v++) {
        uint32_t y;
        if (kbt_ffx_encrypt(&y, password, password_len, v, 3, 10) < 0)
            return -1;
        table[v] = (uint16_t)y;
    }
    return 0;
}

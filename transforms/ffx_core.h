/* transforms/ffx_core.h — FFX format-preserving encryption, radix 10,
 * compatible with the reference Python library pyffx 0.3 (internal to
 * transforms/; the tests compile ffx_core.c too).
 *
 *     uint32_t y;
 *     kbt_ffx_encrypt(&y, (const uint8_t *)"secret-key", 10, 1234, 4, 10);   // y == 6103
 *
 * The value is written as a zero-padded n-digit decimal string and split into
 * a (the first n/2 digits) and b (the rest). Round i = 0..rounds-1:
 * c[j] = (a[j] + F(i, b)[j]) mod 10 for j < len(a); (a, b) := (b, c).
 * F(i, b): HMAC-SHA1(password, u32le(i) ‖ u32le(b[0]) ‖ … ‖ u32le(b[last]) ‖
 * u32le(0)) read as a big-endian integer d; digits d mod 10, (d/10) mod 10, …
 * (least significant first). Output: a then b as a decimal integer.
 * Decryption runs the rounds backwards with subtraction mod 10. */
#ifndef KB_TRANSFORMS_FFX_CORE_H
#define KB_TRANSFORMS_FFX_CORE_H

#include <stddef.h>
#include <stdint.h>

#define KBT_FFX_MAX_DIGITS 9   /* values up to 10^9 - 1 fit a uint32 */

/* out := FFX_encrypt(password, x) on n digits (1 <= n <= 9, x < 10^n) with
 * `rounds` rounds (pyffx: 10; must be even for pyffx's split on decrypt).
 * Returns 0, or -1 on a bad argument or an HMAC failure. */
int kbt_ffx_encrypt(uint32_t *out, const uint8_t *password, size_t password_len,
                    uint32_t x, unsigned n, unsigned rounds);
int kbt_ffx_decrypt(uint32_t *out, const uint8_t *password, size_t password_len,
                    uint32_t y, unsigned n, unsigned rounds);

/* The authors' lookup table: table[v] = FFX_encrypt(password, v) on 3 digits,
 * 10 rounds, for v = 0..255 (256 distinct values in 0..999). */
int kbt_ffx_table(uint16_t table[256], const uint8_t *password, size_t password_len);

/* The ffx plugin's key layout (plain bytes, native-endian uint16; no
 * alignment assumed):
 *   [KBT_FFX_OFF_TABLE,    +512)   table[256]: 8-bit value -> 3-digit code
 *   [KBT_FFX_OFF_INVERSE,  +2000)  inverse[1000]: code -> value, 0xFFFF if none
 *   [KBT_FFX_OFF_MAX,      +2)     max(table)
 *   [KBT_FFX_OFF_PASSWORD, +256)   the password, NUL-padded (at most 255 bytes)
 *   [KBT_FFX_OFF_BITS,     +L)     the bit vector, one 0/1 byte per in-block index */
#define KBT_FFX_OFF_TABLE 0u
#define KBT_FFX_OFF_INVERSE 512u
#define KBT_FFX_OFF_MAX 2512u
#define KBT_FFX_OFF_PASSWORD 2514u
#define KBT_FFX_PASSWORD_MAX 255u
#define KBT_FFX_OFF_BITS (KBT_FFX_OFF_PASSWORD + KBT_FFX_PASSWORD_MAX + 1u)
#define KBT_FFX_NO_VALUE 0xFFFFu

#endif

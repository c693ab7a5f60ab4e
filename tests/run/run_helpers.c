/* Fixtures shared by the runner tests. */
#include <criterion/criterion.h>
#include <stdio.h>

#include "run_helpers.h"

static void put_be32(FILE *f, uint32_t v)
{
    uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
    fwrite(b, 1, 4, f);
}

/* 16×16 gray images, 4 classes: class k is bright in quadrant k, plus noise. */
void write_idx_pair(const char *data_dir, const char *prefix, uint32_t n, uint32_t seed)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s-images-idx3-ubyte", data_dir, prefix);
    FILE *fi = fopen(p, "wb");
    snprintf(p, sizeof p, "%s/%s-labels-idx1-ubyte", data_dir, prefix);
    FILE *fl = fopen(p, "wb");
    cr_assert(fi && fl);
    put_be32(fi, 0x803), put_be32(fi, n), put_be32(fi, 16), put_be32(fi, 16);
    put_be32(fl, 0x801), put_be32(fl, n);
    uint32_t s = seed * 2654435761u + 1;
    for (uint32_t i = 0; i < n; i++) {
        uint8_t label = (uint8_t)(i % 4);
        fputc(label, fl);
        for (int y = 0; y < 16; y++)
            for (int x = 0; x < 16; x++) {
                s = s * 1664525u + 1013904223u;
                int q = (y >= 8) * 2 + (x >= 8);
                int v = (int)((s >> 24) % 90) + (q == label ? 150 : 0);
                fputc(v > 255 ? 255 : v, fi);
            }
    }
    fclose(fi);
    fclose(fl);
}


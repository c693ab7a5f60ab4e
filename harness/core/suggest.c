/* "Did you mean" suggestions: optimal-string-alignment edit distance. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>

#include <keybench/common.h>

static size_t min3(size_t a, size_t b, size_t c)
{
    size_t m = a < b ? a : b;
    return m < c ? m : c;
}

/* Case-insensitive OSA distance (adjacent transpositions count as one edit). */
static size_t edit_distance(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    if (n > 64 || m > 64)
        return (size_t)-1;
    size_t d[65][65];
    for (size_t i = 0; i <= n; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= m; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= n; i++) {
        for (size_t j = 1; j <= m; j++) {
            int ca = tolower((unsigned char)a[i - 1]), cb = tolower((unsigned char)b[j - 1]);
            size_t cost = ca == cb ? 0 : 1;
            d[i][j] = min3(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
            if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
                tolower((unsigned char)a[i - 2]) == cb && d[i - 2][j - 2] + 1 < d[i][j])
                d[i][j] = d[i - 2][j - 2] + 1;
        }
    }
    return d[n][m];
}

int kb_suggest(char *out, size_t out_size, const char *name, const char *const *candidates,
               size_t n_candidates)
{
    if (out_size)
        out[0] = '\0';
    size_t len = strlen(name);
    size_t limit = len / 3 > 2 ? len / 3 : 2;
    size_t best[3] = {0}, dist[3];
    int count = 0;
    for (size_t i = 0; i < n_candidates; i++) {
        if (!candidates[i])
            continue;
        size_t d = edit_distance(name, candidates[i]);
        /* A candidate that starts with the name (a truncation) is a good guess too. */
        if (d > limit && len >= 3 && strncmp(candidates[i], name, len) == 0)
            d = limit;
        if (d > limit)
            continue;
        int pos = count;
        while (pos > 0 && dist[pos - 1] > d)
            pos--;
        if (pos >= 3)
            continue;
        for (int k = (count < 3 ? count : 2); k > pos; k--) {
            best[k] = best[k - 1];
            dist[k] = dist[k - 1];
        }
        best[pos] = i;
        dist[pos] = d;
        if (count < 3)
            count++;
    }
    size_t used = 0;
    for (int k = 0; k < count && out_size; k++) {
        int w = snprintf(out + used, out_size - used, "%s'%s'", k ? ", " : "", candidates[best[k]]);
        if (w < 0 || (size_t)w >= out_size - used)
            break;
        used += (size_t)w;
    }
    return count;
}

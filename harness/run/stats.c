/* Statistics shared by the runner and every report. */
#include <math.h>

#include <keybench/journal.h>

void kb_wilson(double *lo, double *hi, double k, double n, double z)
{
    if (n <= 0) {
        *lo = 0.0;
        *hi = 1.0;
        return;
    }
    double p = k / n, z2 = z * z;
    double denom = 1.0 + z2 / n;
    double center = (p + z2 / (2.0 * n)) / denom;
    double half = z * sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n)) / denom;
    *lo = center - half < 0.0 ? 0.0 : center - half;
    *hi = center + half > 1.0 ? 1.0 : center + half;
}

void kb_summary(double *mean, double *std, double *min, double *max, const double *x, size_t n)
{
    double s = 0.0, lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        s += x[i];
        lo = x[i] < lo ? x[i] : lo;
        hi = x[i] > hi ? x[i] : hi;
    }
    double m = n ? s / (double)n : NAN;
    double v = 0.0;
    for (size_t i = 0; i < n; i++)
        v += (x[i] - m) * (x[i] - m);
    if (mean)
        *mean = m;
    if (std)
        *std = n > 1 ? sqrt(v / (double)(n - 1)) : 0.0;
    if (min)
        *min = n ? lo : NAN;
    if (max)
        *max = n ? hi : NAN;
}

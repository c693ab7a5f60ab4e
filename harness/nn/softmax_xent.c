/* softmax_xent.c — softmax + cross-entropy with PyTorch's label smoothing:
 * target distribution (1−s)·onehot(y) + s/M, loss = −Σ t·log softmax, mean over N. */
#include <math.h>

#include <keybench/nn.h>

double kb_softmax_xent_forward(float *probs, const float *logits, const int32_t *targets,
                               int64_t n, int64_t m, float smoothing)
{
    double total = 0.0;
    for (int64_t i = 0; i < n; i++) {
        const float *x = logits + (size_t)i * (size_t)m;
        float *pr = probs + (size_t)i * (size_t)m;
        float mx = x[0];
        for (int64_t j = 1; j < m; j++)
            if (x[j] > mx)
                mx = x[j];
        double sum = 0.0, sumx = 0.0;
        for (int64_t j = 0; j < m; j++) {
            double e = exp((double)x[j] - (double)mx);
            pr[j] = (float)e;
            sum += e;
            sumx += (double)x[j] - (double)mx;
        }
        double lse = log(sum);   /* log Σ exp(x − max) */
        for (int64_t j = 0; j < m; j++)
            pr[j] = (float)((double)pr[j] / sum);
        double nll = -((double)x[targets[i]] - (double)mx - lse);
        double smooth = -(sumx - (double)m * lse) / (double)m;  /* mean of −log p_j */
        total += (1.0 - (double)smoothing) * nll + (double)smoothing * smooth;
    }
    return total / (double)n;
}

void kb_softmax_xent_backward(float *dlogits, const float *probs, const int32_t *targets,
                              int64_t n, int64_t m, float smoothing)
{
    float invn = 1.0f / (float)n;
    float off = smoothing / (float)m;
    float on = 1.0f - smoothing + off;
    for (int64_t i = 0; i < n; i++) {
        const float *pr = probs + (size_t)i * (size_t)m;
        float *d = dlogits + (size_t)i * (size_t)m;
        for (int64_t j = 0; j < m; j++) {
            float t = j == targets[i] ? on : off;
            d[j] += (pr[j] - t) * invn;
        }
    }
}

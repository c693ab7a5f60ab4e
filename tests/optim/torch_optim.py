#!/usr/bin/python3
"""PyTorch side of tests/optim/test_optim_torch.c.

usage: torch_optim.py DIR
DIR/spec.txt:   line 1 "kind lr momentum nesterov weight_decay beta1 beta2 eps steps";
                line 2 the tensor sizes; line 3 the per-step lr multipliers.
DIR/p0.f32:     initial parameters (all tensors, concatenated, float32 little-endian)
DIR/g.f32:      gradients for every step (steps × all tensors)
Writes DIR/out.f32: parameters after the steps. Exit 3 if torch is missing.
"""
import array
import sys

try:
    import torch
except ImportError:
    sys.exit(3)


def read_f32(path):
    a = array.array("f")
    with open(path, "rb") as f:
        a.frombytes(f.read())
    if sys.byteorder != "little":
        a.byteswap()
    return a


def main():
    d = sys.argv[1]
    with open(d + "/spec.txt") as f:
        lines = f.read().split("\n")
    kind, lr, mom, nest, wd, b1, b2, eps, steps = lines[0].split()
    lr, mom, wd, b1, b2, eps = map(float, (lr, mom, wd, b1, b2, eps))
    nest, steps = nest == "1", int(steps)
    sizes = [int(x) for x in lines[1].split()]
    mults = [float(x) for x in lines[2].split()]
    p0 = read_f32(d + "/p0.f32")
    g = read_f32(d + "/g.f32")
    total = sum(sizes)
    params, off = [], 0
    for n in sizes:
        params.append(torch.tensor(p0[off:off + n], dtype=torch.float32).requires_grad_())
        off += n
    if kind == "sgd":
        opt = torch.optim.SGD(params, lr=lr, momentum=mom, nesterov=nest, weight_decay=wd)
    elif kind == "adam":
        opt = torch.optim.Adam(params, lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd)
    else:
        opt = torch.optim.AdamW(params, lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd)
    for s in range(steps):
        off = s * total
        for p, n in zip(params, sizes):
            p.grad = torch.tensor(g[off:off + n], dtype=torch.float32)
            off += n
        for group in opt.param_groups:
            group["lr"] = lr * mults[s]
        opt.step()
    out = array.array("f")
    for p in params:
        out.extend(p.detach().tolist())
    if sys.byteorder != "little":
        out.byteswap()
    with open(d + "/out.f32", "wb") as f:
        f.write(out.tobytes())


if __name__ == "__main__":
    main()

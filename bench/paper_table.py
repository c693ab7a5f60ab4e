#!/usr/bin/env python3
"""Mean ± std over seeds of a keybench run's summary.csv, per backbone (and
patch) × transform × block size: unprotected, correct key, plain, wrong key.

  bench/paper_table.py runs/paper-fmnist/summary.csv [runs/paper-fmnist/results.csv]

Reads only keybench's derived CSVs (the journal is the source of truth:
`keybench report RUN_DIR` rebuilds them). Prints a Markdown table."""
import csv
import re
import statistics
import sys


def cell_parts(name):
    # dataset/backbone[-params]/transform[-params]/sSEED
    _, backbone, transform, seed = name.split("/")
    m = re.search(r"block_size=(\d+)", transform)
    block = m.group(1) if m else "-"
    tname = transform.split("-")[0]
    return backbone, tname, block, seed


def fmt(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return "-"
    m = statistics.mean(xs) * 100
    s = statistics.stdev(xs) * 100 if len(xs) > 1 else 0.0
    return f"{m:.2f} ± {s:.2f} (n={len(xs)})"


def main():
    rows = {}
    with open(sys.argv[1]) as f:
        for r in csv.DictReader(f):
            b, t, blk, seed = cell_parts(r["cell_name"])
            if t == "none":
                blk = "-"
            key = (b, t, blk)
            d = rows.setdefault(key, {"unprotected": [], "correct_key": [], "plain": [],
                                      "wrong_key_mean": []})
            for k in d:
                d[k].append(float(r[k]) if r[k] else None)
    print("| backbone | transform | block | unprotected | correct key | plain | wrong key |")
    print("|---|---|---|---|---|---|---|")
    order = {"none": 0, "pixel_shuffle": 1, "negpos": 2, "ffx": 3, "block_scramble": 4}
    for (b, t, blk) in sorted(rows, key=lambda k: (k[0], k[2], order.get(k[1], 9))):
        d = rows[(b, t, blk)]
        print(f"| {b} | {t} | {blk} | {fmt(d['unprotected'])} | {fmt(d['correct_key'])} | "
              f"{fmt(d['plain'])} | {fmt(d['wrong_key_mean'])} |")


if __name__ == "__main__":
    main()

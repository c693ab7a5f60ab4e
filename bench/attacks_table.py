#!/usr/bin/env python3
"""Every attack's result per backbone × transform × block size, and the wall
time each attack took, from a keybench run's journal(s).

  bench/attacks_table.py runs/attacks-fmnist/journal*.jsonl

Reads only the journal (the source of truth). Accuracies are % on the cell's
test split; one value per cell (a run over several seeds prints mean ± std).
An attack's wall time is the time between its last journal record and the
last record before it (records carry `wall_s`, seconds since the cell began),
so it includes the attack's own evaluations. Prints Markdown tables."""
import collections
import json
import re
import statistics
import sys


def cell_key(r):
    backbone = r["cell_name"].split("/")[1]
    tp = r.get("transform_params") or {}
    return backbone, r["transform"], tp.get("block_size", "-")


def fmt(xs, scale=100.0, digits=1):
    xs = [x * scale for x in xs if x is not None]
    if not xs:
        return "-"
    if len(xs) == 1:
        return f"{xs[0]:.{digits}f}"
    return f"{statistics.mean(xs):.{digits}f} ± {statistics.stdev(xs):.{digits}f}"


def main(paths):
    recs = []
    for p in paths:
        with open(p) as f:
            for line in f:
                line = line.strip()
                if line:
                    recs.append(json.loads(line))
    meas = [r for r in recs if r.get("type") == "measurement"]
    # last record wins (a re-evaluated cell after a kill), as keybench's CSVs do
    last = {}
    for r in meas:
        last[(r["cell"], r["condition"], r["metric"], r.get("class"), r.get("variant"))] = r
    meas = list(last.values())

    vals = collections.defaultdict(list)       # (cell key, condition, metric, variant) -> values
    extra = {}
    for r in meas:
        k = (cell_key(r), r["condition"], r["metric"], r.get("variant"))
        if r.get("class") is None:
            vals[k].append(r["value"])
            extra[k] = r
    cells = sorted({cell_key(r) for r in meas}, key=lambda c: (c[0], c[1], str(c[2])))

    def v(c, cond, metric, variant=None, scale=100.0, digits=1):
        return fmt(vals.get((c, cond, metric, variant), []), scale, digits)

    print("| backbone | transform | M | correct key | plain | wrong key (10 keys) | "
          "brute force: key bits | fine-tune n=1000: stolen / pretrained / scratch | "
          "key est. random (agreement) | key est. heuristic (agreement) | "
          "key est. bit-flip (agreement) | PGD white box / plain (clean) |")
    print("|" + "---|" * 12)
    for c in cells:
        b, t, m = c
        ft = " / ".join(v(c, "attack:fine_tune", f"accuracy_from_{w}", "n=1000")
                        for w in ("protected", "pretrained", "scratch"))
        ke = []
        for mode in ("random", "heuristic", "bitflip"):
            acc = v(c, "attack:key_estimation", f"accuracy_{mode}")
            ag = v(c, "attack:key_estimation", f"key_agreement_{mode}", scale=1.0, digits=2)
            r = extra.get((c, "attack:key_estimation", f"accuracy_{mode}", None))
            capped = " capped" if r and r.get("capped") else ""
            ke.append("-" if acc == "-" else f"{acc} ({ag}, {int(r['evaluations'])} ev{capped})")
        wk = vals.get((c, "attack:wrong_key", "accuracy", None), [])
        r = extra.get((c, "attack:wrong_key", "accuracy", None))
        wks = "-"
        if r and "min" in r:
            wks = f"{fmt(wk)} [{r['min'] * 100:.1f}–{r['max'] * 100:.1f}]"
        pgd = "-"
        wb = v(c, "attack:pgd", "robust_accuracy_whitebox")
        if wb != "-":
            pgd = (f"{wb} / {v(c, 'attack:pgd', 'robust_accuracy_plain')} "
                   f"({v(c, 'attack:pgd', 'clean_accuracy_whitebox')})")
        print(f"| {b} | {t} | {m} | {v(c, 'correct_key', 'accuracy')} | "
              f"{v(c, 'attack:plain', 'accuracy')} | {wks} | "
              f"{v(c, 'attack:brute_force', 'keyspace_bits', scale=1.0)} | {ft} | "
              f"{ke[0]} | {ke[1]} | {ke[2]} | {pgd} |")

    # fine-tune attack at every n: stolen / pretrained / scratch
    sizes = sorted({int(k[3][2:]) for k in vals
                    if k[1] == "attack:fine_tune" and k[3] and k[3].startswith("n=")})
    if sizes:
        print()
        print("Fine-tune attack, accuracy (%) on plain test images after fine-tuning on n plain "
              "images: stolen protected model / public pretrained weights / from scratch:")
        print()
        print("| backbone | transform | M | " + " | ".join(f"n={n}" for n in sizes) + " |")
        print("|" + "---|" * (len(sizes) + 3))
        for c in cells:
            cols = [" / ".join(v(c, "attack:fine_tune", f"accuracy_from_{w}", f"n={n}")
                               for w in ("protected", "pretrained", "scratch")) for n in sizes]
            print(f"| {c[0]} | {c[1]} | {c[2]} | " + " | ".join(cols) + " |")

    # jigsaw (ciphertext-only): per image and joint over the attacked images
    if any(k[1] == "attack:jigsaw" for k in vals):
        print()
        print("Jigsaw: blocks placed correctly / neighbours correct (%), and the public "
              "pretrained model's accuracy (%) on plain, encrypted and reassembled images:")
        print()
        print("| backbone | transform | M | per image: placed / neighbours | joint: placed / "
              "neighbours | pretrained on plain / encrypted / per-image / joint |")
        print("|---|---|---|---|---|---|")
        j = "attack:jigsaw"
        for c in cells:
            if not vals.get((c, j, "placement_accuracy", None)):
                continue
            print(f"| {c[0]} | {c[1]} | {c[2]} | "
                  f"{v(c, j, 'placement_accuracy')} / {v(c, j, 'neighbor_accuracy')} | "
                  f"{v(c, j, 'joint_placement_accuracy')} / {v(c, j, 'joint_neighbor_accuracy')} | "
                  f"{v(c, j, 'pretrained_accuracy_plain')} / {v(c, j, 'pretrained_accuracy_encrypted')}"
                  f" / {v(c, j, 'pretrained_accuracy_reassembled')} / "
                  f"{v(c, j, 'pretrained_accuracy_joint')} |")

    # PGD: clean → robust accuracy per setting, where any setting ran
    settings = [s for s in ("whitebox", "whitebox_plain", "plain", "surrogate", "eot", "transfer")
                if any(k[1] == "attack:pgd" and k[2] == f"robust_accuracy_{s}" for k in vals)]
    if settings:
        print()
        print("PGD, clean → robust accuracy (%) on the same images, per setting:")
        print()
        print("| backbone | transform | M | " + " | ".join(settings) + " |")
        print("|" + "---|" * (len(settings) + 3))
        for c in cells:
            cols = []
            for st in settings:
                cl = v(c, "attack:pgd", f"clean_accuracy_{st}", digits=0)
                rb = v(c, "attack:pgd", f"robust_accuracy_{st}", digits=0)
                cols.append("-" if rb == "-" else f"{cl} → {rb}")
            print(f"| {c[0]} | {c[1]} | {c[2]} | " + " | ".join(cols) + " |")

    # wall time per attack, from the wall_s stamps of each cell's records
    times = collections.defaultdict(dict)          # cell key -> attack -> seconds
    by_cell = collections.defaultdict(list)
    for r in meas:
        if r.get("wall_s") is not None:
            by_cell[r["cell"]].append(r)
    order = []
    for cell, rs in by_cell.items():
        rs.sort(key=lambda r: r["wall_s"])
        prev = max((r["wall_s"] for r in rs if not r["condition"].startswith("attack:")),
                   default=0.0)
        ends = collections.OrderedDict()
        for r in rs:
            if r["condition"].startswith("attack:"):
                ends[r["condition"][7:]] = r["wall_s"]
        for name, end in ends.items():
            times[cell_key(rs[0])][name] = end - prev
            prev = end
            if name not in order:
                order.append(name)
    print()
    print("Wall time of each attack, seconds:")
    print()
    print("| backbone | transform | M | " + " | ".join(order) + " | all |")
    print("|" + "---|" * (len(order) + 4))
    total = collections.defaultdict(float)
    for c in cells:
        t = times.get(c, {})
        for n in order:
            total[n] += t.get(n, 0.0)
        print(f"| {c[0]} | {c[1]} | {c[2]} | " +
              " | ".join(f"{t[n]:.0f}" if n in t else "-" for n in order) +
              f" | {sum(t.values()):.0f} |")
    print("| **all cells** | | | " + " | ".join(f"{total[n]:.0f}" for n in order) +
          f" | {sum(total.values()):.0f} |")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])

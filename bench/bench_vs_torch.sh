#!/usr/bin/env bash
# bench_vs_torch.sh — keybench against PyTorch, side by side, in one go.
#
# For each config (same model, input, batch and thread count) and each mode
# (train, infer) it runs `keybench bench --json` and the PyTorch reference
# (../shared/bench/torch_reference.py, Debian's python3-torch), each in its own
# process so that peak RSS belongs to that run alone, and prints one table:
# images/s of both and their ratio, peak RSS of both and their ratio, the
# convolutions' own GFLOP/s and cblas_sgemm's (1024², same threads, same run)
# and the fraction. Without torch the PyTorch columns say "-".
#
#   bench/bench_vs_torch.sh                         # every config, both modes
#   CONFIGS="r20_28 r20_32" MODES=train bench/bench_vs_torch.sh
#   bench/bench_vs_torch.sh --markdown table.md     # also write the table as Markdown
#
# Environment (defaults in brackets):
#   KEYBENCH   the keybench binary [build/harness/cli/keybench, else the first build*/ one]
#   TORCH_REF  the reference script [../shared/bench/torch_reference.py from the repo root]
#   PYTHON     the interpreter that sees python3-torch [/usr/bin/python3]
#   CONFIGS    configs [r20_28 r20_32 cnn_28 r18_32]   (cm_28 = convmixer is also known)
#   MODES      [train infer]   BATCH [128]   THREADS [2]   STEPS [10]   WARMUP [3]
#   MAX_SECONDS  per run [40]
#   REPEAT     run each keybench/PyTorch pair this many times, alternating [1]; the table
#              keeps each side's run with the best median (on a shared machine other work
#              only ever slows a run down, so the best run is the least disturbed one)
#   KB_ARGS    extra arguments for keybench bench (e.g. --no-layers)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

markdown=""
while [ $# -gt 0 ]; do
    case $1 in
    --markdown) markdown=$2; shift 2 ;;
    -h|--help) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench_vs_torch.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done

PYTHON=${PYTHON:-/usr/bin/python3}
TORCH_REF=${TORCH_REF:-$root/../shared/bench/torch_reference.py}
CONFIGS=${CONFIGS:-"r20_28 r20_32 cnn_28 r18_32"}
MODES=${MODES:-"train infer"}
BATCH=${BATCH:-128}
THREADS=${THREADS:-2}
STEPS=${STEPS:-10}
WARMUP=${WARMUP:-3}
MAX_SECONDS=${MAX_SECONDS:-40}
KB_ARGS=${KB_ARGS:-}
REPEAT=${REPEAT:-1}

if [ -z "${KEYBENCH:-}" ]; then
    for k in build/harness/cli/keybench build*/harness/cli/keybench; do
        case $k in *-san/*) continue ;; esac
        if [ -x "$k" ]; then KEYBENCH=$k; break; fi
    done
fi
if [ -z "${KEYBENCH:-}" ] || [ ! -x "$KEYBENCH" ]; then
    echo "bench_vs_torch.sh: no keybench binary; build first (meson setup build && meson compile -C build) or set KEYBENCH" >&2
    exit 1
fi
if ! command -v "$PYTHON" >/dev/null 2>&1 && [ ! -x "$PYTHON" ]; then
    echo "bench_vs_torch.sh: $PYTHON not found (set PYTHON); it also formats the table" >&2
    exit 1
fi
have_torch=1
if [ ! -f "$TORCH_REF" ]; then
    echo "bench_vs_torch.sh: $TORCH_REF not found (set TORCH_REF): PyTorch columns skipped" >&2
    have_torch=0
elif ! "$PYTHON" -c 'import torch' >/dev/null 2>&1; then
    echo "bench_vs_torch.sh: python3-torch is not installed for $PYTHON: PyTorch columns skipped" >&2
    echo "  (apt-get install -y python3-torch python3-torchvision)" >&2
    have_torch=0
fi

# config -> keybench backbone, input shape, --set options
kb_config() {
    case $1 in
    r20_28) echo "resnet20 1,28,28" ;;
    r20_32) echo "resnet20 3,32,32" ;;
    r18_32) echo "resnet18 3,32,32 --set stem=imagenet" ;;   # torchvision's resnet18, as the reference
    r18_224) echo "resnet18 3,224,224 --set stem=imagenet" ;;
    cnn_28) echo "cnn 1,28,28" ;;
    cm_28) echo "convmixer 1,28,28" ;;
    *) echo "bench_vs_torch.sh: unknown config '$1'" >&2; return 1 ;;
    esac
}

results=$(mktemp)
trap 'rm -f "$results"' EXIT
echo "keybench: $KEYBENCH   batch $BATCH, $THREADS threads, $STEPS timed steps after $WARMUP" >&2
for cfg in $CONFIGS; do
    spec=$(kb_config "$cfg") || exit 2
    read -r backbone shape extra <<<"$spec"
    for mode in $MODES; do
      for rep in $(seq 1 "$REPEAT"); do
        echo "  $cfg $mode: keybench ($rep/$REPEAT) ..." >&2
        # shellcheck disable=SC2086
        kb=$("$KEYBENCH" bench --backbone "$backbone" --in-shape "$shape" $extra --batch "$BATCH" \
                 --threads "$THREADS" --steps "$STEPS" --warmup "$WARMUP" \
                 --max-seconds "$MAX_SECONDS" --mode "$mode" --json $KB_ARGS) || {
            echo "bench_vs_torch.sh: keybench bench failed for $cfg $mode" >&2; kb="{}"; }
        th="{}"
        if [ $have_torch = 1 ]; then
            echo "  $cfg $mode: PyTorch ..." >&2
            th=$("$PYTHON" "$TORCH_REF" --config "$cfg" --mode "$mode" --threads "$THREADS" \
                     --warmup "$WARMUP" --iters "$STEPS" --max-seconds "$MAX_SECONDS" \
                     | sed -n 's/^RESULT //p') || th="{}"
            [ -n "$th" ] || th="{}"
        fi
        printf '%s\t%s\t%s\t%s\n' "$cfg" "$mode" "$kb" "$th" >>"$results"
      done
    done
done

"$PYTHON" - "$results" "$markdown" "$BATCH" "$THREADS" <<'EOF'
import json, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
md_path, batch, threads = sys.argv[2], sys.argv[3], sys.argv[4]

def f(v, fmt="{:.1f}"):
    return "-" if v is None else fmt.format(v)

def ratio(a, b):
    return None if a is None or b in (None, 0) else a / b

head = ["config", "mode", "keybench img/s", "PyTorch img/s", "ratio",
        "keybench RSS MiB", "PyTorch RSS MiB", "RSS ratio",
        "conv GFLOP/s", "sgemm GFLOP/s", "conv/sgemm", "model GFLOP/s/sgemm", "conv share"]
# best run of each side per (config, mode), in first-seen order
best = {}
def med(j, mode):
    return (j.get(mode) or {}).get("img_s_median") if mode in j else j.get("img_s_median")
for cfg, mode, kbs, ths in rows:
    kb, th = json.loads(kbs), json.loads(ths)
    b = best.setdefault((cfg, mode), [{}, {}, 0])
    b[2] += 1
    if (med(kb, mode) or 0) > (med(b[0], mode) or 0):
        b[0] = kb
    if (th.get("img_s_median") or 0) > (b[1].get("img_s_median") or 0):
        b[1] = th
table = []
core = ""
for (cfg, mode), (kb, th, runs) in best.items():
    k = kb.get(mode, {})
    core = kb.get("openblas_core", core)
    kips, tips = k.get("img_s_median"), th.get("img_s_median")
    krss, trss = k.get("maxrss_mib"), th.get("maxrss_mib")
    sg = kb.get("sgemm_1024_gflop_s")
    table.append([cfg, mode, f(kips), f(tips), f(ratio(kips, tips), "{:.2f}x"),
                  f(krss), f(trss), f(ratio(krss, trss), "{:.2f}"),
                  f(k.get("conv_gflop_s")), f(sg), f(k.get("conv_fraction_of_sgemm"), "{:.0%}"),
                  f(k.get("achieved_fraction_of_sgemm"), "{:.0%}"),
                  f(ratio(k.get("conv_ms_per_iter"), k.get("ms_per_iter_median")), "{:.0%}")])
w = [max(len(h), *(len(r[i]) for r in table)) if table else len(h) for i, h in enumerate(head)]
line = lambda r: "  ".join(c.rjust(w[i]) if i > 1 else c.ljust(w[i]) for i, c in enumerate(r))
print(line(head))
for r in table:
    print(line(r))
print(f"batch {batch}, {threads} threads; medians over the timed steps (best of {runs} run(s) per side); "
      f"OpenBLAS core {core or '?'}; "
      "RSS ratio = keybench/PyTorch peak RSS (lower is better); conv GFLOP/s: keybench's "
      "convolutions timed alone; model GFLOP/s: conv+linear FLOPs over the whole step; "
      "conv share: the convolutions' time / keybench's step time")
if md_path:
    with open(md_path, "w") as out:
        out.write("| " + " | ".join(head) + " |\n")
        out.write("|" + "---|" * len(head) + "\n")
        for r in table:
            out.write("| " + " | ".join(r) + " |\n")
EOF

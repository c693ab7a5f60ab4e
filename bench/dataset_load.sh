#!/bin/sh
# Time loading Fashion-MNIST (gzipped as installed, and decompressed), and
# each transform over the training set when the plugins are built.
#   bench/dataset_load.sh [BUILD_DIR]      (default: build)
set -eu
BUILD=${1:-build}
BIN=${BENCH_BIN:-$BUILD/bench/bench_dataset}
[ -x "$BIN" ] || { echo "dataset_load.sh: $BIN not built (ninja -C $BUILD bench/bench_dataset)" >&2; exit 1; }
SRC=${KEYBENCH_DATASETS:-/usr/share/datasets}/fashion-mnist
echo "== gzipped ($SRC)"
"$BIN" --dataset fashion-mnist --repeat 5
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
for f in "$SRC"/*.gz; do gzip -dc "$f" > "$TMP/$(basename "$f" .gz)"; done
echo "== decompressed (page cache warm)"
"$BIN" --dataset fashion-mnist --path "$TMP" --repeat 5 --no-transforms

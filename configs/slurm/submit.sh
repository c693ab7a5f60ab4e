#!/bin/bash
# Submit a keybench spec as a Slurm job array of N shards plus a merge job.
#   configs/slurm/submit.sh SPEC RUN_DIR N [key.path=value]...
# The master key must be shared by all shards: give the spec a `key:` file
# (keybench keygen -o FILE), or let the first shard create RUN_DIR/keybench.key
# (creation is atomic and never overwrites, so all shards end up with one key).
set -euo pipefail
spec=$1 run=$2 n=$3
shift 3
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$run"
jid=$(sbatch --parsable --array=1-"$n" "$here/keybench-array.sbatch" "$spec" "$run" "$@")
sbatch --dependency=afterany:"$jid" "$here/keybench-merge.sbatch" "$run"
echo "submitted array job $jid ($n shards) and its merge job; results: $run/results.csv"

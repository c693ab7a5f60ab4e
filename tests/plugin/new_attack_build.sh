#!/bin/sh
# The attack scaffold end to end: installs keybench into a temp DESTDIR, runs
# the INSTALLED `keybench new-attack myattack DIR`, builds DIR against the
# installed keybench.pc, runs its Criterion test (when Criterion is found),
# and runs the installed keybench on a tiny synthetic spec with
# KEYBENCH_PLUGIN_PATH at DIR's build and `attacks: [myattack]`; the journal
# must hold the attack's metric. Usage: new_attack_build.sh SOURCE_ROOT BUILD_ROOT
set -eu
src=$1
build=$2
tmp=$(mktemp -d /tmp/kb-newattack-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "new_attack_build: $*" >&2; exit 1; }

DESTDIR="$tmp/dest" meson install -C "$build" --no-rebuild --quiet >"$tmp/install.log" 2>&1 ||
    { cat "$tmp/install.log" >&2; fail "meson install failed"; }
dest=$tmp/dest
bin=$(find "$dest" -path '*/bin/keybench' -type f | head -n 1)
pc=$(find "$dest" -name keybench.pc | head -n 1)
[ -n "$bin" ] || fail "no bin/keybench installed"
[ -n "$pc" ] || fail "no keybench.pc installed"
unset LD_LIBRARY_PATH

# Refusals: a bad name, an existing folder.
if "$bin" new-attack 9lives "$tmp/bad" 2>"$tmp/err.txt"; then fail "accepted the name 9lives"; fi
grep -q "invalid name" "$tmp/err.txt" || { cat "$tmp/err.txt" >&2; fail "no 'invalid name' message"; }
[ ! -e "$tmp/bad" ] || fail "a refused name left $tmp/bad behind"
mkdir "$tmp/taken"
if "$bin" new-attack myattack "$tmp/taken" 2>"$tmp/err.txt"; then fail "wrote into an existing folder"; fi
grep -q "already exists" "$tmp/err.txt" || { cat "$tmp/err.txt" >&2; fail "no 'already exists' message"; }

# Scaffold with the installed binary; the files are the tree's template with the name put in.
"$bin" new-attack myattack "$tmp/myattack" >"$tmp/new.log" 2>&1 ||
    { cat "$tmp/new.log" >&2; fail "keybench new-attack failed"; }
for f in README.md meson.build meson_options.txt; do
    sed 's/attack_template/myattack/g' "$src/plugins/attack-template/$f" | cmp -s - "$tmp/myattack/$f" ||
        fail "$f differs from plugins/attack-template/$f (rebuild keybench?)"
done
sed 's/attack_template/myattack/g' "$src/plugins/attack-template/attack_template.c" |
    cmp -s - "$tmp/myattack/myattack.c" || fail "myattack.c differs from the template"
sed 's/attack_template/myattack/g' "$src/plugins/attack-template/test_attack_template.c" |
    cmp -s - "$tmp/myattack/test_myattack.c" || fail "test_myattack.c differs from the template"

# Build it against the installed keybench.pc (with keybench's own sanitizers,
# if any: an uninstrumented test program cannot load an ASan libkeybench).
san=$(python3 -c 'import json, sys
opts = json.load(open(sys.argv[1]))
print(next((o["value"] for o in opts if o["name"] == "b_sanitize"), "none"))' \
    "$build/meson-info/intro-buildoptions.json" 2>/dev/null || echo none)
set --
[ "$san" = none ] || set -- "-Db_sanitize=$san" -Db_lundef=false
PKG_CONFIG_PATH=$(dirname "$pc") PKG_CONFIG_SYSROOT_DIR=$dest \
    meson setup "$@" "$tmp/mb" "$tmp/myattack" >"$tmp/setup.log" 2>&1 ||
    { cat "$tmp/setup.log" >&2; fail "meson setup of the generated plugin failed"; }
meson compile -C "$tmp/mb" >"$tmp/compile.log" 2>&1 ||
    { cat "$tmp/compile.log" >&2; fail "building the generated plugin failed"; }
[ -f "$tmp/mb/myattack.so" ] || fail "myattack.so was not built"
if [ -x "$tmp/mb/test_myattack" ]; then
    LD_LIBRARY_PATH=$(dirname "$(dirname "$pc")") meson test -C "$tmp/mb" --no-rebuild \
        >"$tmp/test.log" 2>&1 || { cat "$tmp/test.log" "$tmp/mb/meson-logs/testlog.txt" >&2; fail "the generated Criterion test failed"; }
    tested="its Criterion test passed"
else
    tested="no Criterion: test not built"
fi

# The installed keybench lists it and runs it in a tiny spec.
KEYBENCH_PLUGIN_PATH=$tmp/mb "$bin" plugins --json >"$tmp/plugins.json" 2>"$tmp/err.txt" ||
    { cat "$tmp/err.txt" >&2; fail "installed keybench plugins --json failed"; }
grep -q '"name": "myattack"' "$tmp/plugins.json" || { cat "$tmp/plugins.json" >&2; fail "myattack not listed"; }

mkdir -p "$tmp/spec/data"
python3 - "$tmp/spec/data" <<'PY'
import random, struct, sys
d = sys.argv[1]
rng = random.Random(7)
for prefix, n in (("train", 240), ("t10k", 60)):
    imgs, labels = bytearray(), bytearray()
    for i in range(n):
        k = i % 4
        labels.append(k)
        for y in range(16):
            for x in range(16):
                q = (y >= 8) * 2 + (x >= 8)
                imgs.append(min(255, rng.randrange(90) + (150 if q == k else 0)))
    open(f"{d}/{prefix}-images-idx3-ubyte", "wb").write(struct.pack(">IIII", 0x803, n, 16, 16) + imgs)
    open(f"{d}/{prefix}-labels-idx1-ubyte", "wb").write(struct.pack(">II", 0x801, n) + labels)
PY
cat >"$tmp/spec/s.yaml" <<YAML
name: s
dataset: {name: idx, path: data}
splits: {finetune: {fraction: 0.5}, attacker: {count: 40}}
backbone: {name: mlp, hidden: 16, depth: 1}
transform: [{name: block_scramble, block_size: 4}]
pretrain: {epochs: 1, batch_size: 32, lr: 0.05}
finetune: {epochs: 1, batch_size: 32, lr: 0.05}
evaluate: {wrong_keys: 1}
attacks: [{name: myattack, keys: 2}]
YAML
(cd "$tmp/spec" && KEYBENCH_PLUGIN_PATH=$tmp/mb "$bin" run s.yaml -o "$tmp/spec/run" --quiet --threads 1) \
    >"$tmp/run.log" 2>&1 || { cat "$tmp/run.log" >&2; fail "installed keybench run with myattack failed"; }
j=$tmp/spec/run/journal.jsonl
[ -f "$j" ] || fail "no journal"
grep '"condition":"attack:myattack"' "$j" | grep -q '"metric":"mean_random_key_accuracy"' ||
    { cat "$j" >&2; fail "the journal has no myattack/mean_random_key_accuracy record"; }
echo "new_attack_build: ok (myattack scaffolded by the installed keybench, built against keybench.pc, $tested, its metric is in the journal)"

#!/bin/sh
# Installs keybench into a temp DESTDIR, builds plugins/template against the
# installed keybench.pc and checks that the *installed* `keybench plugins
# --json` lists the template (and the installed plugins, from the installed
# plugin folder). Usage: template_build.sh SOURCE_ROOT BUILD_ROOT
set -eu
src=$1
build=$2
tmp=$(mktemp -d /tmp/kb-template-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "template_build: $*" >&2; exit 1; }

DESTDIR="$tmp/dest" meson install -C "$build" --no-rebuild --quiet >"$tmp/install.log" 2>&1 ||
    { cat "$tmp/install.log" >&2; fail "meson install failed"; }

dest=$tmp/dest
bin=$(find "$dest" -path '*/bin/keybench' -type f | head -n 1)
pc=$(find "$dest" -name keybench.pc | head -n 1)
[ -n "$bin" ] || fail "no bin/keybench installed"
[ -n "$pc" ] || fail "no keybench.pc installed"
libdir=$(dirname "$(dirname "$pc")")
[ -e "$libdir/libkeybench.so" ] || fail "no libkeybench.so in $libdir"
plugindir=$libdir/keybench/plugins
incdir=$(find "$dest" -type d -path '*/include/keybench' | head -n 1)
for h in common.h params.h rng.h secret.h registry.h safetensors.h plugin.h; do
    [ -f "$incdir/$h" ] || fail "header keybench/$h not installed (looked in $incdir)"
done

# Build the template out of tree against the installed keybench.pc.
PKG_CONFIG_PATH=$(dirname "$pc") PKG_CONFIG_SYSROOT_DIR=$dest \
    meson setup "$tmp/tb" "$src/plugins/template" >"$tmp/setup.log" 2>&1 ||
    { cat "$tmp/setup.log" >&2; fail "meson setup of plugins/template failed"; }
meson compile -C "$tmp/tb" >"$tmp/compile.log" 2>&1 ||
    { cat "$tmp/compile.log" >&2; fail "building plugins/template failed"; }
[ -f "$tmp/tb/template_xor.so" ] || fail "template_xor.so was not built"

# Run the installed binary: no LD_LIBRARY_PATH, it must find its own library.
unset LD_LIBRARY_PATH
KEYBENCH_PLUGIN_PATH=$tmp/tb "$bin" plugins --json >"$tmp/out.json" 2>"$tmp/err.txt" ||
    { cat "$tmp/err.txt" >&2; fail "installed keybench plugins --json failed"; }
grep -q '"name": "template_xor"' "$tmp/out.json" || { cat "$tmp/out.json" >&2; fail "template_xor not listed"; }
grep -q "\"file\": \"$tmp/tb/template_xor.so\"" "$tmp/out.json" || fail "template_xor file not listed"
# The installed binary searches the installed plugin folder, not the build tree.
grep -q "\"$plugindir\"" "$tmp/out.json" || { cat "$tmp/out.json" >&2; fail "search path lacks $plugindir"; }
if grep -q "\"$build/" "$tmp/out.json"; then cat "$tmp/out.json" >&2; fail "installed binary searched the build tree"; fi
# Every installed plugin is listed from the installed folder.
n=0
for so in "$plugindir"/*.so; do
    [ -e "$so" ] || continue
    grep -q "\"file\": \"$so\"" "$tmp/out.json" || fail "installed plugin $so not listed"
    n=$((n + 1))
done
echo "template_build: ok ($n installed plugin files, template_xor listed)"

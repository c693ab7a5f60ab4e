#!/usr/bin/env bash
# keybench report on the command line: the formats it writes, a two-run
# comparison, and bad input (one clear error line, a non-zero exit, nothing written).
# usage: test_report_cli.sh KEYBENCH MAKE_FIXTURE
set -uo pipefail
kb=$(realpath "$1") make_fixture=$(realpath "$2")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
"$make_fixture" . || exit 1
fail=0
check() {   # description, then a command that must succeed
  local what=$1; shift
  if "$@"; then echo "ok - $what"; else echo "not ok - $what"; fail=1; fi
}
# expect_error NAME PATTERN ARGS...: exit 1, exactly one stderr line matching PATTERN
expect_error() {
  local what=$1 pattern=$2; shift 2
  "$kb" report "$@" >out.txt 2>err.txt
  local rc=$? lines
  lines=$(wc -l <err.txt)
  if [ "$rc" -ne 0 ] && [ "$lines" -eq 1 ] && grep -q -- "$pattern" err.txt; then
    echo "ok - $what"
  else
    echo "not ok - $what (exit $rc, $lines stderr lines: $(head -c 300 err.txt))"; fail=1
  fi
}

check "report writes every format by default" \
  "$kb" report a -o all -q
for f in results.csv summary.csv report.md report.tex; do
  check "  $f written" test -s "all/$f"
done
check "--format md writes report.md only" "$kb" report a -o md-only --format md -q
check "  no report.tex" test ! -e md-only/report.tex
check "  no results.csv" test ! -e md-only/results.csv
check "two runs: the comparison table" "$kb" report a b -o cmp -q
check "  flags a difference" grep -q '^| negpos | 2 | correct\\_key | accuracy |  | 89.0 ± 1.4 | \*\*69.0 ± 1.4\*\* | yes |$' cmp/report.md
check "the summary table goes to stdout" sh -c "'$kb' report a -o s | grep -q 'wrong key'"

expect_error "not a run dir" "nowhere: no journal" nowhere
mkdir -p empty-run && : >empty-run/journal.jsonl
expect_error "empty journal" "empty-run: its journals hold no measurements" empty-run
cp -r a corrupt && sed -i '5s/.*/{"type": "measurement", oops/' corrupt/journal.jsonl
expect_error "corrupt journal line in the middle" "corrupt/journal.jsonl:5" corrupt -o corrupt-out
check "  nothing written" test ! -e corrupt-out
expect_error "unknown --format" "unknown format 'pdf'" a -o pdf-out --format csv,pdf
check "  nothing written" test ! -e pdf-out
expect_error "unknown option" "unknown option '--frobnicate'" a --frobnicate
expect_error "--format without its value" "--format needs a value" a --format
check "--format=LIST works too" "$kb" report a -o eq --format=tex -q
check "  report.tex only" test -s eq/report.tex -a ! -e eq/report.md
exit $fail

#!/usr/bin/env bash
# report.tex compiles inside a minimal article with booktabs (pdflatex from
# texlive; skipped, exit 77, where it is not installed): the fixture's run,
# two runs compared, the hostile strings, and a name of characters pdflatex
# cannot set.
# usage: test_report_tex.sh KEYBENCH MAKE_FIXTURE
set -uo pipefail
kb=$(realpath "$1") make_fixture=$(realpath "$2")
if ! command -v pdflatex >/dev/null || ! kpsewhich booktabs.sty >/dev/null; then
  echo "1..0 # SKIP pdflatex or booktabs.sty not installed (texlive-latex-base, texlive-latex-recommended)"
  exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
"$make_fixture" . || exit 1
# a run whose name pdflatex cannot set as it is: Greek, CJK, letters OT1
# lacks, control characters (^^A is refused, ^^L ends the caption)
cp -r a unicode
sed -i 's/"name": "fixture"/"name": "\\u03b1-sweep \\u4e2d \\u00abx\\u00bb \\u0001 \\u000c \\u00e9"/' unicode/plan.json
grep -q 'u03b1-sweep' unicode/plan.json || { echo "not ok - the unicode run's name"; exit 1; }
fail=0
n=0
for runs in "a" "a b" "hostile" "unicode"; do
  n=$((n + 1))
  # shellcheck disable=SC2086
  "$kb" report $runs -o "out$n" --format tex -q || { echo "not ok - report $runs"; fail=1; continue; }
  # \listoftables: the captions' short titles too (read back on the second pass)
  printf '%s\n' '\documentclass{article}' '\usepackage{booktabs}' '\begin{document}' \
    '\listoftables' '\input{report}' '\end{document}' >"out$n/wrapper.tex"
  if (cd "out$n" && pdflatex -interaction=nonstopmode -halt-on-error wrapper.tex >log.txt 2>&1 &&
      pdflatex -interaction=nonstopmode -halt-on-error wrapper.tex >log.txt 2>&1) &&
     [ -s "out$n/wrapper.pdf" ]; then
    echo "ok - report.tex of '$runs' compiles"
  else
    echo "not ok - report.tex of '$runs' does not compile:"
    grep -A3 '^!' "out$n/log.txt" | head -20
    fail=1
  fi
done
exit $fail

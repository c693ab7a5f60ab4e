#!/usr/bin/python3
"""report.html in a real browser (headless Chromium; Python stdlib only).

    html_browser.py KEYBENCH MAKE_REPORT_FIXTURE

Builds report.html from the fixed journals of fixture.c (run A, plus a
samples.png the test writes into one cell, and the hostile run), opens each
page in headless Chromium and checks:
  * no console message at all (the page has no script, so any message is an
    error); the checker is first shown to fail on a page with a broken script;
  * nothing is fetched: every src/href is a data: URI or a #fragment;
  * every id is unique (the charts' pattern ids are prefixed by their chart's);
  * the DOM (--dump-dom): the headline table's rows, one bar per non-empty
    headline value (unprotected, correct key, plain, wrong key), the charts,
    the embedded sample image, the sections; the hostile page has no <script>;
  * a screenshot of the page (a tall window, taken in the same launch),
    saved next to the build outputs as tests/report/report-screenshot.png;
    its path is printed.
Exit 77 (skipped) when chromium is not installed.
"""
import html.parser
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--no-first-run", "--hide-scrollbars"]


def fail(msg):
    print("html_browser: FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def chromium_binary():
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


def chromium(binary, profile, args, url):
    """Run headless Chromium on url; return (stdout, stderr)."""
    cmd = [binary] + CHROMIUM_FLAGS + ["--user-data-dir=" + profile] + args + [url]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        fail("chromium did not finish in 60 s: " + " ".join(cmd))
    if p.returncode != 0:
        fail("chromium exited %d: %s" % (p.returncode, p.stderr[-2000:]))
    return p.stdout, p.stderr


CONSOLE = re.compile(r":CONSOLE[^\]]*\] (.*)")


def console_messages(binary, profile, path, extra=()):
    """The DOM and every console message of the page (logged at --v=0)."""
    dom, log = chromium(binary, profile,
                        ["--enable-logging=stderr", "--v=0", "--dump-dom"] + list(extra),
                        "file://" + path)
    return dom, [m.group(1) for m in CONSOLE.finditer(log)]


class Dom(html.parser.HTMLParser):
    """The parts of the dumped DOM the checks need."""

    def __init__(self):
        super().__init__()
        self.stack = []          # open elements: (tag, attrs)
        self.tables = {}         # data-table -> list of rows, a row = list of cell texts
        self.table = None
        self.cell = None
        self.bars = 0
        self.charts = []         # svg ids
        self.images = []         # img src
        self.urls = []           # every src / href
        self.scripts = 0
        self.sections = []
        self.ids = []            # every id attribute

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag not in ("br", "img", "meta", "path", "rect", "circle", "line"):
            self.stack.append(tag)
        for k in ("src", "href"):
            if k in a:
                self.urls.append(a[k])
        if "id" in a:
            self.ids.append(a["id"])
        if tag == "script":
            self.scripts += 1
        elif tag == "section":
            self.sections.append(a.get("id", ""))
        elif tag == "table":
            self.table = self.tables.setdefault(a.get("data-table", ""), [])
        elif tag == "tr" and self.table is not None and "tbody" in self.stack:
            self.table.append([])
        elif tag == "td" and self.table is not None and self.table:
            self.cell = []
        elif tag == "rect" and "bar" in a.get("class", "").split():
            self.bars += 1
        elif tag == "svg" and "chart" in a.get("class", "").split():
            self.charts.append(a.get("id", ""))
        elif tag == "img":
            self.images.append(a.get("src", ""))

    def handle_endtag(self, tag):
        if tag == "td" and self.cell is not None:
            self.table[-1].append("".join(self.cell).strip())
            self.cell = None
        elif tag == "table":
            self.table = None
        while self.stack:
            if self.stack.pop() == tag:
                break

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def parse(dom):
    d = Dom()
    d.feed(dom)
    return d


def png(path, w, h):
    """A w×h gray gradient PNG (stdlib zlib; one filter byte per row)."""
    rows = b"".join(b"\0" + bytes((x * 255 // max(w - 1, 1)) for x in range(w)) for _ in range(h))

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def report(keybench, run, out):
    p = subprocess.run([keybench, "report", run, "-o", out, "--format", "html", "--quiet"],
                       capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        fail("keybench report %s: %s" % (run, p.stderr))
    return os.path.join(out, "report.html")


def check_console_can_fail(binary, profile, page, tmp):
    """The checker must see a broken script: inject one into a copy of the page."""
    with open(page, encoding="utf-8") as f:
        text = f.read()
    broken = os.path.join(tmp, "broken.html")
    with open(broken, "w", encoding="utf-8") as f:
        f.write(text.replace("</body>", "<script>this is not javascript(</script></body>"))
    _, msgs = console_messages(binary, profile, broken)
    if not msgs:
        fail("the console check saw nothing on a page with a broken <script>: it cannot fail")


def check_page(binary, profile, page, extra=()):
    dom, msgs = console_messages(binary, profile, page, extra)
    if msgs:
        fail("%s: console messages:\n  %s" % (page, "\n  ".join(msgs)))
    d = parse(dom)
    remote = [u for u in d.urls if not (u.startswith("data:") or u.startswith("#"))]
    if remote:
        fail("%s: fetches something: %s" % (page, remote[:5]))
    if d.scripts:
        fail("%s: %d <script> elements in the DOM" % (page, d.scripts))
    dup = sorted({i for i in d.ids if d.ids.count(i) > 1})
    if dup:
        fail("%s: ids used more than once: %s" % (page, dup[:10]))
    return d


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    keybench, make_fixture = sys.argv[1:]
    binary = chromium_binary()
    if not binary:
        print("html_browser: chromium is not installed: skipped")
        return 77
    build = os.environ.get("KEYBENCH_BUILD_ROOT", ".")
    with tempfile.TemporaryDirectory(prefix="kbbrowser") as tmp:
        profile = os.path.join(tmp, "profile")
        subprocess.run([make_fixture, tmp], check=True, timeout=60)
        run_a = os.path.join(tmp, "a")
        png(os.path.join(run_a, "cells", "cnp20", "samples.png"), 64, 24)
        page = report(keybench, run_a, os.path.join(tmp, "out-a"))
        check_console_can_fail(binary, profile, page, tmp)
        shot = os.path.abspath(os.path.join(build, "tests", "report", "report-screenshot.png"))
        os.makedirs(os.path.dirname(shot), exist_ok=True)
        d = check_page(binary, profile, page, ["--window-size=1200,5200", "--screenshot=" + shot])
        if not os.path.exists(shot) or os.path.getsize(shot) < 10000:
            fail("no screenshot at " + shot)

        # fixture A: groups none M=4, negpos M=2 and M=4, block_scramble M=4; `none`
        # is the unprotected column of the other three rows
        head = d.tables.get("headline")
        if head is None or len(head) != 3:
            fail("headline table: expected 3 rows, got %s" % (head,))
        n_labels = len(head[0]) - 4 - 2     # key estimation and fine-tune columns at the end
        values = [c for row in head for c in row[n_labels:n_labels + 4] if c not in ("", "–")]
        if d.bars != len(values):
            fail("bars: %d, expected one per headline value: %d (%s)" % (d.bars, len(values), values))
        for want in ("acc-1", "wk-1"):
            if want not in d.charts:
                fail("no chart %s among %s" % (want, d.charts))
        for prefix in ("ft-", "ke-", "pgd-"):
            if not any(c.startswith(prefix) for c in d.charts):
                fail("no %s chart among %s" % (prefix, d.charts))
        if [s for s in d.images if s.startswith("data:image/png;base64,")] != d.images or \
                len(d.images) != 1:
            fail("expected the one samples.png as a data URI, got %d images" % len(d.images))
        for s in ("headline", "charts", "samples", "details", "failed", "provenance"):
            if s not in d.sections:
                fail("no section %s in %s" % (s, d.sections))
        failed = d.tables.get("failed", [])
        if len(failed) != 1 or "nowhere/train" not in failed[0][-1]:
            fail("failed cells table: %s" % failed)

        hostile = report(keybench, os.path.join(tmp, "hostile"), os.path.join(tmp, "out-h"))
        dh = check_page(binary, profile, hostile)
        shown = [c for rows in dh.tables.values() for row in rows for c in row
                 if '<script>alert("x")</script>' in c]
        if not shown:
            fail("the hostile text is not shown as text anywhere in the hostile page's tables")

        print("html_browser: ok: %d bars, %d charts, %d headline rows; screenshot %s"
              % (d.bars, len(d.charts), len(head), shot))
    return 0


if __name__ == "__main__":
    sys.exit(main())

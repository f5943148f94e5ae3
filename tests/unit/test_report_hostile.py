"""Hostile text in every output: control characters and bidirectional overrides from names,
records and driver messages are shown as `<U+XXXX>` (HTML, the PDF made from it, Markdown,
CSV, JUnit XML and the terminal), and no CSV cell can start a formula, fullwidth or not."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from auditor.checks import check_kinds
from auditor.engine.evaluate import evaluate
from auditor.facts import derive_facts
from auditor.report import ReportView, build_view, render_html
from auditor.report.exports import csv_bytes, junit_bytes, markdown_bytes
from auditor.report.pdf import render_pdf
from auditor.report.render import render_print_html
from auditor.report.text import visible
from auditor.results import Results, build_results
from auditor.yamlio import load_yaml
from tests.casekit import CASES_DIR, RuleCase, case_bundle, case_inventory, rule_pack

NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)
SQL01 = "SQL01\\RTC"
# every character the issue names, and the C0/C1 controls around them
HOSTILE_CHARS = ("\u202e", "\u202a", "\u202b", "\u202c", "\u202d", "\u2066", "\u2067",
                 "\u2068", "\u2069", "\u200e", "\u200f", "\u061c", "\x1b", "\x07", "\x00",
                 "\r", "\x85", "\x9b", "\u2028", "\x7f")
TRAP = "invoice\u202egpj.exe \u2066rtl\u2069 \x1b[31mred\x1b[0m \u200f\u061c bell\x07 cr\rend"
FORMULAS = ("\uff1dHYPERLINK(\"http://x\")", "\uff0bcmd", "\uff0d2+3", "\uff20SUM(A1)",
            "\t=1+1", "\r=1+1", " =1+1", "=1+1", "+1", "-1", "@x", "\ufe66fullwidth-small")
HOSTILE_RE = re.compile("[" + "".join(HOSTILE_CHARS) + "]")


def _case() -> RuleCase:
    inventory, _ = load_yaml(CASES_DIR / "_inventory.yaml")
    inventory["estate"]["name"] = "Contoso \u202eLync\u202c \x1b]0;pwned\x07"
    raw: dict[str, Any] = {
        "name": "hostile", "now": NOW.isoformat(), "inventory": inventory, "expect": {},
        "observations": [
            {"probe": "server_time", "target": SQL01, "rows": [{}]},
            {"probe": "databases", "target": SQL01, "rows": [
                {"name": n, "database_id": 5 + i}
                for i, n in enumerate(("xds", "lis", TRAP, *FORMULAS))]},
            {"probe": "databases", "target": "MON01\\LYNCMON", "status": "unreachable",
             "error": f"08001 could not connect: {TRAP}"}]}
    return RuleCase(file=CASES_DIR / "_inventory.yaml", rule="BR-001", name="hostile", raw=raw)


class Hostile:
    def __init__(self) -> None:
        case = _case()
        loaded = case_inventory(case)
        bundle = case_bundle(case, NOW)
        pack = rule_pack()
        findings = evaluate(derive_facts(bundle, loaded.inventory, NOW), pack, check_kinds(),
                            loaded, ())
        self.results: Results = build_results(
            findings=findings, pack=pack, waivers=(), estate=loaded.inventory.estate.name,
            now=NOW, collected_at=NOW, bundle_sha256="ab" * 32,
            inventory_sha256=loaded.sha256)
        self.view: ReportView = build_view(self.results, pack, loaded.inventory, bundle, NOW)


@pytest.fixture(scope="module")
def hostile() -> Hostile:
    return Hostile()


def test_visible_escapes_every_hostile_character_and_keeps_text() -> None:
    for char in HOSTILE_CHARS:
        assert visible(f"a{char}b") == f"a<U+{ord(char):04X}>b"
    assert visible("tab\tand\nnewline, Ünïcödé, \u05e9\u05dc\u05d5\u05dd") == \
        "tab\tand\nnewline, Ünïcödé, \u05e9\u05dc\u05d5\u05dd"  # RTL letters are text


def test_html_shows_hostile_characters_escaped_everywhere(hostile: Hostile) -> None:
    for html in (render_html(hostile.view), render_print_html(hostile.view)):
        assert HOSTILE_RE.findall(html) == []
        assert "&lt;U+202E&gt;" in html
        assert "Contoso &lt;U+202E&gt;Lync&lt;U+202C&gt; &lt;U+001B&gt;]0;pwned&lt;U+0007&gt;" \
            in html  # title, runner attribute, cover
        assert "invoice&lt;U+202E&gt;gpj.exe &lt;U+2066&gt;rtl&lt;U+2069&gt;" in html


def test_pdf_text_has_no_bidi_override(hostile: Hostile) -> None:
    pdf = render_pdf(render_print_html(hostile.view))
    # pypdf, not pdftotext (tests/pdftext.py): poppler applies the bidi algorithm to what it
    # extracts and could hide the very control characters this looks for
    reader = PdfReader(io.BytesIO(pdf))
    text = "".join(page.extract_text() or "" for page in reader.pages)
    # pypdf itself writes NUL (two-byte glyph codes of the monospace font) and CR (line ends)
    assert [c for c in HOSTILE_RE.findall(text) if c not in "\x00\r"] == []
    solid = re.sub(r"[\s\x00\u2060]+", "", text)
    assert "invoice<U+202E>gpj.exe" in solid
    assert reader.metadata is not None
    assert HOSTILE_RE.findall(str(reader.metadata.title)) == []


def test_csv_cells_are_visible_and_never_formulas(hostile: Hostile) -> None:
    data = csv_bytes(hostile.results, hostile.view).decode("utf-8-sig")
    assert HOSTILE_RE.findall(data.replace("\r\n", "\n")) == []
    rows = list(csv.DictReader(io.StringIO(data, newline="")))
    names = {r["subject_name"] for r in rows}
    assert "invoice<U+202E>gpj.exe <U+2066>rtl<U+2069> <U+001B>[31mred<U+001B>[0m " \
        "<U+200F><U+061C> bell<U+0007> cr<U+000D>end" in names
    for formula in FORMULAS:
        shown = visible(formula)  # a leading CR is shown as <U+000D>, which starts no formula
        assert (shown if shown.startswith("<") else "'" + shown) in names, formula
    for row in rows:
        for cell in row.values():
            assert not cell.lstrip(" ").startswith(("=", "+", "-", "@", "\t", "\r",
                                                     "\uff1d", "\uff0b", "\uff0d", "\uff20"))


def test_markdown_and_junit_show_hostile_characters_escaped(hostile: Hostile) -> None:
    md = markdown_bytes(hostile.results, hostile.view).decode("utf-8")
    assert HOSTILE_RE.findall(md) == []
    assert "Contoso \\<U+202E\\>Lync" in md
    assert "gpj.exe" in md  # the unreachable instance's message, among the failures
    xml = junit_bytes(hostile.results).decode("utf-8")
    assert HOSTILE_RE.findall(xml) == []
    root = ET.fromstring(xml)  # noqa: S314 - our own output
    assert root.get("name") == "lync-backup-auditor: Contoso <U+202E>Lync<U+202C> " \
        "<U+001B>]0;pwned<U+0007>"
    names = [case.get("name") or "" for case in root.iter("testcase")]
    assert any("invoice<U+202E>gpj.exe" in name for name in names)


def test_terminal_shows_hostile_characters_escaped(tmp_path: Path) -> None:
    # The file's name reaches the terminal escaped; a key that does not look like a field name
    # is not echoed at all (validation.shown_key: it may be a line of a system file).
    inventory = tmp_path / "inv\u202eyaml.txt"
    inventory.write_text("version: 1\nestate: {name: x}\nsit\u202ees\u2066: []\n",
                         encoding="utf-8")
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    result = subprocess.run([sys.executable, "-m", "auditor", "inventory", "validate",
                             str(inventory)], env=env, capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 2
    assert result.stderr.strip() == \
        f"error: {tmp_path}/inv<U+202E>yaml.txt:3: <key>: unknown field"

"""HTML from the jinja2 templates: the whole report, or a part of it for the PDF.

The report is a list of blocks (cover, contents, summary, one per practice, one per slice of a
rule's findings, ...). The HTML file lays out every block; a large PDF is rendered a run of blocks
at a time (pdf.py), and a link to an anchor in another run becomes `xref:<anchor>`, which pdf.py
turns back into a link once the parts are joined.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import hashlib
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

import auditor
from auditor.report.appendix import AppendixMode, EvidenceDetail
from auditor.report.model import FindingView, PracticeView, ReportView, RuleView
from auditor.report.text import FOLD_CHARS, visible, visible_html

TEMPLATE = "report.html.j2"
STYLESHEET = "report.css"
SCRIPT = "report.js"
XREF = "xref:"
ROWS_PER_BLOCK = 120  # rows of a long table per block, in print
PART_ROWS = int(os.environ.get("AUDITOR_PART_ROWS", "160"))  # rows per page-started run
OBSERVATIONS_PER_BLOCK = 25
FRONT = ("cover", "toc", "summary", "scores", "backups", "scope")
_JOIN = re.compile(r"([:/\\-])(?=[^\s<])")
_TOKEN = re.compile(r"\S+")
# a run of path separators after a name: where a long path may wrap (not inside a leading \\)
_SEPARATORS = re.compile(r"(?<=[^\s/\\])([/\\]+)(?=[^\s/\\])")
LONG_TOKEN = 40  # a token longer than this may wrap at its path separators


def templates_dir() -> Path:
    """The shipped templates (auditor/data/report_templates -> report_templates/)."""
    return Path(auditor.__file__).parent / "data" / "report_templates"


def shown(value: Any) -> str:
    """Every `{{ ... }}` of the templates passes here before it is escaped: control characters
    and bidirectional overrides become visible `<U+XXXX>` (text.visible), in text, in
    attributes and in markup built in Python (SVG charts), so no template can forget one."""
    if hasattr(value, "__html__"):
        return Markup(visible_html(value.__html__()))  # noqa: S704 - already markup
    return visible(str(value))  # what autoescape would have done with it, made visible


@functools.cache
def environment() -> Environment:
    """Autoescaping (html, j2 and by default), strict about undefined names, and every output
    expression made visible (shown)."""
    return Environment(
        loader=FileSystemLoader(templates_dir()),
        autoescape=select_autoescape(["html", "j2"], default=True),
        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        keep_trailing_newline=True, finalize=shown)


def _shipped(name: str) -> Markup:
    """A shipped CSS or JS file to inline; it must not be able to end its <style>/<script>."""
    text = (templates_dir() / name).read_text(encoding="utf-8")
    if "</" in text or "<!--" in text:
        raise ValueError(f"{name} must not contain '</' or '<!--'")
    return Markup(text)  # noqa: S704 - shipped file, checked above


@dataclass(frozen=True)
class Block:
    """A piece of the report that never relies on an element opened by another piece."""

    kind: str
    practice: PracticeView | None = None
    rule: RuleView | None = None
    findings: tuple[FindingView, ...] = ()
    first: bool = True
    last: bool = True
    details: tuple[EvidenceDetail, ...] = ()
    items: tuple[Any, ...] = ()  # a slice of the rows of a long section table
    chapter: str = ""
    page_start: bool = False  # in print: starts a page (the start of a part, print_blocks)

    @property
    def weight(self) -> int:
        """Roughly the table rows it lays out, for cutting the PDF into parts."""
        rows = sum(2 * len(d.cells) + 4 for d in self.details)
        return 4 + len(self.findings) + len(self.items) + rows


def _slices(items: Sequence[Any], size: int | None) -> list[tuple[Any, ...]]:
    if size is None:
        return [tuple(items)]
    return [tuple(items[i:i + size]) for i in range(0, len(items), size)] or [()]


def _sliced(kind: str, items: Sequence[Any], chapter: str, size: int | None) -> list[Block]:
    """A section whose table may be long: a block per slice, the first with the heading."""
    chunks = _slices(items, size)
    return [Block(kind, items=c, first=i == 0, last=i == len(chunks) - 1, chapter=chapter)
            for i, c in enumerate(chunks)]


def plan(view: ReportView, *, rows: int | None = None) -> list[Block]:
    """Every block of the report, in order. With `rows`, long tables are cut into blocks of
    that many rows (for a PDF rendered in parts); without, each table stays whole."""
    blocks = [Block(k, chapter=c) for k, c in (("cover", ""), ("toc", "Contents"),
                                              ("summary", "Executive summary"),
                                              ("scores", "Scores"))]
    if view.charts.ages or view.charts.heatmap:
        blocks.append(Block("backups", chapter="Backup health"))
    blocks += [Block("scope", chapter="Scope and limitations"),
               Block("practices", chapter="Findings by practice")]
    for p in view.practices:
        blocks.append(Block("practice", practice=p, chapter="Findings by practice"))
        for r in p.rules:
            slices = _slices(r.findings, rows)
            blocks += [Block("rule", rule=r, findings=s, first=i == 0,
                             last=i == len(slices) - 1, chapter="Findings by practice")
                       for i, s in enumerate(slices)]
    if view.remediation is not None:
        blocks.append(Block("remediation", chapter="Remediation run"))
    blocks += _sliced("errors", view.errors, "Could not assess", rows)
    blocks += _sliced("waivers", view.waivers, "Waivers", rows)
    blocks += _sliced("responses", view.responses, "Management responses", rows)
    blocks += _sliced("controls", view.controls, "Control mapping", rows)
    blocks.append(Block("signoff", chapter="Sign-off"))
    summary = view.evidence if view.appendix.mode != AppendixMode.FULL.value else ()
    blocks += _sliced("evidence", summary, "Appendix A: Evidence", rows)
    if view.appendix.mode == AppendixMode.FULL.value and view.appendix.details:
        per = OBSERVATIONS_PER_BLOCK if rows is not None else None
        blocks += [Block("evidence-rows", details=d, chapter="Appendix A: Evidence")
                   for d in _slices(view.appendix.details, per)]
    blocks += _sliced("not-applicable", view.not_applicable,
                      "Appendix B: Not applicable findings", rows)
    return blocks


def body_rows(blocks: Sequence[Block]) -> int:
    """The table rows of the blocks after the front matter."""
    return sum(b.weight for b in blocks if b.kind not in FRONT)


def _cut_here(block: Block) -> bool:
    """Blocks that may start a part: each part starts a page, so only where a page may break."""
    return block.kind not in ("cover", "toc") and (
        block.kind != "rule" or not block.first)


def split(blocks: Sequence[Block], rows: int = PART_ROWS) -> tuple[list[Block], list[list[Block]]]:
    """(front blocks, body parts): a part closes once it holds `rows` rows, at the next block
    that may start a page (a section, a practice, a continued rule table, evidence rows)."""
    front = [b for b in blocks if b.kind in FRONT]
    parts: list[list[Block]] = []
    current: list[Block] = []
    weight = 0
    for block in (b for b in blocks if b.kind not in FRONT):
        if current and weight >= rows and _cut_here(block) \
                and current[-1].kind != "practices":
            parts.append(current)
            current, weight = [], 0
        current.append(block)
        weight += block.weight
    if current:
        parts.append(current)
    return front, parts


def print_parts(view: ReportView) -> tuple[list[Block], list[list[Block]]]:
    """The one print layout: long tables in slices, the body in parts that each start a page.
    A PDF laid out in parts renders each part on its own; one laid out in one pass (any PDF/A,
    a smaller PDF) starts a page at the same blocks (print_blocks), so both give the same pages."""
    front, parts = split(plan(view, rows=ROWS_PER_BLOCK))
    # the body's first block ("Findings by practice") starts a page anyway, and must stay the
    # sibling of the first practice, which follows it on its page
    return front, [[dataclasses.replace(p[0], page_start=p[0].kind != "practices"), *p[1:]]
                   for p in parts]


def print_blocks(view: ReportView) -> list[Block]:
    """Every block of the printed report, in order, the first of each part starting a page."""
    front, parts = print_parts(view)
    return [*front, *(b for part in parts for b in part)]


def anchors(block: Block, view: ReportView) -> set[str]:
    """The link targets a block defines."""
    fixed = {"summary": {"summary"}, "scores": {"scores", "groups"}, "backups": {"backups"},
             "scope": {"scope"}, "practices": {"practices"}, "errors": {"errors"},
             "waivers": {"waivers"}, "responses": {"responses"}, "controls": {"controls"},
             "signoff": {"signoff"}, "not-applicable": {"not-applicable"},
             "evidence": {"evidence"}, "remediation": {"remediation"}}
    found = set(fixed.get(block.kind, set())) if block.first else set()
    if block.kind == "evidence":
        found.update(e.anchor for e in block.items)
    if block.practice is not None:
        found.add(block.practice.anchor)
    if block.rule is not None and block.first:
        found.add(block.rule.anchor)
    found.update(d.anchor for d in block.details)
    return found


@dataclass(frozen=True)
class RenderContext:
    """How one HTML document is laid out: the whole report for a screen, or a part of the PDF."""

    screen: bool = True
    runner: bool = False
    chapter: str = ""
    local: frozenset[str] | None = None  # anchors in this document; None: all of them
    pages: Mapping[str, int] = field(default_factory=dict)  # other anchors' page numbers
    body_class: str = "report"
    extra_css: Markup | str = ""

    def href(self, anchor: str) -> str:
        """`#anchor` when it is in this document, else `xref:anchor` for pdf.py to resolve."""
        return f"#{anchor}" if self.local is None or anchor in self.local else XREF + anchor

    def keep(self, text: str) -> str:
        """For print: a word joiner after ':', '/' and '-' inside a token, so that a path such
        as D:\\Temp\\x.bak or a subject id breaks only where it has spaces; a token longer
        than LONG_TOKEN (a UNC path, a long file name) may also wrap after its separators,
        never inside the leading \\\\ of a UNC path. The joiner and the break (<wbr>) are
        invisible and are not in the PDF's text."""
        if self.screen:
            return text
        return Markup("").join(_kept(part) for part in re.split(r"(\S+)", text))

    @property
    def fold(self) -> int:
        """Characters above which the screen folds a value (shown whole once opened)."""
        return FOLD_CHARS

    def page_of(self, anchor: str) -> int | None:
        """A page number known in advance, for a contents line pointing into another part."""
        if self.local is None or anchor in self.local:
            return None
        return self.pages.get(anchor)

    @property
    def script(self) -> Markup | str:
        """The filter script, for the screen only."""
        return _shipped(SCRIPT) if self.screen else ""

    @property
    def csp(self) -> str:
        """No request of any kind; inline style, and only our own script by its hash."""
        if not self.screen:
            return ""
        digest = base64.b64encode(hashlib.sha256(str(_shipped(SCRIPT)).encode()).digest())
        return (f"default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                f"script-src 'sha256-{digest.decode()}'; base-uri 'none'; form-action 'none'")


def _kept(part: str) -> Markup:
    """One token (or run of spaces) for print: joiners, and breaks at separators if long."""
    text = str(escape(part))  # escaped text holds no '<': only our <wbr> does
    if len(part) > LONG_TOKEN and _TOKEN.fullmatch(part):
        text = _SEPARATORS.sub("\\1<wbr>", text)
    return Markup(_JOIN.sub("\\1\u2060", text))  # noqa: S704 - escaped above


def render_document(view: ReportView, blocks: Sequence[Block], ctx: RenderContext) -> str:
    """One HTML document of the given blocks.

    The autoescaper writes an apostrophe as &#39;. Every attribute of the templates is quoted
    with double quotes (a test checks it), so an apostrophe is plain text wherever it lands and
    is written as itself: the text of the report reads as the findings' messages do.
    """
    html = environment().get_template(TEMPLATE).render(
        view=view, blocks=blocks, ctx=ctx, css=_shipped(STYLESHEET))
    return html.replace("&#39;", "'")


def render_html(view: ReportView) -> str:
    """The report as one self-contained HTML file: CSS, SVG and a small script inlined, no
    external resources (a Content-Security-Policy forbids any request)."""
    return render_document(view, plan(view), RenderContext())


def render_print_html(view: ReportView) -> str:
    """The report as the PDF lays it out in one pass: no script, no filter bar, tokens kept
    whole where they have no spaces (RenderContext.keep), and a page started wherever a PDF
    laid out in parts starts a part (print_blocks), so every PDF of an audit has the same
    pages."""
    return render_document(view, print_blocks(view), RenderContext(screen=False))


def render_appendix_html(view: ReportView, *, screen: bool = True) -> str:
    """The evidence rows as a document of their own (`--appendix split`)."""
    blocks = [Block("evidence-rows", details=view.appendix.details,
                    chapter="Appendix A: Evidence")]
    ctx = RenderContext(screen=screen, runner=True, chapter="Appendix A: Evidence",
                        body_class="report appendix-only")
    return render_document(view, blocks, ctx)

"""Golden HTML of each demo estate. Refresh after an intended change:

    .venv/bin/pytest tests/unit/test_report_golden.py --update-golden
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import pytest

from auditor.evidence import read_bundle
from auditor.pipeline import Toolkit
from auditor.report import build_view, render_html
from auditor.report.model import ReportView
from tests.golden_plugin import Golden

DEMO = Path(__file__).resolve().parents[2] / "fixtures" / "demo"
ESTATES = ("healthy", "drifted", "neglected")


@functools.cache
def toolkit() -> Toolkit:
    return Toolkit()


@functools.cache
def demo_view(estate: str) -> ReportView:
    """The view `auditor demo --estate <estate>` renders (generated at the evaluation time)."""
    source = DEMO / estate
    if not (source / "evidence.json").is_file():
        pytest.skip(f"the {estate} demo estate has no evidence.json yet")
    kit = toolkit()
    loaded = kit.load_inventory(source / "inventory.yaml")
    bundle, digest = read_bundle(source / "evidence.json")
    results = kit.evaluate(bundle, digest, loaded, kit.load_waivers(loaded, None))
    return build_view(results, kit.pack, loaded.inventory, bundle, results.now,
                      evidence_bytes=(source / "evidence.json").read_bytes())


def normalise(html: str, view: ReportView) -> str:
    """The generation time and the versions replaced, so the golden file changes only when the
    report does."""
    p = view.provenance
    html = re.sub(r'(<meta name="dcterms.created" content=")[^"]*"', r'\1GENERATED"', html)
    html = re.sub(r'(<span class="generated">)[^<]*<', r"\1GENERATED<", html)
    for old, new in ((f"lync-backup-auditor {p.tool_version}", "lync-backup-auditor VERSION"),
                     (p.rulepack_version, "RULEPACK-VERSION"),
                     (p.results_rulepack_version, "RULEPACK-VERSION")):
        html = html.replace(old, new)
    return html


@pytest.mark.parametrize("estate", ESTATES)
def test_demo_html_matches_its_golden_file(estate: str, golden: Golden) -> None:
    view = demo_view(estate)
    golden.check(f"demo-{estate}.html", normalise(render_html(view), view))


def test_golden_files_name_their_refresh_command() -> None:
    for estate in ESTATES:
        path = DEMO.parent.parent.parent / "tests" / "golden" / f"demo-{estate}.html"
        if path.is_file():
            first = path.read_text(encoding="utf-8").split("\n", 1)[0]
            assert "--update-golden" in first

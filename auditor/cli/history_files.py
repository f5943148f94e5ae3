"""The history commands that write files: a stored audit's report rendered again, the export,
the dashboard."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import tempfile
from collections.abc import Callable
from pathlib import Path

from auditor.canonical import write_atomic
from auditor.cli.audit import ReportOptions, _in_folder, _write_audit, parse_formats
from auditor.cli.common import _guarded, err
from auditor.errors import InputError
from auditor.evidence import read_bundle
from auditor.history.blobs import get_blob
from auditor.history.dashboard import dashboard_html
from auditor.history.model import HistorySnapshot
from auditor.history.queries import (
    EXPORT_FIELDS,
    AuditRow,
    export_rows,
    find_run,
    list_audits,
    only_estate,
)
from auditor.history.remediation import REAUDIT
from auditor.history.store import HistoryStore
from auditor.pipeline import Toolkit
from auditor.results import read_results

Opener = Callable[[], HistoryStore]


def _stored(store: HistoryStore, run: str) -> tuple[AuditRow, dict[str, bytes]]:
    """An audit and the files it was rendered from."""
    with store.reading() as conn:
        row = find_run(conn, run)
        if row.pruned_at is not None:
            raise InputError("RUN", f"audit {row.short}: its evidence bundle and report files "
                             f"were pruned on {row.pruned_at:%Y-%m-%d} (history prune); its "
                             "results and findings remain (history show, diff)")
        if row.report.get(REAUDIT):
            raise InputError("RUN", f"audit {row.short} is the re-audit of remediation run "
                             f"{row.report[REAUDIT]}: it has no report of its own (its "
                             "findings are in history show, diff and open)")
        blobs = dict(row.report.get("blobs", {}))
        files = {"results.json": get_blob(conn, row.results_sha256),
                 "evidence.json": get_blob(conn, row.bundle_sha256),
                 "inventory.yaml": get_blob(conn, row.report["inventory_sha256"])}
        files.update({name: get_blob(conn, digest) for name, digest in blobs.items()})
    return row, files


def rerender(open_store: Opener, run: str, out_dir: Path, formats: str | None) -> list[Path]:
    """`history report RUN --out DIR`."""
    return _in_folder(out_dir, "history report",
                      lambda folder: render_stored(open_store(), run, folder, formats))[1]


def render_stored(store: HistoryStore, run: str, folder: Path, formats: str | None) -> None:
    """Render a stored audit's report into `folder` with its original generation time, from
    its stored results, bundle, inventory, responses and history snapshot."""
    row, files = _stored(store, run)
    toolkit = Toolkit()
    if toolkit.pack.version != row.rulepack_version:
        err.print(f"note: audit {row.short} used rule pack {row.rulepack_version}, this tool "
                  f"has {toolkit.pack.version}: the report may differ", markup=False)
    with tempfile.TemporaryDirectory(prefix="auditor-history-") as tmp:
        work = Path(tmp)
        for name, data in files.items():
            (work / name).write_bytes(data)
        loaded = toolkit.load_inventory(work / "inventory.yaml")
        results = read_results(work / "results.json")
        bundle = read_bundle(work / "evidence.json")[0]
        snapshot = HistorySnapshot.model_validate_json(files["snapshot"]) \
            if files.get("snapshot", b"null\n").strip() != b"null" else None
        wanted = parse_formats(formats or ",".join(row.report.get("formats", ["html"])))
        options = ReportOptions(work / "responses.yaml" if "responses.yaml" in files else None,
                                str(row.report.get("appendix", "full")),
                                int(row.report.get("appendix_rows", 10)))
        write_atomic(folder / "evidence.json", files["evidence.json"])
        generated = row.generated_at or dt.datetime.now(dt.UTC)
        _write_audit(toolkit, results, loaded, (bundle, files["evidence.json"]), folder,
                     wanted, generated, options, snapshot)


def export_file(open_store: Opener, estate: str | None, out_path: Path, fmt: str) -> Path:
    """`history export`: JSON lines or CSV of every status interval."""
    def run() -> Path:
        if fmt not in ("jsonl", "csv"):
            raise InputError("--format", f"unknown export format {fmt!r} (jsonl or csv)")
        with open_store().reading() as conn:
            rows = list(export_rows(conn, only_estate(conn, estate)))
        if fmt == "jsonl":
            data = "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows)
        else:
            buffer = io.StringIO()
            writer = csv.DictWriter(buffer, fieldnames=EXPORT_FIELDS, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
            data = buffer.getvalue()
        write_atomic(out_path, data.encode("utf-8"))
        return out_path
    return _guarded(run)


def dashboard_files(open_store: Opener, estate: str | None, out_dir: Path,
                    reports: int) -> list[Path]:
    """`history dashboard --out DIR`: dashboard.html, and the HTML reports of the last
    `reports` audits beside it as report-RUN.html (the page links to them)."""
    def body(folder: Path) -> None:
        store = open_store()
        with store.reading() as conn:
            key = only_estate(conn, estate)
            recent = [a.run_id for a in list_audits(conn, key, limit=reports)
                      if a.pruned_at is None and not a.report.get(REAUDIT)] if reports else []
        links = {}
        for run_id in recent:
            name = f"report-{run_id[:8]}.html"
            with tempfile.TemporaryDirectory(prefix="auditor-dashboard-") as tmp:
                render_stored(store, run_id, Path(tmp), "html")
                write_atomic(folder / name, (Path(tmp) / "report.html").read_bytes())
            links[run_id] = name
        with store.reading() as conn:
            html = dashboard_html(conn, key, dt.datetime.now(dt.UTC), links)
        write_atomic(folder / "dashboard.html", html.encode("utf-8"))
    return _in_folder(out_dir, "history dashboard", body)[1]

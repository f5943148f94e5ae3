"""Where a report comes from (its provenance), and the evidence bundle the archival PDF carries."""

from __future__ import annotations

import datetime as dt
import hashlib

from auditor.canonical import pretty_bytes
from auditor.engine.rules import RulePack
from auditor.evidence import EvidenceBundle
from auditor.facts import Facts
from auditor.report.model import EmbeddedEvidence, Provenance
from auditor.report.scope import audit_period, collection_window
from auditor.report.text import when
from auditor.results import Results


def build_provenance(results: Results, pack: RulePack, generated_at: dt.datetime,
                bundle: EvidenceBundle | None, facts: Facts | None) -> Provenance:
    note = "" if results.rulepack_version == pack.version else (
        f"These results were evaluated with rule pack {results.rulepack_version}; the rule "
        f"texts shown come from rule pack {pack.version}.")
    return Provenance(
        generated_at=when(generated_at), generated_iso=generated_at.isoformat(timespec="seconds"),
        evaluated_at=when(results.now), collected_at=when(results.collected_at),
        tool_version=results.tool_version, rulepack_version=pack.version,
        results_rulepack_version=results.rulepack_version, rulepack_note=note,
        bundle_sha256=results.bundle_sha256, inventory_sha256=results.inventory_sha256,
        audit_period=audit_period(facts, results.now),
        collection=collection_window(bundle, results.collected_at))


def embedded_bundle(results: Results, bundle: EvidenceBundle | None,
              evidence_bytes: bytes | None) -> tuple[EmbeddedEvidence | None, str]:
    """The bundle file for the archival PDF, only when its SHA-256 is the one in results.json.

    Without the file's bytes the bundle is written again in its canonical form, which is what
    `auditor collect` wrote, so the hash matches unless the file was edited or reformatted.
    """
    if evidence_bytes is None and bundle is not None:
        ordered = bundle.model_copy(update={"observations": sorted(bundle.observations,
                                                                   key=lambda o: o.id)})
        evidence_bytes = pretty_bytes(ordered.model_dump(mode="json"))
    if evidence_bytes is None:
        return None, "The evidence bundle was not given, so none is attached."
    digest = hashlib.sha256(evidence_bytes).hexdigest()
    if digest != results.bundle_sha256:
        return None, (f"The evidence bundle given has SHA-256 {digest}, not the "
                      f"{results.bundle_sha256} these results were evaluated on, so it is not "
                      "attached.")
    return EmbeddedEvidence("evidence.json", digest, len(evidence_bytes), evidence_bytes), (
        f"The archival PDF (PDF/A-3b) carries the evidence bundle as the attached file "
        f"evidence.json ({len(evidence_bytes):,} bytes, SHA-256 {digest}).")

"""Anchors and appendix rows for the observations of an evidence bundle."""

from __future__ import annotations

from collections.abc import Iterable

from auditor.evidence import EvidenceBundle, Observation, ObservationStatus
from auditor.report.model import Badge, EvidenceRef, EvidenceRow
from auditor.report.text import anchor, when


class EvidenceIndex:
    """Anchors for the observations of the bundle, unique even if two ids slug alike."""

    def __init__(self, bundle: EvidenceBundle | None) -> None:
        self.observations: list[Observation] = sorted(bundle.observations, key=lambda o: o.id) \
            if bundle is not None else []
        self.anchors: dict[str, str] = {}
        for obs in self.observations:
            base = anchor("ev", obs.id)
            taken = set(self.anchors.values())
            name, n = base, 1
            while name in taken:
                n += 1
                name = f"{base}-{n}"
            self.anchors[obs.id] = name

    def refs(self, ids: Iterable[str]) -> tuple[EvidenceRef, ...]:
        return tuple(EvidenceRef(i, self.anchors.get(i, "")) for i in ids)

    def rows(self) -> tuple[EvidenceRow, ...]:
        return tuple(_evidence_row(o, self.anchors[o.id]) for o in self.observations)

    def pairs(self) -> list[tuple[Observation, str]]:
        return [(o, self.anchors[o.id]) for o in self.observations]

    def failed(self) -> dict[str, str]:
        return {o.id: f"{o.status.value}" + (f" ({o.error})" if o.error else "")
                for o in self.observations if o.status is not ObservationStatus.OK}


def _evidence_row(obs: Observation, name: str) -> EvidenceRow:
    ok = obs.status is ObservationStatus.OK
    return EvidenceRow(anchor=name, id=obs.id, source=obs.source.value, probe=obs.probe,
                       target=obs.target,
                       status=Badge(obs.status.value.upper(), "pass" if ok else "error"),
                       finished=when(obs.finished_at), rows=len(obs.data),
                       sha256_short=obs.sha256[:12], error=obs.error or "")

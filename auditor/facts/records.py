"""Records observations -> typed record facts (a missing kind is Unknown, never empty)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import ValidationError

from auditor.canonical import canonical_bytes
from auditor.evidence import Observation, Source
from auditor.facts.base import BadValueError, Fact, Unknown, fact_from
from auditor.records import (
    RECORD_KINDS,
    DrDrillRecord,
    HardwareSoftwareRecord,
    MediaRecord,
    ProcedureRecord,
    Record,
    RestoreDrillRecord,
    SlaRecord,
    SpareRecord,
    TrainingRecord,
)

RECORDS_TARGET = "estate"


@dataclass(frozen=True)
class RecordsFacts:
    """Each kind of record, or why it is unknown."""

    hardware_software: Fact[tuple[HardwareSoftwareRecord, ...]]
    media: Fact[tuple[MediaRecord, ...]]
    spares: Fact[tuple[SpareRecord, ...]]
    slas: Fact[tuple[SlaRecord, ...]]
    dr_procedures: Fact[tuple[ProcedureRecord, ...]]
    training: Fact[tuple[TrainingRecord, ...]]
    dr_drills: Fact[tuple[DrDrillRecord, ...]]
    restore_drills: Fact[tuple[RestoreDrillRecord, ...]]


def derive_records(index: Mapping[str, Observation]) -> RecordsFacts:
    """One fact per record kind."""
    facts = {kind: _kind(index, kind) for kind in RECORD_KINDS}
    return RecordsFacts(**facts)  # type: ignore[arg-type]


def _kind(index: Mapping[str, Observation], kind: str) -> Fact[tuple[Record, ...]]:
    model = RECORD_KINDS[kind]

    def parse(obs: Observation) -> tuple[Record, ...]:
        rows = []
        for i, row in enumerate(obs.data):
            try:
                rows.append(model.model_validate(row))
            except ValidationError as exc:
                err = exc.errors(include_url=False)[0]
                column = ".".join(str(p) for p in err["loc"]) or kind
                raise BadValueError(f"{column} (row {i + 1})", row.get(column), err["msg"],
                                    problem=True) from None
        # The order of a records file carries no meaning: sort, so evaluation is order-free.
        return tuple(sorted(rows, key=lambda r: canonical_bytes(r.model_dump(mode="json"))))

    fact = fact_from(index, Source.RECORDS, kind, RECORDS_TARGET, parse)
    if isinstance(fact, Unknown) and "not collected" in fact.reason:
        return Unknown(f"no {kind.replace('_', ' ')} records were provided")
    return fact

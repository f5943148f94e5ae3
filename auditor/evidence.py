"""The evidence bundle: observations with provenance, one versioned JSON file."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import Any, Final, Literal, cast

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from auditor.canonical import (
    CanonicalRows,
    JsonValue,
    pretty_bytes,
    sha256_of_json,
    to_json_value,
    write_atomic,
)
from auditor.errors import InputError, reads_input
from auditor.jsonio import load_json_document
from auditor.limits import MAX_BUNDLE_BYTES, MAX_YEAR, MIN_YEAR, in_range
from auditor.validation import json_validation_error

BUNDLE_FORMAT: Final = "auditor-evidence"
# Version 2 added estate_id and sources. Version 1 bundles are still read: their estate is known
# by name only, and their evidence times per source are derived from the observations.
BUNDLE_VERSION: Final = 2
READABLE_VERSIONS: Final = (1, 2)

Row = dict[str, JsonValue]


class Source(StrEnum):
    """Where an observation came from."""

    SQL = "sql"
    LYNC = "lync"
    RECORDS = "records"


class ObservationStatus(StrEnum):
    """How collecting an observation ended; anything but ok means its data cannot be trusted."""

    OK = "ok"
    ERROR = "error"
    UNREACHABLE = "unreachable"
    DENIED = "denied"
    TIMEOUT = "timeout"


class Observation(BaseModel):
    """One probe run against one target (architecture.md "Observation")."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    source: Source
    probe: str
    target: str
    started_at: AwareDatetime
    finished_at: AwareDatetime
    status: ObservationStatus
    error: str | None = None
    parameters: dict[str, JsonValue] = Field(default_factory=dict)
    data: list[Row] = Field(default_factory=list)
    sha256: str

    @property
    def ok(self) -> bool:
        """True when the data can be used."""
        return self.status is ObservationStatus.OK


def observation_id(source: Source, probe: str, target: str) -> str:
    """Stable id: the same probe on the same target always has the same id."""
    return f"{source.value}:{probe}:{target}"


def make_observation(
    *, source: Source, probe: str, target: str, started_at: dt.datetime,
    finished_at: dt.datetime, status: ObservationStatus, data: list[dict[str, Any]] | None = None,
    error: str | None = None, parameters: dict[str, Any] | None = None,
) -> Observation:
    """Build an observation: its rows in canonical form (CanonicalRows are already), hashed."""
    rows: list[JsonValue] = (cast("list[JsonValue]", data) if isinstance(data, CanonicalRows)
                             else [to_json_value(row) for row in data or []])
    observation = Observation(
        id=observation_id(source, probe, target), source=source, probe=probe, target=target,
        started_at=started_at, finished_at=finished_at, status=status, error=error,
        parameters={k: to_json_value(v) for k, v in (parameters or {}).items()},
        sha256=sha256_of_json(rows),
    )
    # The rows are canonical JSON values by construction: validating them again would cost as
    # much as fetching them (benchmarks/sql.py), so they are attached without it.
    return observation.model_copy(update={"data": rows})


class Origin(StrEnum):
    """How a source's evidence came into the bundle."""

    LIVE = "live"  # collected from the servers (or read from the records files) by this run
    REPLAY = "replay"  # taken from a recorded bundle
    RECORDED = "recorded"  # a version 1 bundle, which did not say


class SourceEvidence(BaseModel):
    """When one source's evidence was collected, and how (the report's scope names it)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: Source
    origin: Origin
    first_started: AwareDatetime
    last_finished: AwareDatetime
    observations: int
    recorded_at: AwareDatetime | None = Field(
        default=None, description="the replayed bundle's collection time (origin replay)")


def source_evidence(observations: Sequence[Observation], origin: Origin,
                    recorded_at: dt.datetime | None = None) -> list[SourceEvidence]:
    """One entry per source among the observations."""
    out = []
    for source in Source:
        own = [o for o in observations if o.source is source]
        if own:
            out.append(SourceEvidence(
                source=source, origin=origin, first_started=min(o.started_at for o in own),
                last_finished=max(o.finished_at for o in own), observations=len(own),
                recorded_at=recorded_at))
    return out


class EvidenceBundle(BaseModel):
    """Everything one collection saw; evaluation reads nothing else from the servers."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: Literal["auditor-evidence"] = BUNDLE_FORMAT
    version: Literal[1, 2] = BUNDLE_VERSION
    tool_version: str
    rulepack_version: str
    estate: str
    estate_id: str | None = Field(default=None, description="the inventory's estate.id")
    inventory_sha256: str
    collected_at: AwareDatetime
    collectors: list[str]
    sources: list[SourceEvidence] = Field(default_factory=list)
    observations: list[Observation]

    def by_id(self) -> dict[str, Observation]:
        """Observations keyed by id."""
        return {obs.id: obs for obs in self.observations}

    def evidence_times(self) -> list[SourceEvidence]:
        """When and how each source's evidence was collected (derived for a version 1
        bundle)."""
        if self.sources:
            return self.sources
        return source_evidence(self.observations, Origin.RECORDED)


def write_bundle(bundle: EvidenceBundle, path: Path) -> str:
    """Write the bundle atomically; return the SHA-256 of the file's bytes."""
    ordered = bundle.model_copy(update={"observations": sorted(bundle.observations,
                                                               key=lambda o: o.id)})
    data = pretty_bytes(ordered.model_dump(mode="json"))
    write_atomic(path, data)
    return hashlib.sha256(data).hexdigest()


@reads_input
def read_bundle(path: Path) -> tuple[EvidenceBundle, str]:
    """Read and verify a bundle; return it with the SHA-256 of the file's bytes."""
    raw = load_json_document(path, BUNDLE_FORMAT, "evidence bundle", MAX_BUNDLE_BYTES)
    if raw.get("version") not in READABLE_VERSIONS:
        raise InputError(path, f"unsupported bundle version {raw.get('version')!r}",
                         field="version")
    try:
        bundle = EvidenceBundle.model_validate(raw)
    except ValidationError as exc:
        raise json_validation_error(exc, path) from None
    _check_times(path, bundle)
    seen: dict[str, int] = {}
    for i, obs in enumerate(bundle.observations):
        if obs.id in seen:
            # Which copy would win is arbitrary, and an `ok` copy after an `error` one turns
            # could-not-assess into a verdict: a bundle holds one observation per id.
            raise InputError(path, f"observation {obs.id} appears twice (observations"
                             f"[{seen[obs.id]}] and [{i}])", field=f"observations[{i}].id")
        seen[obs.id] = i
        # Rows read from JSON are canonical JSON values already: hash them without converting.
        if sha256_of_json(cast("JsonValue", obs.data)) != obs.sha256:
            raise InputError(path, f"observation {obs.id} does not match its sha256 "
                             "(the evidence was altered)", field=f"observations[{i}].sha256")
    return bundle, hashlib.sha256(path.read_bytes()).hexdigest()


def _check_times(path: Path, bundle: EvidenceBundle) -> None:
    """Collection times within the years inputs may name (limits.md), so that rules can add
    their time spans to them."""
    stamps = [("collected_at", bundle.collected_at)]
    for i, obs in enumerate(bundle.observations):
        stamps += [(f"observations[{i}].started_at", obs.started_at),
                   (f"observations[{i}].finished_at", obs.finished_at)]
    for field, stamp in stamps:
        if not in_range(stamp.year):
            raise InputError(path, f"a time outside the years {MIN_YEAR} to {MAX_YEAR}",
                             field=field)

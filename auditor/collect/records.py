"""The records collector: the admins' YAML/CSV records as one observation per kind provided."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from auditor.evidence import Observation, ObservationStatus, Source, make_observation
from auditor.facts.records import RECORDS_TARGET
from auditor.records import RECORD_KINDS, load_records_files


def collect_records(path: Path | None, now: dt.datetime) -> list[Observation]:
    """One ok observation per kind found; a kind not provided gets none (the facts say Unknown).

    Bad input raises InputError: a records file is the admins' own input, not a server that may
    be down, so it is reported (exit 2) rather than recorded as a failed observation. A records
    file or folder that is gone gives an error observation per kind: every rule reading records
    is then could-not-assess, with the reason, and nothing is taken from a replayed bundle.
    """
    if path is None:
        return []
    # lexists: a symlink that loops or dangles is broken input (exit 2), read and refused below.
    if not os.path.lexists(path):
        return [make_observation(
            source=Source.RECORDS, probe=kind, target=RECORDS_TARGET, started_at=now,
            finished_at=now, status=ObservationStatus.ERROR, parameters={"file": path.name},
            error=f"the records {'folder' if not path.suffix else 'file'} {path.name} named by "
                  "the inventory does not exist") for kind in RECORD_KINDS]
    observations = []
    for kind, loaded in load_records_files(path).items():
        observations.append(make_observation(
            source=Source.RECORDS, probe=kind, target=RECORDS_TARGET, started_at=now,
            finished_at=now, status=ObservationStatus.OK,
            data=[record.model_dump(mode="json") for record in loaded.records],
            parameters={"file": loaded.file}))
    return observations

"""The records admins keep (YAML or CSV): the models of each kind, and their loader.

models: one documented pydantic model per kind (RECORD_KINDS), records_json_schema.
load: load_records / load_records_files, from one YAML file or a folder of YAML and CSV files.
"""

from auditor.limits import IsoDate
from auditor.records.load import (
    LoadedKind,
    Locate,
    load_records,
    load_records_files,
)
from auditor.records.models import (
    RECORD_KINDS,
    DrDrillRecord,
    Flag,
    HardwareSoftwareRecord,
    MediaRecord,
    Number,
    ProcedureRecord,
    Record,
    RecordsFile,
    RestoreDrillRecord,
    SlaRecord,
    SpareRecord,
    Text,
    TrainingRecord,
    Whole,
    normal,
    records_json_schema,
)

__all__ = [
    "RECORD_KINDS",
    "DrDrillRecord",
    "Flag",
    "HardwareSoftwareRecord",
    "IsoDate",
    "LoadedKind",
    "Locate",
    "MediaRecord",
    "Number",
    "ProcedureRecord",
    "Record",
    "RecordsFile",
    "RestoreDrillRecord",
    "SlaRecord",
    "SpareRecord",
    "Text",
    "TrainingRecord",
    "Whole",
    "load_records",
    "load_records_files",
    "normal",
    "records_json_schema",
]

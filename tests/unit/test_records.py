"""The records loader (one YAML file, or a folder of YAML and CSV) and the records collector."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import jsonschema  # type: ignore[import-untyped]
import pytest

from auditor.collect.records import collect_records
from auditor.errors import InputError
from auditor.evidence import EvidenceBundle, ObservationStatus, Source
from auditor.facts.base import Known, index
from auditor.facts.records import derive_records
from auditor.records import (
    MediaRecord,
    RestoreDrillRecord,
    SlaRecord,
    TrainingRecord,
    load_records,
    records_json_schema,
)
from auditor.yamlio import load_yaml

NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)

SINGLE = """\
# records of the Contoso estate
media:
  - product: Lync Server 2013
    version: 5.0.8308.992
    media_location: \\\\files01\\media\\lync2013
    checked: 2026-06-01
training:
  - {person: Dana Ops, role: DBA, trained: 2026-01-10}
  - {person: Sam New}
dr_drills: []
"""


def write(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")


def test_single_yaml_file(tmp_path: Path) -> None:
    write(tmp_path, {"records.yaml": SINGLE})
    records = load_records(tmp_path / "records.yaml")
    assert list(records) == ["media", "training", "dr_drills"]
    assert records["media"] == (MediaRecord(
        product="Lync Server 2013", version="5.0.8308.992",
        media_location="\\\\files01\\media\\lync2013", checked=dt.date(2026, 6, 1)),)
    assert [r.trained for r in records["training"]
            if isinstance(r, TrainingRecord)] == [dt.date(2026, 1, 10), None]
    assert records["dr_drills"] == ()


def test_folder_with_yaml_and_csv(tmp_path: Path) -> None:
    write(tmp_path, {
        "media.yaml": "- {product: SQL Server 2012, version: 11.0.5058.0, "
                      "media_location: \\\\files01\\sql, checked: 2026-06-01}\n",
        "spares.yaml": "spares:\n  - {model: HP DL380 G8, units: 2}\n",
        "training.csv": "person,role,trained,course\nDana Ops,DBA,2026-01-10,Restore lab\n"
                        "Sam New,Lync admin,,\n",
        "slas.csv": "model,vendor,response_hours,expires\nHP DL380 G8,HPE,4.5,2027-06-30\n",
        "restore_drills.csv": "date,instance,database,succeeded\n"
                              "2026-10-01,SQL01\\RTC,rtcxds,false\n",
        "README.md": "not a record file: ignored\n",
    })
    records = load_records(tmp_path)
    assert list(records) == ["media", "spares", "slas", "training", "restore_drills"]
    assert [r.model_dump() for r in records["training"]] == [
        {"person": "Dana Ops", "role": "DBA", "trained": dt.date(2026, 1, 10),
         "course": "Restore lab"},
        {"person": "Sam New", "role": "Lync admin", "trained": None, "course": None}]
    sla = records["slas"][0]
    assert isinstance(sla, SlaRecord)
    assert (sla.response_hours, sla.expires) == (4.5, dt.date(2027, 6, 30))
    drill = records["restore_drills"][0]
    assert isinstance(drill, RestoreDrillRecord)
    assert drill.succeeded is False


def test_excel_csv_with_semicolons_bom_and_crlf(tmp_path: Path) -> None:
    """Excel in locales that write decimal commas saves CSV with `;`, a BOM and CRLF."""
    (tmp_path / "slas.csv").write_bytes(
        "\ufeffmodel;vendor;response_hours;expires\r\n"
        "HP DL380 G8;HPE, Inc.;4.5;2027-06-30\r\n".encode())
    sla = load_records(tmp_path)["slas"][0]
    assert isinstance(sla, SlaRecord)
    assert (sla.model, sla.vendor, sla.response_hours, sla.expires) == (
        "HP DL380 G8", "HPE, Inc.", 4.5, dt.date(2027, 6, 30))

    (tmp_path / "slas.csv").write_text("model;vendor;response_hours;expires\n"
                                       "HP DL380 G8;HPE;4,5;2027-06-30\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:  # a decimal comma is not a number here
        load_records(tmp_path)
    assert caught.value.render() == (f"{tmp_path / 'slas.csv'}:2: response_hours: must be a "
                                     "number written with a decimal point (4.5, not 4,5)")


def test_collect_records_one_observation_per_kind_provided(tmp_path: Path) -> None:
    write(tmp_path, {
        "training.csv": "person,trained\nDana Ops,2026-01-10\n",
        "dr_procedures.yaml": "- {name: Restore, owner: Dana, reviewed: 2026-03-01}\n"})
    observations = collect_records(tmp_path, NOW)
    assert [(o.id, o.source, o.status, o.parameters) for o in observations] == [
        ("records:dr_procedures:estate", Source.RECORDS, ObservationStatus.OK,
         {"file": "dr_procedures.yaml"}),
        ("records:training:estate", Source.RECORDS, ObservationStatus.OK,
         {"file": "training.csv"})]
    assert observations[1].data == [{"person": "Dana Ops", "role": None, "trained": "2026-01-10",
                                     "course": None}]
    bundle = EvidenceBundle(tool_version="t", rulepack_version="t", estate="e",
                            inventory_sha256="0" * 64, collected_at=NOW, collectors=["records"],
                            observations=observations)
    facts = derive_records(index(bundle))
    assert isinstance(facts.training, Known)
    assert facts.training.value[0].trained == dt.date(2026, 1, 10)
    assert not isinstance(facts.media, Known)  # not provided: Unknown, never empty


def test_collect_records_without_a_path_is_empty() -> None:
    assert collect_records(None, NOW) == []


def test_schema_accepts_the_single_file_form(tmp_path: Path) -> None:
    write(tmp_path, {"records.yaml": SINGLE})
    data, _ = load_yaml(tmp_path / "records.yaml")
    schema = records_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(data, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"trainings": []}, schema)


ERRORS = [
    # (files, path to load relative to tmp_path, expected `file:line: field: message`)
    pytest.param({"r.yaml": "media:\n  - product: Lync Server 2013\n    version: 5.0\n"
                            "    media_location: x\n    checked: 2026-06-01\n"}, "r.yaml",
                 'r.yaml:3: media[0].version: must be text; put numbers such as versions in '
                 'quotes ("5.0")', id="wrong_type"),
    pytest.param({"r.yaml": "training:\n  - person: Dana\n    shoe_size: 42\n"}, "r.yaml",
                 "r.yaml:3: training[0].shoe_size: unknown field", id="unknown_field"),
    pytest.param({"d/training.csv": "person,trained,shoe_size\nDana,2026-01-10,42\n"}, "d",
                 "d/training.csv:1: shoe_size: unknown field", id="unknown_csv_column"),
    pytest.param({"r.yaml": "dr_procedures:\n  - {name: Restore, reviewed: 2026-02-30}\n"},
                 "r.yaml", "r.yaml:2: dr_procedures[0].reviewed: 2026-02-30 is not a real "
                 "calendar date", id="bad_date"),
    pytest.param({"d/training.csv": "person,trained\nDana,2026-01-10\nLee,10/01/2026\n"}, "d",
                 "d/training.csv:3: trained: must be a date written YYYY-MM-DD",
                 id="csv_date_not_iso"),
    pytest.param({"r.yaml": "media: []\ntrainings:\n  - {person: Dana}\n"}, "r.yaml",
                 "r.yaml:2: trainings: unknown record kind (expected one of hardware_software, "
                 "media, spares, slas, dr_procedures, training, dr_drills, restore_drills)",
                 id="unknown_kind"),
    pytest.param({"d/trainings.csv": "person\nDana\n"}, "d",
                 "d/trainings.csv: unknown record kind 'trainings' (name record files "
                 "<kind>.yaml or <kind>.csv: hardware_software, media, spares, slas, "
                 "dr_procedures, training, dr_drills, restore_drills)", id="unknown_kind_file"),
    pytest.param({"r.yaml": "hardware_software:\n"
                            "  - {server: fe01.contoso.com, reviewed: 2026-01-10}\n"
                            "  - {server: FE01.contoso.com, reviewed: 2026-02-10}\n"}, "r.yaml",
                 "r.yaml:3: hardware_software[1].server: duplicate record for server "
                 "'FE01.contoso.com' (first on line 2)", id="duplicate_server"),
    pytest.param({"d/hardware_software.csv": "server,reviewed\nfe01.contoso.com,2026-01-10\n"
                                             "fe02.contoso.com,2026-01-10\n"
                                             "fe01.contoso.com,2026-03-01\n"}, "d",
                 "d/hardware_software.csv:4: server: duplicate record for server "
                 "'fe01.contoso.com' (first on line 2)", id="duplicate_server_csv"),
    pytest.param({"d/training.yaml": "- {person: Dana Ops}\n- {person: dana  ops}\n"}, "d",
                 "d/training.yaml:2: [1].person: duplicate person 'dana  ops' (first on line 1)",
                 id="duplicate_person"),
    pytest.param({"d/restore_drills.csv": "date,instance,database,succeeded\n"
                                          "2026-10-01,SQL01\\RTC,rtcxds,yes\n"}, "d",
                 "d/restore_drills.csv:2: succeeded: must be true or false", id="csv_boolean"),
    pytest.param({"d/dr_procedures.csv": "name,owner,reviewed\nRestore,Dana,\n"}, "d",
                 "d/dr_procedures.csv:2: reviewed: required field is missing",
                 id="csv_empty_required_cell"),
    pytest.param({"d/spares.csv": "model,units\nHP DL380 G8,2.5\n"}, "d",
                 "d/spares.csv:2: units: must be a non-negative whole number", id="csv_units"),
    pytest.param({"d/training.csv": "person\nDana\n", "d/training.yaml": "- {person: Dana}\n"},
                 "d", "d/training.yaml: records of kind training are given twice: training.csv "
                 "and training.yaml", id="yaml_and_csv_for_one_kind"),
    pytest.param({"d/spares.yaml": "slas: []\n"}, "d",
                 "d/spares.yaml:1: slas: a spares.yaml holds a list of rows, or {spares: [rows]}",
                 id="folder_yaml_other_kind"),
    pytest.param({"r.yaml": "- {person: Dana}\n"}, "r.yaml",
                 "r.yaml:1: the records file must be a mapping of kind: [rows]",
                 id="not_a_mapping"),
    pytest.param({"r.yaml": "training:\n  person: Dana\n"}, "r.yaml",
                 "r.yaml:1: training: must be a list of rows", id="kind_not_a_list"),
    pytest.param({"training.csv": "person\nDana\n"}, "training.csv",
                 "training.csv: a single records file must be YAML ({kind: [rows]}); put CSV "
                 "files in a folder, one <kind>.csv per kind", id="single_csv"),
    pytest.param({"d/notes.txt": "nothing\n"}, "d",
                 "d: no record files (<kind>.yaml or <kind>.csv) in this folder",
                 id="empty_folder"),
]


@pytest.mark.parametrize(("files", "target", "message"), ERRORS)
def test_bad_records_name_file_line_and_field(tmp_path: Path, files: dict[str, str],
                                              target: str, message: str) -> None:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_records(tmp_path / target)
    assert str(caught.value) == f"{tmp_path}/{message}"

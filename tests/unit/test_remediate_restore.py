"""The restore test's file placement and room check, from FILELISTONLY and model's files."""

from __future__ import annotations

from typing import Any

import pytest

from auditor.remediate.restore_exec import NoRoomError, check_room, folders, moves

MODEL = [{"type": 0, "physical_name": "D:\\MSSQL\\DATA\\model.mdf",
          "volume_mount_point": "D:\\", "available_bytes": 10_000},
         {"type": 1, "physical_name": "L:\\MSSQL\\LOG\\modellog.ldf",
          "volume_mount_point": "L:\\", "available_bytes": 1_000}]
LISTED: list[dict[str, Any]] = [
    {"LogicalName": "rtcxds", "PhysicalName": "E:\\x.mdf", "Type": "D", "FileId": 1,
     "Size": 4_000},
    {"LogicalName": "rtcxds2", "PhysicalName": "E:\\x2.ndf", "Type": "D", "FileId": 3,
     "Size": 4_000},
    {"LogicalName": "rtcxds_log", "PhysicalName": "F:\\x.ldf", "Type": "L", "FileId": 2,
     "Size": 900}]


def test_each_file_goes_to_models_folder_of_its_kind_under_the_copys_name() -> None:
    pairs = moves(LISTED, folders(MODEL), "restoretest_rtcxds_r1")
    assert pairs == ["rtcxds", "D:\\MSSQL\\DATA\\restoretest_rtcxds_r1_1.mdf",
                     "rtcxds2", "D:\\MSSQL\\DATA\\restoretest_rtcxds_r1_3.ndf",
                     "rtcxds_log", "L:\\MSSQL\\LOG\\restoretest_rtcxds_r1_2.ldf"]


def test_linux_paths_keep_their_separator_and_a_missing_log_folder_falls_back() -> None:
    model = [{"type": 0, "physical_name": "/var/opt/mssql/data/model.mdf"}]
    pairs = moves(LISTED[:1], folders(model), "c")
    assert pairs == ["rtcxds", "/var/opt/mssql/data/c_1.mdf"]


def test_room_is_counted_per_volume() -> None:
    check_room(LISTED, MODEL)  # 8,000 of 10,000 on D:, 900 of 1,000 on L:
    with pytest.raises(NoRoomError, match="needs 1,800 bytes on L:"):
        check_room([*LISTED, {**LISTED[2], "FileId": 4}], MODEL)


def test_model_without_a_data_file_is_an_error() -> None:
    with pytest.raises(ValueError, match="no data file"):
        check_room(LISTED, MODEL[1:])

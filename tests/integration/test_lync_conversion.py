"""The collector's own CLIXML -> JSON conversion, on objects as Windows PowerShell writes them."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from auditor.collect.clixml import Clixml, net_datetime, rows_of, to_json


def convert(xml: str) -> object:
    return Clixml().value(ET.fromstring(xml))  # noqa: S314 - test input


@pytest.mark.parametrize(("text", "iso"), [
    ("2026-11-23T19:57:19.1234567+10:00", "2026-11-23T19:57:19.123456+10:00"),
    ("2026-11-23T09:57:19Z", "2026-11-23T09:57:19+00:00"),
    ("2026-11-23T09:57:19.5-06:00", "2026-11-23T09:57:19.500000-06:00"),
    ("2026-11-23T09:57:19", "2026-11-23T09:57:19"),  # Kind Unspecified: no zone, not guessed
    ("garbage", "garbage"),
])
def test_net_datetimes_keep_their_offset(text: str, iso: str) -> None:
    assert net_datetime(text) == iso


def test_replica_state_object() -> None:
    xml = ("<Obj RefId=\"0\"><TN RefId=\"0\"><T>Microsoft.Rtc.Management.Xds.ReplicaState</T>"
           "<T>System.Object</T></TN><ToString>Microsoft.Rtc.Management.Xds.ReplicaState"
           "</ToString><Props><S N=\"ReplicaFqdn\">fe01.contoso.com</S><B N=\"UpToDate\">true</B>"
           "<DT N=\"LastUpdateCreation\">2026-11-22T09:40:09.0000003+10:00</DT>"
           "<I64 N=\"Big\">9223372036854775807</I64><U64 N=\"Huge\">18446744073709551615</U64>"
           "<D N=\"Dec\">12.50</D><D N=\"Whole\">4398046511104</D><Nil N=\"Gone\" />"
           "<Obj N=\"Status\" RefId=\"1\"><TN RefId=\"1\"><T>Microsoft.Rtc.ExportStatus</T>"
           "<T>System.Enum</T><T>System.ValueType</T><T>System.Object</T></TN>"
           "<ToString>SteadyState</ToString><I32>1</I32></Obj>"
           "<SS N=\"Secret\">AAAA</SS></Props></Obj>")
    assert convert(xml) == {
        "ReplicaFqdn": "fe01.contoso.com", "UpToDate": True,
        "LastUpdateCreation": "2026-11-22T09:40:09+10:00", "Big": 2**63 - 1,
        "Huge": 2**64 - 1, "Dec": "12.50", "Whole": 4398046511104, "Gone": None,
        "Status": "SteadyState", "Secret": None}


def test_collections_references_and_escapes() -> None:
    xml = ("<Obj RefId=\"0\"><TN RefId=\"0\"><T>System.Management.Automation.PSCustomObject</T>"
           "<T>System.Object</T></TN><MS>"
           "<Obj N=\"Entries\" RefId=\"1\"><TN RefId=\"1\"><T>System.String[]</T>"
           "<T>System.Array</T><T>System.Object</T></TN><LST><S>DocItemSet.xml</S>"
           "<S>line_x000A_two _xD83D__xDE00_</S></LST></Obj>"
           "<Obj N=\"Same\" RefId=\"2\"><TNRef RefId=\"1\" /><LST /></Obj>"
           "<Ref N=\"Again\" RefId=\"1\" />"
           "<Obj N=\"Map\" RefId=\"3\"><TN RefId=\"2\"><T>System.Collections.Hashtable</T>"
           "<T>System.Object</T></TN><DCT><En><S N=\"Key\">a</S><I32 N=\"Value\">1</I32></En>"
           "</DCT></Obj>"
           "<Obj N=\"Nested\" RefId=\"4\"><TNRef RefId=\"0\" /><MS><S N=\"Name\">x</S></MS></Obj>"
           "<S N=\"Flat\">@{Name=Lync; Version=5.0}</S></MS></Obj>")
    assert convert(xml) == {
        "Entries": ["DocItemSet.xml", "line\ntwo \U0001F600"], "Same": [],
        "Again": ["DocItemSet.xml", "line\ntwo \U0001F600"], "Map": {"a": 1},
        "Nested": {"Name": "x"}, "Flat": "@{Name=Lync; Version=5.0}"}


def test_rows_keep_the_selected_properties_case_insensitively() -> None:
    class Out:
        _xml = ("<Obj RefId=\"0\"><MS><S N=\"poolfqdn\">a</S><S N=\"Extra\">b</S></MS></Obj>")

    assert rows_of([Out()], ["PoolFqdn", "BackupPoolFqdn"]) == [
        {"PoolFqdn": "a", "BackupPoolFqdn": None}]


def test_non_finite_numbers_have_a_json_form() -> None:
    assert convert("<Db>NaN</Db>") == "NaN"
    assert convert("<Sg>Infinity</Sg>") == "Infinity"
    for value in (float("nan"), float("-inf")):  # a primitive pypsrp delivered as a float
        assert to_json(value) == str(value)
    assert to_json(1.5) == 1.5

"""The probe catalogue loads, every file it names exists, and every probe has a row shape."""

from __future__ import annotations

from auditor.probes.catalogue import Dialect, load_catalogue


def test_every_sql_probe_has_text_for_some_dialect() -> None:
    catalogue = load_catalogue()
    for probe in catalogue.sql:
        texts = [probe.text(d) for d in Dialect]
        assert any(texts), probe.name
        assert probe.columns, probe.name
        for text in texts:
            if text is not None:
                assert text.count("?") == len(probe.parameters), probe.name
                for column in probe.columns:
                    assert f"AS {column}" in text, (probe.name, column)


def test_every_powershell_probe_has_a_command_or_script() -> None:
    for probe in load_catalogue().powershell:
        assert (probe.command is None) != (probe.script is None), probe.name
        if probe.script:
            text = probe.script_text()
            assert text is not None
            assert "param(" in text.lower(), probe.name
        assert probe.select, probe.name

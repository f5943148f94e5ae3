"""Shared fixtures."""
pytest_plugins = ["tests.golden_plugin"]


import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _private_history(tmp_path_factory: pytest.TempPathFactory,
                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test's audits record into a history store of its own, never the user's."""
    folder = tmp_path_factory.mktemp("history")
    monkeypatch.setenv("AUDITOR_HISTORY", str(folder / "history.sqlite"))

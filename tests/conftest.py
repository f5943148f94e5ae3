"""Shared fixtures."""
pytest_plugins = ["tests.golden_plugin"]


import os  # noqa: E402
import tempfile  # noqa: E402

import pytest  # noqa: E402


def pytest_configure(config: pytest.Config) -> None:
    """Session- and module-scoped fixtures run audits before any test's own fixture: they record
    into a store of this process (each xdist worker has its own), never the user's."""
    os.environ["AUDITOR_HISTORY"] = os.path.join(
        tempfile.mkdtemp(prefix="auditor-test-history-"), "history.sqlite")


@pytest.fixture(autouse=True)
def _private_history(tmp_path_factory: pytest.TempPathFactory,
                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test's audits record into a history store of its own, never the user's."""
    folder = tmp_path_factory.mktemp("history")
    monkeypatch.setenv("AUDITOR_HISTORY", str(folder / "history.sqlite"))

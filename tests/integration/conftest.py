"""The PostgreSQL lab for the integration tests: one cluster per session, demo estates in it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pyodbc
import pytest

from auditor.lab.cluster import DRIVER, LabCluster, LabError
from auditor.lab.demo import DEMO_ESTATES, LabEstate, build_estate, demo_root


@pytest.fixture(scope="session")
def lab() -> Iterator[LabCluster]:
    """A fresh cluster (initdb, TLS, scram-sha-256) for the whole session, removed at the end."""
    if DRIVER not in pyodbc.drivers():
        pytest.fail(f"the ODBC driver {DRIVER!r} is missing: apt-get install odbc-postgresql "
                    "(scripts/bootstrap.sh does)")
    try:
        cluster = LabCluster.start()
    except LabError as exc:
        pytest.fail(f"cannot start the PostgreSQL lab: {exc}")
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def demo_lab(lab: LabCluster, tmp_path_factory: pytest.TempPathFactory) -> dict[str, LabEstate]:
    """Every demo estate loaded into the lab, with its inventory and replay bundle."""
    out = tmp_path_factory.mktemp("demo-lab")
    present = dt.datetime.now(dt.UTC)  # as `auditor lab sql up` loads them
    return {name: build_estate(lab, demo_root() / name, out, present=present)
            for name in DEMO_ESTATES}


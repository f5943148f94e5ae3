"""A lab instance of another SQL Server edition than the one recorded: SERVERPROPERTY('Edition')
says it (lab.instance.edition, and engine_edition 4 for Express), and an Express instance has
empty SQL Agent tables, because Express has no SQL Agent (Microsoft's "Editions and supported
features of SQL Server": Management tools, SQL Server Agent, Express: No)."""

from __future__ import annotations

from collections.abc import Mapping

from auditor.evidence import Observation, make_observation

EXPRESS = "Express Edition (64-bit)"
AGENT_PROBES = ("agent_jobs", "agent_job_steps", "agent_schedules", "agent_job_history")


def is_express(edition: str) -> bool:
    """SQL Server Express, as SERVERPROPERTY('Edition') names it (with or without Advanced
    Services, 32 or 64 bit)."""
    return "express" in edition.lower()


def with_edition(observations: Mapping[str, Observation], edition: str
                 ) -> dict[str, Observation]:
    """One instance's recorded observations as the lab serves them for `edition`."""
    out = dict(observations)
    clock = out.get("server_time")
    if clock is not None:
        out["server_time"] = _rows(clock, [{**row, "edition": edition} for row in clock.data
                                           if isinstance(row, dict)])
    if is_express(edition):
        for probe in AGENT_PROBES:
            if probe in out:
                out[probe] = _rows(out[probe], [])
    return out


def _rows(obs: Observation, rows: list[dict[str, object]]) -> Observation:
    return make_observation(source=obs.source, probe=obs.probe, target=obs.target,
                            started_at=obs.started_at, finished_at=obs.finished_at,
                            status=obs.status, data=rows, error=obs.error,
                            parameters=dict(obs.parameters))

"""P13, P14 checks over the admins' records (docs/records.md), and the helpers the record
checks share."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from typing import Any

from pydantic import Field

from auditor.engine.registry import ESTATE_SCOPE, CheckKind, Params, ParamsFor, check_kind
from auditor.facts import Facts, Known, Unknown
from auditor.findings import Status, Subject, SubjectType, Verdict
from auditor.records import SlaRecord, normal

ESTATE = Subject(id="estate", type=SubjectType.ESTATE, name="estate")
MAX_LISTED = 3


class MaxAgeDays(Params):
    """A record counts only when its date is at most max_age_days before the audit date."""

    max_age_days: int = Field(default=365, gt=0, le=3650)


class SparesOrSla(Params):
    """DR-050: enough spares on hand, or an SLA in force that answers within the target."""

    min_spare_units: int = Field(default=1, ge=1, le=1000)
    max_response_hours: float = Field(default=24, gt=0, le=24 * 90)


# --- shared helpers -------------------------------------------------------------------------

def age_days(facts: Facts, day: dt.date) -> int:
    """Whole days from a record's date to the audit date (in the audit time's own zone); 0 for
    a date after it that is not in the future (auditor.facts.clock)."""
    return facts.clock.age_days(day)


def future_date(facts: Facts, what: str, days: Iterable[dt.date | None],
                ids: Iterable[str]) -> str | None:
    """Why a record dated after the records were read cannot pass, or None (docs/time.md)."""
    found = facts.clock.future_date(what, days, ids)
    return found.text if found else None


def _listed(items: list[str], sep: str = ", ") -> str:
    shown = sep.join(items[:MAX_LISTED])
    return shown if len(items) <= MAX_LISTED else f"{shown} and {len(items) - MAX_LISTED} more"


def _verdict(subject: Subject, status: Status, message: str, observed: Any = None,
             expected: Any = None, ids: Iterable[str] = ()) -> Verdict:
    return Verdict(subject=subject, status=status, message=message, observed=observed,
                   expected=expected, evidence_ids=tuple(dict.fromkeys(ids)))


def _subject(kind: SubjectType, name: str) -> Subject:
    return Subject(id=f"{kind.value}:{name}", type=kind, name=name)


# --- DR-040, DR-041, DR-042 -----------------------------------------------------------------

class ProceduresDocumented(MaxAgeDays):
    """DR-040: procedures reviewed within 365 days."""


@check_kind("dr_procedures_documented", ProceduresDocumented)
def dr_procedures_documented(facts: Facts, params: ParamsFor[ProceduresDocumented]
                             ) -> Iterator[Verdict]:
    """At least one DR procedure; each has an owner and a review within the limit."""
    p = params(ESTATE_SCOPE)
    fact = facts.records.dr_procedures
    expected = f"documented procedures, each with an owner, reviewed within {p.max_age_days} d"
    if isinstance(fact, Unknown):
        yield _verdict(ESTATE, Status.ERROR, fact.reason, None, expected, fact.evidence_ids)
        return
    ids = fact.evidence_ids
    if not fact.value:
        yield _verdict(ESTATE, Status.FAIL, "no DR procedure is documented", [], expected, ids)
        return
    observed = [{"name": r.name, "owner": r.owner, "reviewed": r.reviewed.isoformat(),
                 "age_days": age_days(facts, r.reviewed)} for r in fact.value]
    future = future_date(facts, "a procedure was reviewed on", [r.reviewed for r in fact.value],
                         ids)
    if future:
        yield _verdict(ESTATE, Status.FAIL, future, observed, expected, ids)
        return
    problems = [f"{r.name!r} has no owner" for r in fact.value if r.owner is None]
    problems += [f"{r.name!r} last reviewed {age_days(facts, r.reviewed)} d ago, over the "
                 f"{p.max_age_days} d limit"
                 for r in fact.value if age_days(facts, r.reviewed) > p.max_age_days]
    if problems:
        yield _verdict(ESTATE, Status.FAIL, _listed(problems, "; "), observed, expected, ids)
        return
    oldest = max(age_days(facts, r.reviewed) for r in fact.value)
    yield _verdict(ESTATE, Status.PASS, f"{len(fact.value)} procedure(s), each with an owner; "
                   f"oldest review {oldest} d ago", observed, expected, ids)


class RosterTrained(MaxAgeDays):
    """DR-041: training within 365 days."""


@check_kind("dr_roster_trained", RosterTrained)
def dr_roster_trained(facts: Facts, params: ParamsFor[RosterTrained]) -> Iterator[Verdict]:
    """Each person on the DR roster was trained within the limit."""
    p = params(ESTATE_SCOPE)
    fact = facts.records.training
    expected = f"DR training within {p.max_age_days} d"
    if isinstance(fact, Unknown):
        yield _verdict(ESTATE, Status.ERROR, fact.reason, None, expected, fact.evidence_ids)
        return
    if not fact.value:
        yield _verdict(ESTATE, Status.FAIL, "the DR roster is empty: nobody is recorded for "
                       "DR training", [], expected, fact.evidence_ids)
        return
    for rec in fact.value:
        subject = _subject(SubjectType.PERSON, rec.person)
        if rec.trained is None:
            yield _verdict(subject, Status.FAIL, "never trained", {"trained": None}, expected,
                           fact.evidence_ids)
            continue
        age = age_days(facts, rec.trained)
        observed = {"trained": rec.trained.isoformat(), "age_days": age}
        future = future_date(facts, "trained on", [rec.trained], fact.evidence_ids)
        if future:
            status, message = Status.FAIL, future
        elif age > p.max_age_days:
            status, message = Status.FAIL, (f"last trained {age} d ago, over the "
                                            f"{p.max_age_days} d limit")
        else:
            status, message = Status.PASS, f"last trained {age} d ago"
        yield _verdict(subject, status, message, observed, expected, fact.evidence_ids)


class DrillRecent(MaxAgeDays):
    """DR-042: a drill within 180 days."""

    max_age_days: int = Field(default=180, gt=0, le=3650)


@check_kind("dr_drill_recent_and_met_targets", DrillRecent)
def dr_drill_recent_and_met_targets(facts: Facts, params: ParamsFor[DrillRecent]
                                    ) -> Iterator[Verdict]:
    """The newest DR drill ran within the limit and achieved its RTO and RPO targets."""
    p = params(ESTATE_SCOPE)
    fact = facts.records.dr_drills
    expected = f"a drill within {p.max_age_days} d that met its RTO and RPO"
    if isinstance(fact, Unknown):
        yield _verdict(ESTATE, Status.ERROR, fact.reason, None, expected, fact.evidence_ids)
        return
    ids = fact.evidence_ids
    if not fact.value:
        yield _verdict(ESTATE, Status.FAIL, "no DR drill is recorded", None, expected, ids)
        return
    future = future_date(facts, "a drill is dated", [d.date for d in fact.value], ids)
    if future:
        yield _verdict(ESTATE, Status.FAIL, future, None, expected, ids)
        return
    newest_day = max(d.date for d in fact.value)
    newest = [d for d in fact.value if d.date == newest_day]
    age = age_days(facts, newest_day)
    problems = [] if age <= p.max_age_days else [
        f"newest drill ran {age} d ago, over the {p.max_age_days} d limit"]
    for d in newest:
        if d.rto_achieved_minutes > d.rto_target_minutes:
            problems.append(f"{d.scenario!r} recovered in {d.rto_achieved_minutes:g} min, over "
                            f"its RTO of {d.rto_target_minutes:g} min")
        if d.rpo_achieved_minutes > d.rpo_target_minutes:
            problems.append(f"{d.scenario!r} lost {d.rpo_achieved_minutes:g} min of data, over "
                            f"its RPO of {d.rpo_target_minutes:g} min")
    observed = {"date": newest_day.isoformat(), "age_days": age,
                "drills": [d.model_dump(mode="json") for d in newest]}
    if problems:
        yield _verdict(ESTATE, Status.FAIL, "; ".join(problems), observed, expected, ids)
        return
    yield _verdict(ESTATE, Status.PASS, f"drill {age} d ago met its RTO and RPO targets",
                   observed, expected, ids)


# --- DR-050 ---------------------------------------------------------------------------------

@check_kind("spares_or_sla_per_model", SparesOrSla)
def spares_or_sla_per_model(facts: Facts, params: ParamsFor[SparesOrSla]) -> Iterator[Verdict]:
    """Each server model of the inventory has spares on hand or a valid, fast enough SLA."""
    p = params(ESTATE_SCOPE)
    models: dict[str, tuple[str, list[str]]] = {}
    unmodelled = []
    for server in facts.inventory.servers:
        if server.model is None:
            unmodelled.append(server.fqdn)
        else:
            models.setdefault(normal(server.model), (server.model, []))[1].append(server.fqdn)
    for key, (model, servers) in models.items():
        yield _model_verdict(facts, key, _subject(SubjectType.MODEL, model), servers, p)
    if unmodelled:
        yield _verdict(_subject(SubjectType.MODEL, "unknown"), Status.ERROR, "the inventory "
                       f"gives no model for {_listed(unmodelled)}", {"servers": unmodelled},
                       "every server has a model in the inventory")


def _model_verdict(facts: Facts, key: str, subject: Subject, servers: list[str],
                   p: SparesOrSla) -> Verdict:
    spares, slas = facts.records.spares, facts.records.slas
    ids = [*spares.evidence_ids, *slas.evidence_ids]
    expected = (f">= {p.min_spare_units} spare unit(s), or an SLA in force answering within "
                f"{p.max_response_hours:g} h")
    observed: dict[str, Any] = {"servers": servers}
    notes = []
    if isinstance(spares, Known):
        units = sum(s.units for s in spares.value if normal(s.model) == key)
        observed["spare_units"] = units
        if units >= p.min_spare_units:
            return _verdict(subject, Status.PASS, f"{units} spare unit(s) on hand", observed,
                            expected, ids)
        notes.append(f"{units} spare unit(s) on hand (at least {p.min_spare_units} needed)")
    if isinstance(slas, Known):
        today = facts.now.date()
        mine = [s for s in slas.value if normal(s.model) == key]
        observed["slas"] = [s.model_dump(mode="json") for s in mine]
        good = [s for s in mine if s.expires >= today and s.response_hours <= p.max_response_hours]
        if good:
            best = min(good, key=lambda s: s.response_hours)
            return _verdict(subject, Status.PASS, f"SLA with {best.vendor} answers within "
                            f"{best.response_hours:g} h, until {best.expires.isoformat()}",
                            observed, expected, ids)
        notes += [_sla_problem(s, today, p) for s in mine] or ["no SLA for this model"]
    missing = [f.reason for f in (spares, slas) if isinstance(f, Unknown)]
    status = Status.ERROR if missing else Status.FAIL
    return _verdict(subject, status, "; ".join(notes + missing), observed, expected, ids)


def _sla_problem(sla: SlaRecord, today: dt.date, p: SparesOrSla) -> str:
    if sla.expires < today:
        return f"SLA with {sla.vendor} expired on {sla.expires.isoformat()}"
    return (f"SLA with {sla.vendor} answers in {sla.response_hours:g} h, over the "
            f"{p.max_response_hours:g} h target")


KINDS: tuple[CheckKind[Any], ...] = (
    dr_procedures_documented,
    dr_roster_trained,
    dr_drill_recent_and_met_targets,
    spares_or_sla_per_model,
)

"""Scope and limitations: what was audited, what could not be, how, and from which account."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from auditor.engine.rules import Assessment, RulePack
from auditor.evidence import EvidenceBundle, ObservationStatus, Origin, Source
from auditor.facts import Facts, Known, Unknown
from auditor.facts.topology import pool_and_computer_differences, topology_differences
from auditor.findings import Finding, Status
from auditor.inventory import (
    Credential,
    CredentialKind,
    Inventory,
    LyncAuth,
    LyncTransport,
    SqlInstance,
)
from auditor.report.text import when
from auditor.results import UnlistedStore


@dataclass(frozen=True)
class ScopeItem:
    """A line of the scope table."""

    label: str
    value: str


@dataclass(frozen=True)
class InstanceScope:
    """A SQL Server instance in scope, and how it was reached."""

    server_name: str
    host: str
    role: str
    place: str
    stores: str
    transport: str
    transport_css: str
    account: str


@dataclass(frozen=True)
class ScopeView:
    """The scope and limitations section."""

    account: str
    audited: tuple[ScopeItem, ...]
    instances: tuple[InstanceScope, ...]
    lync: tuple[ScopeItem, ...]
    limitations: tuple[str, ...]
    topology: tuple[str, ...]
    topology_note: str


def _account(credential: Credential | None, fallback: str) -> str:
    if credential is None:
        return fallback
    if credential.kind is CredentialKind.INTEGRATED:
        return "Windows integrated (the account running the audit)"
    who = credential.username or "user not named"
    return f"{who} (password from {credential.kind.value})"


def _transport(inst: SqlInstance) -> str:
    if not inst.encrypt:
        return "NOT ENCRYPTED (TLS opt-out)"
    return "TLS" if inst.tls_trust is None else f"TLS, {inst.tls_trust.describe()}"


def _instances(inventory: Inventory, fallback: str,
               unlisted: Sequence[UnlistedStore]) -> tuple[InstanceScope, ...]:
    out = []
    for inst in inventory.sql_instances:
        place = " / ".join(p for p in (inst.site, inst.pool) if p)
        found = [u.database for u in unlisted if u.instance.lower() == inst.server_name.lower()]
        stores = ", ".join(inst.stores) or "none listed"
        if found:
            stores += f"; found, not in the inventory: {', '.join(found)}"
        out.append(InstanceScope(
            server_name=inst.server_name, host=inst.host, role=inst.role.value.replace("_", " "),
            place=place, stores=stores,
            transport=_transport(inst),
            transport_css=("fail" if not inst.encrypt or (inst.tls_trust is not None and
                                                          inst.tls_trust.any_certificate)
                           else "pass"),
            account=_account(inst.credential, fallback)))
    return tuple(out)


def _lync(inventory: Inventory, fallback: str,
          bundle: EvidenceBundle | None) -> tuple[tuple[ScopeItem, ...], list[str]]:
    lync = inventory.lync
    if lync is None:
        recorded = bundle is not None and any(o.source is Source.LYNC
                                              for o in bundle.observations)
        note = ("The inventory names no Lync management server, so nothing was collected from "
                "the Lync servers live: their evidence comes from the recorded bundle, with the "
                "collection times shown in the evidence appendix." if recorded else
                "The inventory names no Lync management server and the evidence holds no Lync "
                "observation: the Lync rules (CMS, pools, exports, shares) could not be assessed.")
        return (ScopeItem("Lync management servers", "none in the inventory"),), [note]
    port = lync.port or (5986 if lync.transport is LyncTransport.HTTPS else 5985)
    items = (
        ScopeItem("Lync management servers", ", ".join(lync.management_servers)),
        ScopeItem("PowerShell remoting", f"WinRM over {lync.transport.value.upper()}, port "
                  f"{port}, {lync.auth.value} authentication"),
        ScopeItem("Certificate check", "not applicable (HTTP)"
                  if lync.transport is LyncTransport.HTTP
                  else (f"CA file {lync.ca_bundle}" if lync.ca_bundle else "system trust store")),
        ScopeItem("Account", _account(lync.credential, fallback)),
    )
    notes = []
    if lync.transport is LyncTransport.HTTP:
        notes.append("PowerShell remoting to the Lync servers used HTTP, not HTTPS: the "
                     "server's identity was not proven by a certificate.")
    if lync.auth is LyncAuth.BASIC and lync.transport is LyncTransport.HTTP:
        notes.append("Basic authentication over HTTP was explicitly allowed in the inventory "
                     "(allow_basic_over_http): the audit account's password crossed the network "
                     "in clear text. Change that password.")
    return items, notes


def _history_start(facts: Facts | None) -> dt.datetime | None:
    if facts is None:
        return None
    starts = [b.started_at for inst in facts.instances if isinstance(inst.backups, Known)
              for b in inst.backups.value]
    return min(starts) if starts else None


def audit_period(facts: Facts | None, now: dt.datetime) -> str:
    """'backup history from ... to ... (rules evaluated at ...)', or 'as of ...'."""
    start = _history_start(facts)
    if start is None or start >= now:
        return f"as of {when(now)}"
    return f"{when(start)} to {when(now)} (the backup history in the evidence)"


def collection_window(bundle: EvidenceBundle | None, collected_at: dt.datetime) -> str:
    """When the probes ran: the first start to the last finish, or the bundle's time."""
    if bundle is None or not bundle.observations:
        return when(collected_at)
    first = min(o.started_at for o in bundle.observations)
    last = max(o.finished_at for o in bundle.observations)
    return when(first) if first == last else f"{when(first)} to {when(last)}"


SOURCE_LABELS = {Source.SQL: "SQL Server evidence", Source.LYNC: "Lync evidence",
                 Source.RECORDS: "Administrators' records"}


def _span(first: dt.datetime, last: dt.datetime) -> str:
    return when(first) if first == last else f"{when(first)} to {when(last)}"


def evidence_times(bundle: EvidenceBundle | None) -> tuple[ScopeItem, ...]:
    """Where each source's evidence came from, and when it was collected (docs/time.md)."""
    if bundle is None:
        return ()
    items = []
    for entry in bundle.evidence_times():
        times = _span(entry.first_started, entry.last_finished)
        count = f"{entry.observations} observation{'s' if entry.observations != 1 else ''}"
        if entry.origin is Origin.REPLAY:
            recorded = when(entry.recorded_at) if entry.recorded_at else "an unknown time"
            text = f"replayed from a bundle recorded at {recorded} (collected {times}; {count})"
        elif entry.origin is Origin.LIVE:
            verb = "read" if entry.source is Source.RECORDS else "collected live"
            text = f"{verb} {times} ({count})"
        else:
            text = f"collected {times} ({count}; the bundle does not say whether live)"
        items.append(ScopeItem(SOURCE_LABELS[entry.source], text))
    return tuple(items)


def inventory_change(bundle: EvidenceBundle | None, evaluated_with: str | None) -> tuple[
        ScopeItem, ...]:
    """The inventory differs from the one the evidence was collected with: say so."""
    if bundle is None or evaluated_with is None or bundle.inventory_sha256 == evaluated_with:
        return ()
    return (ScopeItem("Inventory", "changed since the evidence was collected: collected with "
                      f"the inventory of SHA-256 {bundle.inventory_sha256[:12]}..., evaluated "
                      f"with {evaluated_with[:12]}... (targets added since have no evidence "
                      "and are could-not-assess)"),)


def unlisted_item(unlisted: Sequence[UnlistedStore]) -> tuple[ScopeItem, ...]:
    """The Lync stores the inventory missed, each named, with how it was judged."""
    if not unlisted:
        return ()
    named = [f"{u.subject.removeprefix('database:')} ("
             + ("transient: judged by DR-060 only" if u.store_class == "transient"
                else f"{u.store_class}: judged like a listed store") + ")" for u in unlisted]
    return (ScopeItem("Lync stores missing from the inventory",
                      f"{len(unlisted)} database{'s' if len(unlisted) != 1 else ''} named like "
                      "a Lync store, which the inventory's stores: omits, were audited as that "
                      f"store: {'; '.join(named)}. Add them to stores: (docs/inventory.md)."),)


def build_scope(inventory: Inventory, pack: RulePack, bundle: EvidenceBundle | None,
                findings: Sequence[Finding], facts: Facts | None, now: dt.datetime,
                inventory_sha256: str | None = None,
                unlisted: Sequence[UnlistedStore] = ()) -> ScopeView:
    """What was audited and what was not, in plain words."""
    fallback = inventory.estate.audit_account or "not recorded in the inventory"
    stores = sum(len(i.stores) for i in inventory.sql_instances)
    estate = inventory.estate
    audited = (
        ScopeItem("Estate", estate.name + (f" (estate id {estate.id})" if estate.id else "")
                  + (f": {estate.description}" if estate.description else "")),
        ScopeItem("Sites", ", ".join(s.id for s in inventory.sites) or "none listed"),
        ScopeItem("Pools", ", ".join(p.fqdn for p in inventory.pools) or "none listed"),
        ScopeItem("Servers", f"{len(inventory.servers)} in the inventory"),
        ScopeItem("SQL Server instances", f"{len(inventory.sql_instances)}, holding {stores} "
                  "Lync stores named in the inventory"),
        *unlisted_item(unlisted),
        ScopeItem("Backup destinations", ", ".join(d.path for d in inventory.backup_destinations)
                  or "none listed"),
        ScopeItem("Export share", inventory.export_share.unc if inventory.export_share
                  else "none listed"),
        ScopeItem("Rules", f"{len(pack.rules)} rules over {len(pack.practices)} practices "
                  f"(rule pack {pack.version})"),
        ScopeItem("Audit account", fallback),
        *evidence_times(bundle),
        *inventory_change(bundle, inventory_sha256),
    )
    lync_items, notes = _lync(inventory, fallback, bundle)
    topology, topology_note = _topology(inventory, facts)
    return ScopeView(account=fallback, audited=audited,
                     instances=_instances(inventory, fallback, unlisted), lync=lync_items,
                     limitations=tuple(_limitations(inventory, pack, bundle, findings, facts,
                                                    now) + notes),
                     topology=topology, topology_note=topology_note)


def _topology(inventory: Inventory, facts: Facts | None) -> tuple[tuple[str, ...], str]:
    """Where Lync's topology (Get-CsService, Get-CsPool, Get-CsComputer) and the inventory
    disagree; the inventory decides what is audited. A part whose evidence is missing is said
    to be not compared, and never counted as agreeing; the other part is still shown."""
    if facts is None:
        return (), "Lync's topology was not compared: the evidence was not given to the report."
    lines: list[str] = []
    compared: list[tuple[str, str]] = []  # (what, cmdlets) of each part that was compared
    notes: list[str] = []
    services = facts.lync.database_services
    if isinstance(services, Unknown):
        notes.append("Lync's database services (Get-CsService) could not be compared with the "
                     f"inventory: {services.reason}.")
    else:
        lines += topology_differences(inventory, services.value)
        compared.append(("database services", "Get-CsService"))
    pools, computers = facts.lync.topology_pools, facts.lync.topology_computers
    if isinstance(pools, Unknown) or isinstance(computers, Unknown):
        reasons = [f.reason for f in (pools, computers) if isinstance(f, Unknown)]
        notes.append("Lync's pools and computers (Get-CsPool, Get-CsComputer) could not be "
                     f"compared with the inventory: {'; '.join(dict.fromkeys(reasons))}.")
    else:
        lines += pool_and_computer_differences(inventory, pools.value, computers.value)
        compared.append(("pools and computers", "Get-CsPool, Get-CsComputer"))
    cmdlets = ", ".join(c for _, c in compared)
    if lines:
        lead = ("The inventory decides which stores and servers are audited; where Lync's own "
                f"topology ({cmdlets}) disagrees with it, the difference is listed here.")
    elif compared:
        what = ("database services, pools and computers" if len(compared) == 2
                else compared[0][0])
        lead = f"The {what} Lync reports ({cmdlets}) agree with the inventory."
    else:
        lead = ""
    return tuple(lines), " ".join(n for n in (lead, *notes) if n)


def _limitations(inventory: Inventory, pack: RulePack, bundle: EvidenceBundle | None,
                 findings: Sequence[Finding], facts: Facts | None, now: dt.datetime) -> list[str]:
    out = [f"This is a point-in-time audit: the rules were evaluated as of {when(now)} on the "
           "evidence collected then. Anything that changed afterwards is not reflected."]
    start = _history_start(facts)
    if start is not None:
        out.append(f"Backup history was read from msdb as far back as {when(start)}; older "
                   "backups were not examined.")
    for inst in inventory.sql_instances:
        if not inst.encrypt:
            out.append(f"The connection to {inst.server_name} was not encrypted (TLS opt-out in "
                       "the inventory, for an old server): its evidence crossed the network in "
                       "clear text and the server's identity was not proven by a certificate.")
        elif inst.tls_trust is not None and inst.tls_trust.any_certificate:
            out.append(f"The connection to {inst.server_name} was encrypted but its certificate "
                       "was not checked (tls_trust: any_certificate in the inventory): the "
                       "server's identity was not proven, so a man in the middle could have read "
                       "or altered its evidence.")
    if bundle is not None:
        bad = [o for o in bundle.observations if o.status is not ObservationStatus.OK]
        if bad:
            targets = sorted({o.target for o in bad})
            out.append(f"{len(bad)} of {len(bundle.observations)} observations could not be "
                       f"collected (targets: {', '.join(targets[:8])}"
                       f"{' and more' if len(targets) > 8 else ''}); the findings resting on "
                       "them are listed under Could not assess.")
    else:
        out.append("The evidence bundle was not given to the report: the evidence appendix "
                   "and the charts drawn from raw evidence are left out.")
    errors = sum(1 for f in findings if f.status is Status.ERROR)
    if errors:
        out.append(f"{errors} findings could not be assessed; they score 0 and lower coverage.")
    records = [p.id for p in pack.practices if p.assessment is not Assessment.AUTOMATED]
    if records:
        out.append(f"Practices {', '.join(records)} rest wholly or partly on the "
                   "administrators' records (documents, rosters, SLAs), which were taken as "
                   "stated; the audit did not verify them against the physical world.")
    out.append("User databases on the audited instances that are not Lync stores were listed "
               "but not scored. Waived findings are excluded from the score and shown with "
               "their approver and expiry.")
    return out

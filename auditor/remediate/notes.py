"""What the plan says about a database it acts on: why nothing can act on it now, and the
notes an action carries for the reviewer (the differential base, the job's own scope)."""

from __future__ import annotations

from auditor.facts import InstanceFacts, Known

ONLINE = 0


def unactionable(inst: InstanceFacts, database: str) -> str | None:
    """Why nothing can act on this database now, or None."""
    if not isinstance(inst.databases, Known):
        return f"the databases of {inst.instance.server_name} could not be read"
    found = inst.databases.value.get(database.lower())  # keyed by the lower-cased name
    if found is None:
        return f"{database} does not exist on {inst.instance.server_name}"
    if found.state != ONLINE:
        return f"{database} is {found.state_desc}: bring it online first"
    return None


def action_notes(name: str, database: str, job: str | None, diffs: int = 0) -> list[str]:
    """What the reviewer should know about an action on this database."""
    if name == "backup_database":
        notes = ["a normal (not copy-only) full: it resets the differential base of "
                 f"{database}, and a copy-only full would not satisfy BR-001"]
        if diffs:
            notes.append(f"{database} has {diffs} differential backup(s) since its last "
                         "full: after this full the next differential is relative to it, so "
                         "the admin's own differential chain restarts here (restore its "
                         "differentials only on top of the full before); apply refuses this "
                         "action unless --allow-diff-base-reset")
        return notes
    if name == "start_backup_job":
        return [f"the job {job!r} backs up every database it covers, to its own "
                "destination"]
    return []

"""Checks on Windows evidence: backup share ACLs (BR-041)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from pydantic import Field

from auditor.checks.lync import _verdict
from auditor.checks.subjects import share_subject
from auditor.engine.registry import CheckKind, Params, ParamsFor, check_kind
from auditor.facts import Facts, Unknown
from auditor.facts.base import Fact
from auditor.facts.lync import AccessRule, share_paths
from auditor.findings import Status, Subject, Verdict

# --- BR-041: backup share ACLs -------------------------------------------------------------------

class ShareAclRestricted(Params):
    """BR-041: the accounts, besides the built-in ones, that may write to backup shares."""

    backup_accounts: list[str] = Field(default_factory=list)


BROAD = {"everyone", "s-1-1-0", "builtin\\users", "s-1-5-32-545",
         "nt authority\\authenticated users", "s-1-5-11", "nt authority\\anonymous logon",
         "s-1-5-7"}
ALWAYS_ALLOWED = {"builtin\\administrators", "s-1-5-32-544", "nt authority\\system", "s-1-5-18",
                  "creator owner", "s-1-3-0"}
WRITE_NAMES = {"writedata", "createfiles", "appenddata", "createdirectories",
               "writeextendedattributes", "writeattributes", "write", "delete",
               "deletesubdirectoriesandfiles", "changepermissions", "takeownership", "modify",
               "fullcontrol"}
READ_NAMES = {"readdata", "listdirectory", "readextendedattributes", "executefile", "traverse",
              "readattributes", "readpermissions", "synchronize", "read", "readandexecute"}
# FILE_WRITE_DATA, FILE_APPEND_DATA, FILE_WRITE_EA, FILE_DELETE_CHILD, FILE_WRITE_ATTRIBUTES,
# DELETE, WRITE_DAC, WRITE_OWNER, GENERIC_ALL, GENERIC_WRITE
WRITE_BITS = 0x2 | 0x4 | 0x10 | 0x40 | 0x100 | 0x10000 | 0x40000 | 0x80000 | 0x10000000 | 0x40000000


def grants_write(rights: str) -> bool:
    """Whether a FileSystemRights value (names or a number) lets its holder alter files."""
    write = False
    for token in (t.strip() for t in rights.split(",")):
        low = token.lower()
        if re.fullmatch(r"-?\d+|0x[0-9a-f]+", low):
            write |= bool(int(low, 0) & 0xFFFFFFFF & WRITE_BITS)
        elif low in WRITE_NAMES:
            write = True
        elif low not in READ_NAMES:
            raise ValueError(f"unrecognised right {token!r}")
    return write


@check_kind("backup_share_acl_restricted", ShareAclRestricted)
def backup_share_acl_restricted(facts: Facts,
                                params: ParamsFor[ShareAclRestricted]) -> Iterator[Verdict]:
    """No broad group has any allow rule; only backup accounts and built-ins may write."""
    for unc in share_paths(facts.inventory):
        subject, scope = share_subject(facts.inventory, unc)
        acl = facts.lync.share_acls.get(unc.lower(), Unknown(f"no share_acl evidence for {unc}"))
        yield _acl_verdict(subject, acl, params(scope))


def _acl_verdict(subject: Subject, acl: Fact[tuple[AccessRule, ...]],
                 p: ShareAclRestricted) -> Verdict:
    allowed = ALWAYS_ALLOWED | {a.lower() for a in p.backup_accounts}
    expected = {"no_access_for": "Everyone, BUILTIN\\Users, NT AUTHORITY\\Authenticated Users",
                "write_only_for": sorted(p.backup_accounts) + sorted(
                    ["BUILTIN\\Administrators", "NT AUTHORITY\\SYSTEM", "CREATOR OWNER"])}
    if isinstance(acl, Unknown):
        return _verdict(subject, Status.ERROR, f"ACL unavailable: {acl.reason}",
                        expected=expected, ids=acl.evidence_ids)
    if not acl.value:
        return _verdict(subject, Status.ERROR, "the ACL read back with no entries (an empty or "
                        "a null DACL cannot be told apart)", [], expected, acl.evidence_ids)
    broad, writers = [], []
    for rule in (r for r in acl.value if r.allow):
        entry = f"{rule.identity} ({rule.rights})"
        try:
            write = grants_write(rule.rights)
        except ValueError as exc:
            return _verdict(subject, Status.ERROR, f"ACL entry of {rule.identity}: {exc}",
                            expected=expected, ids=acl.evidence_ids)
        if rule.identity.lower() in BROAD:
            broad.append(entry)
        elif write and rule.identity.lower() not in allowed:
            writers.append(entry)
    observed = {"broad_access": broad, "unexpected_writers": writers,
                "entries": [f"{'Allow' if r.allow else 'Deny'} {r.identity} ({r.rights})"
                            + (" inherited" if r.inherited else "") for r in acl.value]}
    problems = []
    if broad:
        problems.append(f"grants broad groups access: {', '.join(broad)}")
    if writers:
        problems.append(f"grants write to accounts that are not backup accounts: "
                        f"{', '.join(writers)}")
    if problems:
        return _verdict(subject, Status.FAIL, "; ".join(problems), observed, expected,
                        acl.evidence_ids)
    count = f"{len(acl.value)} ACL {'entry' if len(acl.value) == 1 else 'entries'}"
    return _verdict(subject, Status.PASS, f"{count}: no broad access, write only for backup "
                    "accounts and built-in accounts", observed, expected, acl.evidence_ids)


KINDS: tuple[CheckKind[Any], ...] = (backup_share_acl_restricted,)

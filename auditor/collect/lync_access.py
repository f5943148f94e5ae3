"""What the audit account needs in a plain WinRM session on a Lync server, and the fixes.

The collector opens an ordinary WinRM session and imports the Lync module into it: a local
session, to which Lync RBAC roles (CsViewOnlyAdministrator, ...) do not apply; "RBAC
restrictions work only on administrators working remotely, using either the Lync Server Control
Panel or Lync Server Management Shell" (Planning for role-based access control in Lync Server
2013). What applies is each cmdlet's "Who can run this cmdlet ... locally" groups: the
catalogue's `rbac` column (auditor/probes/catalogue.yaml, sources in docs/lync-collection.md).

From that session the account cannot authenticate on to another machine under Negotiate,
Kerberos or NTLM (the second hop): a UNC share on another host is refused, and SQL Server sees
a store read as NT AUTHORITY\\ANONYMOUS LOGON. CredSSP (or Basic, which hands the server the
password) or resource-based Kerberos constrained delegation is then the requirement.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from auditor.inventory import LyncAuth

_RO, _UA, _SA = ("rtcuniversalreadonlyadmins", "rtcuniversaluseradmins",
                 "rtcuniversalserveradmins")
ROLE_GRANTS: dict[str, frozenset[str]] = {
    "rtcuniversalreadonlyadmins": frozenset({_RO, _UA, _SA}),
    "rtcuniversaluseradmins or rtcuniversalserveradmins": frozenset({_UA, _SA}),
    "rtcuniversalserveradmins": frozenset({_SA}),
    "local administrators (wmi read)": frozenset({"builtin\\administrators"}),
}
"""Per catalogue `rbac` requirement (lower case), the groups that meet it."""
ROLE_FIX = {
    "rtcuniversalreadonlyadmins": "Add-ADGroupMember -Identity RTCUniversalReadOnlyAdmins "
                                  "-Members {user}",
    "rtcuniversaluseradmins or rtcuniversalserveradmins":
        "Add-ADGroupMember -Identity RTCUniversalUserAdmins -Members {user}  (or "
        "RTCUniversalServerAdmins: run locally, Get-CsManagementStoreReplicationStatus and "
        "Get-CsService need one of the two; RTCUniversalReadOnlyAdmins is not enough)",
    "rtcuniversalserveradmins": "Add-ADGroupMember -Identity RTCUniversalServerAdmins -Members "
                                "{user}  (Get-CsBackupServiceStatus needs it, or a group in "
                                "Set-CsBackupServiceConfiguration -AuthorizedUniversalGroups)",
    "local administrators (wmi read)": "Add-LocalGroupMember -Group Administrators -Member "
                                       "{user}  (on that server; WMI and the registry are read)",
}
HOP_AUTHS = frozenset({LyncAuth.NEGOTIATE, LyncAuth.KERBEROS, LyncAuth.NTLM})
"""Authentications whose session cannot pass the account on to another machine."""
DELEGATION_FIX = (
    "the second hop: from a WinRM session under {auth}, this server cannot pass the account on "
    "to {where}. Either use lync.auth: credssp (Enable-WSManCredSSP -Role Server on this "
    "server; it then holds the password for the session), or set resource-based Kerberos "
    "constrained delegation on the far host: Set-ADComputer <far host> "
    "-PrincipalsAllowedToDelegateToAccount (Get-ADComputer <this server>) (docs/"
    "lync-collection.md, \"Second hop\")")
SHARE_FIX = "grant the audit account Read on the share and on the folder's NTFS ACL"
_RBAC_ROLE = re.compile(r"(?i)^(?:.*\\)?(cs[a-z]*administrator|cs[a-z]*manager)$")
_ANONYMOUS = re.compile(r"(?i)anonymous logon")


def holds(requirement: str, groups: Sequence[str]) -> bool:
    """Whether one of the identity's groups meets a requirement."""
    grants = ROLE_GRANTS[requirement]
    for group in groups:
        low = group.lower()
        if low in grants or low.rsplit("\\", 1)[-1] in grants:
            return True
    return False


def rbac_roles_note(groups: Sequence[str]) -> str:
    """A note when the account holds Lync RBAC roles, which this session ignores."""
    roles = sorted({g.rsplit("\\", 1)[-1] for g in groups if _RBAC_ROLE.match(g)})
    if not roles:
        return ""
    return (f"; {', '.join(roles)} {'is' if len(roles) == 1 else 'are'} held, but Lync RBAC "
            "roles apply only to Lync's remote PowerShell endpoint and Control Panel, not to "
            "a WinRM session that imports the Lync module")


def second_hop(auth: LyncAuth, message: str, *, share: bool) -> bool:
    """Whether a refusal points to the second hop: a share refused, or a store read as
    ANONYMOUS LOGON, from a session whose authentication cannot delegate."""
    if auth not in HOP_AUTHS:
        return False
    return share or bool(_ANONYMOUS.search(message))


def delegation_fix(auth: LyncAuth, where: str) -> str:
    """The fix for a second hop refused."""
    return DELEGATION_FIX.format(auth=auth.value, where=where)

<#
.SYNOPSIS
    Who the audit runs as on this server, and the groups that account is in.
.DESCRIPTION
    Used by `auditor preflight` (not a probe of the audit) to tell whether the account holds
    the roles the probes need. Returns one object:
        UserName  [string]   DOMAIN\name of the remote session's Windows identity
        Groups    [string[]] every group in the session token, as DOMAIN\name (SIDs that
                             cannot be translated are left out)
    Lync RBAC roles (CsViewOnlyAdministrator, CsAdministrator, ...) and RTCUniversalServerAdmins
    are universal groups, so they appear here by name. Nothing is changed. PowerShell 3.0 or later.
#>
[CmdletBinding()]
param()

Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'

$identity = [System.Security.Principal.WindowsIdentity]::GetCurrent()
$names = New-Object 'System.Collections.Generic.List[string]'
foreach ($sid in $identity.Groups) {
    try {
        $names.Add($sid.Translate([System.Security.Principal.NTAccount]).Value)
    }
    catch {
        continue
    }
}
[pscustomobject]@{
    UserName = $identity.Name
    Groups   = $names.ToArray()
}

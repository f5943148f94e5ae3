<#
.SYNOPSIS
    Reads the access rules (NTFS ACL) of a backup destination or the export share.
.DESCRIPTION
    Probe share_acl (rule BR-041). Returns one object per access control entry of the folder
    at -Path, inherited entries included:
        IdentityReference  [string] account name (DOMAIN\name), or a SID string when the
                                    account cannot be resolved
        FileSystemRights   [string] FileSystemRights.ToString(), e.g. "Modify, Synchronize",
                                    or a number for generic rights without a name
        AccessControlType  [string] "Allow" or "Deny"
        IsInherited        [bool]
    Only the NTFS ACL is read (Get-Acl), not the SMB share permissions. Nothing is changed.
    PowerShell 3.0 or later.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)]
    [ValidateNotNullOrEmpty()]
    [string] $Path
)

Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'

$acl = Get-Acl -LiteralPath $Path
foreach ($rule in @($acl.Access)) {
    [pscustomobject]@{
        IdentityReference = [string] $rule.IdentityReference.Value
        FileSystemRights  = $rule.FileSystemRights.ToString()
        AccessControlType = $rule.AccessControlType.ToString()
        IsInherited       = [bool] $rule.IsInherited
    }
}

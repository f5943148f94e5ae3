<#
.SYNOPSIS
    Free and total bytes of the volume behind a UNC path.
.DESCRIPTION
    Probe share_space (rule BR-020). Returns one object:
        Path        [string] the path asked about
        FreeBytes   [int64]  free bytes on the volume (GetDiskFreeSpaceEx lpTotalNumberOfFreeBytes)
        TotalBytes  [int64]  size of the volume in bytes (lpTotalNumberOfBytes)
    Uses the Win32 GetDiskFreeSpaceEx function, which accepts UNC paths (with a trailing
    backslash, added here). A quota on the share is not applied to these numbers.
    Nothing is changed. PowerShell 3.0 or later.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)]
    [ValidateNotNullOrEmpty()]
    [string] $Path
)

Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'

if (-not ('AuditorProbe.DiskSpace' -as [type])) {
    Add-Type -Namespace AuditorProbe -Name DiskSpace -MemberDefinition @'
[DllImport("kernel32.dll", CharSet = CharSet.Unicode, SetLastError = true)]
[return: MarshalAs(UnmanagedType.Bool)]
public static extern bool GetDiskFreeSpaceEx(string lpDirectoryName,
    out ulong lpFreeBytesAvailable, out ulong lpTotalNumberOfBytes,
    out ulong lpTotalNumberOfFreeBytes);
'@
}

$directory = $Path
if (-not $directory.EndsWith('\')) {
    $directory = $directory + '\'
}
$available = [uint64] 0
$total = [uint64] 0
$free = [uint64] 0
$ok = [AuditorProbe.DiskSpace]::GetDiskFreeSpaceEx($directory, [ref] $available, [ref] $total,
                                                   [ref] $free)
if (-not $ok) {
    $code = [System.Runtime.InteropServices.Marshal]::GetLastWin32Error()
    throw (New-Object System.ComponentModel.Win32Exception -ArgumentList $code)
}

[pscustomobject]@{
    Path       = $Path
    FreeBytes  = [int64] $free
    TotalBytes = [int64] $total
}

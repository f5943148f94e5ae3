<#
.SYNOPSIS
    Lists the SQL Server backup files (*.bak, *.trn, *.dif) on a backup destination.
.DESCRIPTION
    Probe share_files (rule BR-050). Returns one object per backup file under -Path, searched
    recursively:
        FullName          [string]   full path
        Length            [int64]    size in bytes
        LastWriteTimeUtc  [datetime] last write, UTC
    The extensions are filtered with Where-Object rather than -Include, whose behaviour with
    -LiteralPath differs between PowerShell versions. A folder that cannot be read stops the
    probe with an error (a partial listing would make present files look missing).
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

$extensions = @('.bak', '.trn', '.dif')
Get-ChildItem -LiteralPath $Path -Recurse -File |
    Where-Object { $extensions -contains $_.Extension.ToLowerInvariant() } |
    ForEach-Object {
        [pscustomobject]@{
            FullName         = $_.FullName
            Length           = [int64] $_.Length
            LastWriteTimeUtc = $_.LastWriteTimeUtc
        }
    }

<#
.SYNOPSIS
    Lists the files on the Lync export share and the entries of each ZIP among them.
.DESCRIPTION
    Probe config_exports (rules BR-010, BR-011). Returns one object per file directly under
    -Path (not recursive):
        Name              [string]   file name
        FullName          [string]   full path
        Length            [int64]    size in bytes
        LastWriteTimeUtc  [datetime] last write, UTC
        IsZip             [bool]     a *.zip file that opened as a ZIP archive
        Entries           [string[]] the archive's entry names (FullName); empty when not a ZIP
    Each ZIP is opened read-only (System.IO.Compression.ZipFile.OpenRead) and closed at once;
    a *.zip that cannot be opened (damaged, still being written) is listed with IsZip $false.
    Nothing is written or changed. PowerShell 3.0 and .NET 4.5 or later.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)]
    [ValidateNotNullOrEmpty()]
    [string] $Path
)

Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'
Add-Type -AssemblyName System.IO.Compression.FileSystem

foreach ($file in @(Get-ChildItem -LiteralPath $Path -File)) {
    $isZip = $false
    # A typed list turned into a plain string[] with ToArray(): remoting serialises it as a
    # list (CLIXML <LST>) item by item, for one entry as for many.
    $names = New-Object 'System.Collections.Generic.List[string]'
    if ($file.Extension -eq '.zip') {
        $archive = $null
        try {
            $archive = [System.IO.Compression.ZipFile]::OpenRead($file.FullName)
            foreach ($entry in $archive.Entries) {
                $names.Add($entry.FullName)
            }
            $isZip = $true
        }
        catch {
            $isZip = $false
            $names.Clear()
        }
        finally {
            if ($null -ne $archive) { $archive.Dispose() }
        }
    }
    [pscustomobject]@{
        Name             = $file.Name
        FullName         = $file.FullName
        Length           = [int64] $file.Length
        LastWriteTimeUtc = $file.LastWriteTimeUtc
        IsZip            = $isZip
        Entries          = $names.ToArray()
    }
}

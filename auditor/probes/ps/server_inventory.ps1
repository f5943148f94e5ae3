<#
.SYNOPSIS
    Hardware model, operating system and installed Lync / Skype for Business / SQL Server
    products of one server.
.DESCRIPTION
    Probe server_inventory (rules DR-010, DR-020). Returns one object:
        ComputerName  [string] the name asked about
        Manufacturer  [string] Win32_ComputerSystem.Manufacturer
        Model         [string] Win32_ComputerSystem.Model
        OsCaption     [string] Win32_OperatingSystem.Caption
        OsVersion     [string] Win32_OperatingSystem.Version
        Products      array of {Name, Version}: the DisplayName and DisplayVersion of every
                      Uninstall registry entry (64-bit and 32-bit views) whose name contains
                      "Lync", "Skype for Business" or "SQL Server"; sorted, duplicates removed
    WMI is read over DCOM (Get-WmiObject -ComputerName); the registry of another computer is
    read through the Remote Registry service, the local one directly. Win32_Product is not
    used (slow, and it can start MSI repairs). Nothing is changed. PowerShell 3.0 or later.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)]
    [ValidateNotNullOrEmpty()]
    [string] $ComputerName
)

Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'

function Test-LocalComputer([string] $Name) {
    $short = $Name.Split('.')[0]
    return ($short -eq $env:COMPUTERNAME) -or ($Name -eq 'localhost') -or ($Name -eq '.')
}

function Open-Hklm([string] $Name, [Microsoft.Win32.RegistryView] $View) {
    $hive = [Microsoft.Win32.RegistryHive]::LocalMachine
    if (Test-LocalComputer $Name) {
        return [Microsoft.Win32.RegistryKey]::OpenBaseKey($hive, $View)
    }
    return [Microsoft.Win32.RegistryKey]::OpenRemoteBaseKey($hive, $Name, $View)
}

$system = Get-WmiObject -Class Win32_ComputerSystem -ComputerName $ComputerName
$os = Get-WmiObject -Class Win32_OperatingSystem -ComputerName $ComputerName

$pattern = 'Lync|Skype for Business|SQL Server'
$uninstall = 'SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall'
$seen = @{}
$found = New-Object 'System.Collections.Generic.List[string]'
$views = @([Microsoft.Win32.RegistryView]::Registry64, [Microsoft.Win32.RegistryView]::Registry32)
foreach ($view in $views) {
    $base = Open-Hklm $ComputerName $view
    try {
        $key = $base.OpenSubKey($uninstall)
        if ($null -eq $key) { continue }
        try {
            foreach ($subName in $key.GetSubKeyNames()) {
                $sub = $key.OpenSubKey($subName)
                if ($null -eq $sub) { continue }
                try {
                    $name = [string] $sub.GetValue('DisplayName')
                    $version = [string] $sub.GetValue('DisplayVersion')
                }
                finally {
                    $sub.Close()
                }
                if ($name -and ($name -match $pattern)) {
                    $id = $name + [char] 0 + $version
                    if (-not $seen.ContainsKey($id)) {
                        $seen[$id] = $true
                        $found.Add($id)
                    }
                }
            }
        }
        finally {
            $key.Close()
        }
    }
    finally {
        $base.Close()
    }
}

# A typed list made into a plain array with ToArray(): remoting serialises it as a list
# (CLIXML <LST>), for one product as for many.
$found.Sort([System.StringComparer]::OrdinalIgnoreCase)
$products = New-Object 'System.Collections.Generic.List[object]'
foreach ($id in $found) {
    $parts = $id.Split([char] 0)
    $products.Add([pscustomobject]@{ Name = $parts[0]; Version = $parts[1] })
}

[pscustomobject]@{
    ComputerName = $ComputerName
    Manufacturer = [string] $system.Manufacturer
    Model        = [string] $system.Model
    OsCaption    = [string] $os.Caption
    OsVersion    = [string] $os.Version
    Products     = $products.ToArray()
}

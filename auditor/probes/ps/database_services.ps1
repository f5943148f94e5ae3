<#
.SYNOPSIS
    The database services of the Lync topology (Get-CsService with each database switch).
.DESCRIPTION
    Probe database_services (compared with the inventory's SQL instances). Returns one object
    per database service:
        Identity         [string] e.g. "UserDatabase:sql01.contoso.com"
        Role             [string] e.g. "UserDatabase"
        PoolFqdn         [string] the SQL Server host's FQDN
        SqlInstanceName  [string] the SQL instance name ("rtc"; empty for a default instance)
        MirrorSqlServer  [string] the mirror SQL Server, where the service object has that
                                  property and it is set; otherwise $null
    Runs Get-CsService once per switch: -UserDatabase, -CentralManagementDatabase,
    -MonitoringDatabase, -ArchivingDatabase, -ApplicationDatabase, -PersistentChatDatabase,
    -PersistentChatComplianceDatabase. The collector imports the Lync module into the
    runspace before it runs this script. Read-only; in a local session (RBAC does not apply)
    Get-CsService needs RTCUniversalUserAdmins or RTCUniversalServerAdmins. Takes no
    parameters. PowerShell 3.0 or later.
#>
[CmdletBinding()]
param()

Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'

function Get-OptionalText($Object, [string] $Name) {
    $property = $Object.PSObject.Properties[$Name]
    if ($null -eq $property -or $null -eq $property.Value) { return $null }
    return [string] $property.Value
}

$switches = @('UserDatabase', 'CentralManagementDatabase', 'MonitoringDatabase',
              'ArchivingDatabase', 'ApplicationDatabase', 'PersistentChatDatabase',
              'PersistentChatComplianceDatabase')
foreach ($switch in $switches) {
    $arguments = @{ $switch = $true }
    foreach ($service in @(Get-CsService @arguments)) {
        [pscustomobject]@{
            Identity        = Get-OptionalText $service 'Identity'
            Role            = Get-OptionalText $service 'Role'
            PoolFqdn        = Get-OptionalText $service 'PoolFqdn'
            SqlInstanceName = Get-OptionalText $service 'SqlInstanceName'
            MirrorSqlServer = Get-OptionalText $service 'MirrorSqlServer'
        }
    }
}

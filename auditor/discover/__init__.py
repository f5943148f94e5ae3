"""`auditor discover`: an inventory from Lync's own topology.

The work is split by job: commands (the cmdlets discovery runs), reading (running them over
one PowerShell-remoting session), model (the topology as inventory entries), sqlcheck (the
`--sql` confirmation over ODBC), writer (a commented inventory) and merge (an existing
inventory updated in place, comments kept).
"""

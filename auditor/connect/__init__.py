"""How to reach a server, below both collection and (later) remediation: ODBC connection strings
(parsed as the drivers read them) and the secret handling every stage shares."""

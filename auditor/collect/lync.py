"""Live Lync Server collection over PowerShell remoting (WinRM + PSRP, pypsrp).

One WSMan connection and one RunspacePool per server. Deployment, pool and share probes run on
the first reachable management server; server probes run on each server itself, in parallel
with a bounded number of workers. A catalogue cmdlet is built with add_cmdlet/add_parameter, a
constant script with add_script/add_parameter: inventory values only ever travel as parameters.
Output objects arrive as CLIXML and are converted in clixml (never through ConvertTo-Json): .NET
DateTime to ISO 8601 with its offset, Int64 and Decimal exactly, enums by name, collections as
lists. Each command has its own deadline, after which the pipeline is stopped. Failures are
observations: unreachable, denied, timeout or error, with messages that never hold the secret.

This module holds the public entry points. The work is in clixml (output conversion),
auditor.connect.winrm and winrm_transport (the session, failures, scrubbing: shared with
remediation), lync_plan (probe targets), lync_session (probes on one server),
lync_collector and lync_preflight.
"""

from __future__ import annotations

from auditor.collect.lync_collector import LyncCollector
from auditor.collect.lync_preflight import preflight_lync

__all__ = ["LyncCollector", "preflight_lync"]

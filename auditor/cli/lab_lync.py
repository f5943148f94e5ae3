"""`auditor lab lync ...`: a loopback WinRM/PSRP endpoint answering the Lync cmdlets."""

from __future__ import annotations

import typer

app = typer.Typer(help="A loopback WinRM endpoint standing in for the Lync servers.",
                  no_args_is_help=True)

"""`auditor lab sql ...`: a local PostgreSQL msdb lab holding the demo estates."""

from __future__ import annotations

import typer

app = typer.Typer(help="A local PostgreSQL lab standing in for the SQL Server back ends.",
                  no_args_is_help=True)

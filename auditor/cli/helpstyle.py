"""Plain --help for the commands that take arguments: each argument by its metavar alone.

Typer prints an argument's Python type after its name (`BUNDLE <path>`) and wraps a required
one in braces in the usage line (`{BUNDLE}`); neither tells an admin more than the name does.
"""

from __future__ import annotations

from typing import Any

from typer.core import TyperCommand

# typer vendors click since 0.2x (typer._click); the context and formatter are taken as they come.
Context = Any
HelpFormatter = Any


class PlainCommand(TyperCommand):
    """A command whose help lists arguments as `NAME  help`, and usage as `NAME`."""

    def collect_usage_pieces(self, ctx: Context) -> list[str]:
        """The usage line's pieces, without the braces around required arguments."""
        return [piece.removeprefix("{").removesuffix("}")
                for piece in super().collect_usage_pieces(ctx)]

    def format_options(self, ctx: Context, formatter: HelpFormatter) -> None:
        """Arguments (by metavar, no type), then options, as click lays them out."""
        args, opts = [], []
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            if param.param_type_name == "argument":
                args.append((record[0].split(" <", 1)[0], record[1]))
            else:
                opts.append(record)
        for title, rows in (("Arguments", args), ("Options", opts)):
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)

"""The documented limits on every input (docs/limits.md): file sizes, nesting, lengths, dates.

They keep a hostile or broken file from exhausting memory or time (a 200,000-character site name
once made PDF rendering run for minutes), while fitting the largest estate the tool is built for:
500 SQL instances. The recorded demo bundles hold about 0.4 MB of evidence per instance, so such an
estate writes a bundle of about 200 MB; the bundle limit leaves room for 2.5 times that.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

from pydantic import BeforeValidator, StringConstraints
from pydantic_core import PydanticCustomError

MIB = 1024 * 1024
MAX_YAML_BYTES = 8 * MIB  # an inventory, a waivers, responses or records file (YAML or CSV)
MAX_BUNDLE_BYTES = 512 * MIB  # an evidence bundle (evidence.json)
MAX_RESULTS_BYTES = 256 * MIB  # a results.json
MAX_PLAN_BYTES = 64 * MIB  # a remediation plan.json
MAX_YAML_DEPTH = 32  # nesting of collections in a YAML file
MAX_JSON_DEPTH = 64  # nesting of arrays and objects in a JSON file
MAX_YAML_NODES = 200_000  # values in one YAML file
MAX_NUMBER_CHARS = 30  # characters of a number written in YAML

MAX_ID_CHARS = 64  # ids: site ids, store names
MAX_NAME_CHARS = 200  # names: site, estate, person, product, model, version, owner, account
MAX_TEXT_CHARS = 2000  # free text: descriptions, notes, reasons, responses, locations
MAX_PATH_CHARS = 1024  # file paths, UNC paths and URLs named in an input
MAX_SUBJECT_CHARS = 600  # a finding's subject id (in waivers and responses)

MIN_YEAR = 1900  # dates and times in inputs (and --now) lie in [MIN_YEAR, MAX_YEAR]: adding a
MAX_YEAR = 2999  # rule's time span to 9999-12-31 overflows Python's calendar

Id = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID_CHARS)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=MAX_NAME_CHARS)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TEXT_CHARS)]
PathText = Annotated[str, StringConstraints(min_length=1, max_length=MAX_PATH_CHARS)]

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff\ud800-\udfff]")


def control_character(text: str) -> re.Match[str] | None:
    """The first character no input text may hold: C0 and C1 control characters (tab, line feed
    and carriage return are allowed), lone surrogates and the noncharacters U+FFFE, U+FFFF."""
    return _CONTROL.search(text)


def in_range(year: int) -> bool:
    """A year inputs may name."""
    return MIN_YEAR <= year <= MAX_YEAR


def _iso_date(value: object) -> object:
    """Dates are written YYYY-MM-DD (no timestamps, no epoch numbers, no other formats)."""
    if isinstance(value, dt.datetime):
        raise PydanticCustomError("iso_date", "must be a date (YYYY-MM-DD), not a date and time")
    if isinstance(value, str) and _ISO_DATE.match(value):
        try:
            value = dt.date.fromisoformat(value)
        except ValueError:
            raise PydanticCustomError("iso_date", "{value} is not a real calendar date",
                                      {"value": value}) from None
    if not isinstance(value, dt.date):
        raise PydanticCustomError("iso_date", "must be a date written YYYY-MM-DD")
    if not in_range(value.year):
        raise PydanticCustomError("iso_date", f"must be a date between {MIN_YEAR}-01-01 and "
                                  f"{MAX_YEAR}-12-31")
    return value


IsoDate = Annotated[dt.date, BeforeValidator(_iso_date)]

"""Check kinds: small typed functions registered by name, each with its own params model."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from auditor.findings import Verdict

if TYPE_CHECKING:
    from auditor.facts import Facts

P = TypeVar("P", bound=BaseModel)


class Params(BaseModel):
    """Base of every check kind's parameters: closed, so a typo in a policy is an error."""

    # Strict: `true` is not a number of hours, nor "26" a number (a whole number is a float).
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


@dataclass(frozen=True)
class Scope:
    """Where a subject sits, for choosing the most specific policy override."""

    site: str | None = None
    pool: str | None = None
    instance: str | None = None
    database: str | None = None  # "HOST\\INSTANCE/db"


ESTATE_SCOPE = Scope()

ParamsFor = Callable[[Scope], P]
CheckFunc = Callable[["Facts", ParamsFor[P]], Iterable[Verdict]]


@dataclass(frozen=True)
class CheckKind(Generic[P]):
    """A named check: its params model and the function that yields one verdict per subject."""

    name: str
    params_model: type[P]
    func: CheckFunc[P]


def check_kind(name: str, params: type[P]) -> Callable[[CheckFunc[P]], CheckKind[P]]:
    """Wrap a function as a CheckKind; registers nothing (see auditor.checks)."""
    def wrap(func: CheckFunc[P]) -> CheckKind[P]:
        return CheckKind(name=name, params_model=params, func=func)
    return wrap


def build_registry(kinds: Iterable[CheckKind[Any]]) -> Mapping[str, CheckKind[Any]]:
    """An immutable name -> kind mapping; duplicate names are a programming error."""
    registry: dict[str, CheckKind[Any]] = {}
    for kind in kinds:
        if kind.name in registry:
            raise ValueError(f"duplicate check kind {kind.name!r}")
        registry[kind.name] = kind
    return MappingProxyType(registry)

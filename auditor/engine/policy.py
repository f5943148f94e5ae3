"""Policy overrides: the most specific scope wins (database > instance > pool > site > default)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from auditor.canonical import canonical_bytes
from auditor.engine.registry import Scope
from auditor.engine.rules import Rule
from auditor.errors import InputError, in_line_order, raise_all
from auditor.inventory import BackupWindow, Inventory, LoadedInventory, PolicyOverride
from auditor.yamlio import Loc, dotted, line_of, validation_errors

P = TypeVar("P", bound=BaseModel)
WINDOW_FIELD = "backup_window"


ShorthandLoc = tuple[str, int]


def window_shorthands(inventory: Inventory) -> list[tuple[ShorthandLoc, PolicyOverride]]:
    """Each backup_window written on a site, pool or instance, with where it is written, as
    the policy override it stands for."""
    out: list[tuple[ShorthandLoc, PolicyOverride]] = []
    for i, site in enumerate(inventory.sites):
        if site.backup_window:
            out.append((("sites", i), PolicyOverride(site=site.id,
                                                     backup_window=site.backup_window)))
    for i, pool in enumerate(inventory.pools):
        if pool.backup_window:
            out.append((("pools", i), PolicyOverride(pool=pool.fqdn,
                                                     backup_window=pool.backup_window)))
    for i, inst in enumerate(inventory.sql_instances):
        if inst.backup_window:
            out.append((("sql_instances", i), PolicyOverride(instance=inst.server_name,
                                                             backup_window=inst.backup_window)))
    return out


def policy_overrides(inventory: Inventory) -> list[PolicyOverride]:
    """policy.overrides, then the backup_window shorthands (validate_policy refuses a scope
    given a window both ways, so their order does not decide anything)."""
    return [*inventory.policy.overrides, *(o for _, o in window_shorthands(inventory))]


def _window(window: BackupWindow | None) -> dict[str, Any]:
    return {WINDOW_FIELD: window.model_dump()} if window else {}


def _matches(override: PolicyOverride, scope: Scope) -> int:
    """0 when the override does not apply; else its specificity (higher wins)."""
    checks = ((override.database, scope.database, 4), (override.instance, scope.instance, 3),
              (override.pool, scope.pool, 2), (override.site, scope.site, 1))
    for wanted, actual, rank in checks:
        if wanted is not None:
            return rank if actual is not None and wanted.lower() == actual.lower() else 0
    return 0


def params_resolver(rule: Rule, model: type[P], inventory: Inventory,
                    source: str) -> Callable[[Scope], P]:
    """A function giving the rule's params for a subject's scope, validated by the kind's model."""
    takes_window = WINDOW_FIELD in model.model_fields
    base = dict(rule.params)
    if takes_window:
        base.update(_window(inventory.policy.backup_window))
    base.update(inventory.policy.rules.get(rule.id, {}))
    overrides = policy_overrides(inventory)
    cache: dict[bytes, P] = {}

    def resolve(scope: Scope) -> P:
        merged = dict(base)
        applicable = sorted(((rank, i, o) for i, o in enumerate(overrides)
                             if (rank := _matches(o, scope))), key=lambda t: (t[0], t[1]))
        for _, _, override in applicable:
            if takes_window:
                merged.update(_window(override.backup_window))
            merged.update(override.rules.get(rule.id, {}))
        key = canonical_bytes(merged)
        if key not in cache:
            try:
                cache[key] = model.model_validate(merged)
            except ValidationError as exc:
                err = exc.errors(include_url=False)[0]
                field = ".".join(str(p) for p in err["loc"])
                raise InputError(source, f"{err['msg']}",
                                 field=f"policy {rule.id}.{field}") from None
        return cache[key]

    return resolve


def validate_policy(rules: Sequence[Rule], models: Mapping[str, type[BaseModel]],
                    loaded: LoadedInventory) -> None:
    """Every policy entry names a known rule and valid params, checked before evaluation."""
    policy = loaded.inventory.policy
    entries: list[tuple[Loc, dict[str, dict[str, Any]]]] = [(("policy", "rules"), policy.rules)]
    entries += [(("policy", "overrides", i, "rules"), o.rules)
                for i, o in enumerate(policy.overrides)]
    by_id = {r.id: r for r in rules}
    errors: list[InputError] = []
    for where, params in entries:
        for rule_id, values in params.items():
            loc: Loc = (*where, rule_id)
            rule = by_id.get(rule_id)
            if rule is None:
                errors.append(InputError(loaded.path, f"unknown rule id {rule_id!r}",
                                         line=line_of(loaded.lines, loc), field=dotted(loc)))
                continue
            try:
                models[rule.check].model_validate({**rule.params, **values})
            except ValidationError as exc:
                errors += validation_errors(exc, loaded.path, loaded.lines, loc)
    raise_all(in_line_order(errors + _window_twice(loaded)))


def _scope_key(o: PolicyOverride) -> tuple[str | None, ...]:
    return tuple(v.lower() if v else None for v in (o.site, o.pool, o.instance, o.database))


def _window_twice(loaded: LoadedInventory) -> list[InputError]:
    """A backup_window written on a site, pool or instance and again in policy.overrides for
    the same scope: which one holds would depend on the order of the file, so refuse it."""
    errors = []
    overrides = loaded.inventory.policy.overrides
    for where, shorthand in window_shorthands(loaded.inventory):
        for j, o in enumerate(overrides):
            if o.backup_window and _scope_key(o) == _scope_key(shorthand):
                loc: Loc = (*where, WINDOW_FIELD)
                other: Loc = ("policy", "overrides", j, WINDOW_FIELD)
                errors.append(InputError(
                    loaded.path, f"also set by {dotted(other)} (line "
                    f"{line_of(loaded.lines, other)}): keep one of the two",
                    line=line_of(loaded.lines, loc), field=dotted(loc)))
    return errors

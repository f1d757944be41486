"""ORM queries compiled once per process and run again with new values: for the few reads on the chat turn's
hot path, where building and compiling the same ``select_related`` query on every call cost more CPU than
PostgreSQL spent running it (ADR 0040).

    MESSAGE = PreparedQuery(lambda pk: ChatMessage.objects.select_related("session").filter(pk=pk)[:1], 0)
    message = MESSAGE.first(pk=42)

``build`` receives distinctive placeholder values, one per argument; every SQL parameter equal to a placeholder
is replaced by that argument on each run, every other parameter is a constant of the query. Rows become model
instances exactly as ``QuerySet.__iter__`` makes them (related objects from ``select_related``, annotations as
attributes). Table names are unqualified, so the statement reads the active team's schema like any ORM query.
Only plain lookups belong here: no prefetches, no ``known related objects``, no per-call expressions.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db import connections
from django.db.models import Model, QuerySet
from django.db.models.query import get_related_populators  # type: ignore[attr-defined]

M = TypeVar("M", bound=Model)

_ARGUMENT = object()


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple[Any, ...]  # constants, or _ARGUMENT at the positions arguments fill
    arguments: tuple[str, ...]  # the argument name for each _ARGUMENT position, in order
    compiler: Any
    model: type[Model]
    fields: slice
    init_list: list[str]
    populators: list[Any]
    annotations: dict[str, int]


class PreparedQuery(Generic[M]):
    def __init__(self, build: Callable[..., QuerySet[M]], **placeholders: Any) -> None:
        self._build = build
        self._placeholders = placeholders
        self._compiled: _Compiled | None = None
        self._lock = threading.Lock()

    def first(self, **arguments: Any) -> M | None:
        compiled = self._compiled or self._compile()
        if arguments.keys() != self._placeholders.keys():
            raise TypeError(f"expected arguments {sorted(self._placeholders)}, got {sorted(arguments)}")
        values = iter(arguments[name] for name in compiled.arguments)
        params = [next(values) if p is _ARGUMENT else p for p in compiled.params]
        with connections["default"].cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows = cursor.fetchmany(1)
        for row in compiled.compiler.results_iter(results=[rows]):
            obj = compiled.model.from_db("default", compiled.init_list, row[compiled.fields])
            for populator in compiled.populators:
                populator.populate(row, obj)
            for name, position in compiled.annotations.items():
                setattr(obj, name, row[position])
            return obj  # type: ignore[return-value]
        return None

    def _compile(self) -> _Compiled:
        with self._lock:
            if self._compiled is not None:
                return self._compiled
            queryset: Any = self._build(**self._placeholders)
            if queryset._prefetch_related_lookups or queryset._known_related_objects:
                raise ValueError("PreparedQuery supports plain lookups only")
            compiler = queryset.query.get_compiler(using="default")
            sql, raw_params = compiler.as_sql()
            params: list[Any] = []
            names: list[str] = []
            for value in raw_params:
                name = next((n for n, p in self._placeholders.items() if _same(p, value)), None)
                params.append(value if name is None else _ARGUMENT)
                if name is not None:
                    names.append(name)
            missing = set(self._placeholders) - set(names)
            if missing:
                raise ValueError(f"placeholders not found among the query's parameters: {sorted(missing)}")
            klass_info = compiler.klass_info
            start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
            self._compiled = _Compiled(
                sql=sql,
                params=tuple(params),
                arguments=tuple(names),
                compiler=compiler,
                model=klass_info["model"],
                fields=slice(start, end),
                init_list=[column[0].target.attname for column in compiler.select[start:end]],
                populators=get_related_populators(klass_info, compiler.select, "default"),
                annotations=dict(compiler.annotation_col_map or {}),
            )
            return self._compiled


def _same(placeholder: Any, value: Any) -> bool:
    return type(placeholder) is type(value) and placeholder == value

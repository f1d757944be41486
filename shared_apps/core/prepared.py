"""ORM queries compiled once per process and run again with new values: for the few reads on the chat turn's
hot path, where building and compiling the same ``select_related`` query on every call cost more CPU than
PostgreSQL spent running it (ADR 0040).

    MESSAGE = PreparedQuery(lambda pk: ChatMessage.objects.select_related("session").filter(pk=pk)[:1], pk=int)
    message = MESSAGE.first(pk=42)

Each argument is declared with its type (``int``, ``str`` or ``uuid.UUID``). ``build`` is called once with a
distinctive placeholder value of that type per argument; every SQL parameter equal to a placeholder is replaced by
that argument on each run, every other parameter is a constant of the query. Rows become model
instances exactly as ``QuerySet.__iter__`` makes them (related objects from ``select_related``, annotations as
attributes). Table names are unqualified, so the statement reads the active team's schema like any ORM query.
Only plain lookups belong here: no prefetches, no ``known related objects``, no per-call expressions.

The turn's writes go the same way: ``write_together(insert(reply), insert(trace), update(...))`` runs them as
one statement, so the end of a turn is one round trip with no ORM compilation and no BEGIN/COMMIT.
"""

from __future__ import annotations

import secrets
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
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
    converters: dict[int, Any]  # the database -> Python converters of the selected columns (JSON, timezones, ...)


class PreparedQuery(Generic[M]):
    def __init__(self, build: Callable[..., QuerySet[M]], **arguments: type) -> None:
        self._build = build
        self._placeholders = {name: _placeholder(kind) for name, kind in arguments.items()}
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
        if compiled.converters:
            rows = compiled.compiler.apply_converters(rows, compiled.converters)
        for row in rows:
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
                converters=compiler.get_converters([column[0] for column in compiler.select[: compiler.col_count]]),
            )
            return self._compiled


def _placeholder(kind: type) -> Any:
    """A value of ``kind`` that no query holds as a constant: it marks where an argument goes in the compiled SQL.
    Integers are large negative numbers (ids, counts and limits never are) inside the 32-bit range, since Django
    compiles an out-of-range integer lookup to "matches nothing" instead of a parameter."""
    if kind is int:
        return -(2**30) - secrets.randbelow(2**30)
    if kind is str:
        return f"\x00{uuid.uuid4().hex}"
    if kind is uuid.UUID:
        return uuid.uuid4()
    if kind is datetime:  # an aware instant early in 1901 no query compares against
        return datetime(1901, 1, 1, tzinfo=UTC) + timedelta(microseconds=secrets.randbelow(10**12))
    raise TypeError(f"PreparedQuery arguments are int, str, uuid.UUID or datetime, not {kind!r}")


def _same(placeholder: Any, value: Any) -> bool:
    return type(placeholder) is type(value) and placeholder == value


def as_uuid(value: Any) -> uuid.UUID | None:
    """``value`` as a UUID, or None when it is not one (such an id matches nothing). A PreparedQuery passes its
    arguments to the database as given, without the conversion an ORM lookup does: callers convert ids first."""
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


# --------------------------------------------------------------------------------------------- writes in one go


@dataclass(frozen=True)
class Write:
    """One data-modifying statement for ``write_together``; ``created`` is the instance an INSERT makes."""

    sql: str
    params: list[Any]
    created: Model | None = None


def insert(obj: Model) -> Write:
    """INSERT ``obj`` (a new instance, no primary key yet) as ``save()`` would: field defaults, ``auto_now_add``,
    the same database values. ``write_together`` gives it its primary key."""
    if obj.pk is not None:
        raise ValueError("insert() is for new instances without a primary key")
    sql, fields = _insert_sql(type(obj))
    connection = connections["default"]
    params = [field.get_db_prep_save(field.pre_save(obj, True), connection=connection) for field in fields]
    return Write(sql=sql, params=params, created=obj)


def update(model: type[Model], pk: Any, **values: Any) -> Write:
    """UPDATE one row by primary key, setting ``values`` (field names; the database values ``update()`` uses)."""
    meta, connection = model._meta, connections["default"]
    quote = connection.ops.quote_name
    fields = [meta.get_field(name) for name in values]
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)  # type: ignore[union-attr,arg-type]
    assert meta.pk is not None
    sql = f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(meta.pk.column)} = %s"  # noqa: S608
    params = [field.get_db_prep_save(values[field.name], connection=connection) for field in fields]  # type: ignore[union-attr]
    return Write(sql=sql, params=[*params, meta.pk.get_db_prep_save(pk, connection=connection)])


def write_together(*writes: Write) -> None:
    """Run ``writes`` as one statement (a ``WITH`` of data-modifying statements): all or nothing without a
    BEGIN/COMMIT, one round trip instead of one per write plus two. A constraint violation in any of them raises
    ``IntegrityError`` and writes nothing. The statements see the database as it was before the statement, so no
    write may depend on another's result."""
    parts, params, returned = [], [], []
    for index, write in enumerate(writes):
        parts.append(f"w{index} AS ({write.sql})")
        params.extend(write.params)
        if write.created is not None:
            returned.append((index, write.created))
    selected = ", ".join(f"(SELECT pk FROM w{index})" for index, _ in returned) or "1"  # noqa: S608
    sql = f"WITH {', '.join(parts)} SELECT {selected}"
    with connections["default"].cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    for (_, obj), pk in zip(returned, row or (), strict=False):
        obj.pk = pk
        obj._state.adding, obj._state.db = False, "default"


_insert_cache: dict[type[Model], tuple[str, list[Any]]] = {}


def _insert_sql(model: type[Model]) -> tuple[str, list[Any]]:
    cached = _insert_cache.get(model)
    if cached is None:
        meta, quote = model._meta, connections["default"].ops.quote_name
        fields = [field for field in meta.local_concrete_fields if field is not meta.auto_field]
        if any(field.has_db_default() for field in fields) or meta.pk is None:  # type: ignore[attr-defined]
            raise ValueError(f"insert() does not support {model.__name__}")
        columns = ", ".join(quote(field.column) for field in fields)
        values = ", ".join(["%s"] * len(fields))
        table, pk = quote(meta.db_table), quote(meta.pk.column)
        sql = f"INSERT INTO {table} ({columns}) VALUES ({values}) RETURNING {pk} AS pk"  # noqa: S608
        cached = _insert_cache[model] = (sql, fields)
    return cached

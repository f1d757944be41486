"""What the console reads. Everything comes from public tables (teams, memberships, billing's usage days, the
console's roll-ups, Redis): no page opens a team schema, so its cost does not grow with the number of schemas
(bench/soak.py times the teams list and the health page at 1,000 and 10,000 teams)."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from config.celery import Queue
from shared_apps.billing.models import Plan, UsageDay
from shared_apps.console import heartbeats
from shared_apps.console.flags import FLAGS
from shared_apps.console.models import Impersonation, StaffAction, TeamFlag
from shared_apps.core import health
from shared_apps.core.redis import get_redis
from tenants.enums import TeamStatus
from tenants.models import Membership, Team

logger = logging.getLogger(__name__)

MAX_SEARCH = 100
SORTS = {
    "name": "name",
    "plan": "plan_code",
    "status": "status",
    "members": "members",
    "chatbots": "chatbots",
    "messages": "ai_messages",
    "activity": "last_activity",
    "created": "created_at",
}


def month_start(today: date | None = None) -> date:
    today = today or timezone.now().astimezone(UTC).date()
    return today.replace(day=1)


def team_list(*, search: str = "", sort: str = "name", status: str = "") -> QuerySet[Team]:
    """Teams with members, chatbots, AI messages this month and last activity, searchable and sortable.

    ``sort`` is a key of ``SORTS``, optionally prefixed with ``-``; anything else sorts by name. Ties break on id
    so pages are stable."""
    members = (
        Membership.objects.filter(team=OuterRef("pk")).order_by().values("team").annotate(n=Count("pk")).values("n")
    )
    messages = (
        UsageDay.objects.filter(team=OuterRef("pk"), day__gte=month_start())
        .order_by()
        .values("team")
        .annotate(n=Sum("ai_messages"))
        .values("n")
    )
    qs = (
        Team.objects.teams()
        .select_related("rollup")
        .annotate(
            members=Coalesce(Subquery(members, output_field=IntegerField()), Value(0)),
            ai_messages=Coalesce(Subquery(messages, output_field=IntegerField()), Value(0)),
            chatbots=Coalesce("rollup__chatbots", Value(0)),
            last_activity=Coalesce("rollup__last_activity_at", "provisioned_at"),
        )
    )
    search = search.strip()[:MAX_SEARCH]
    if search:
        qs = qs.filter(Q(name__icontains=search) | Q(slug__icontains=search))
    if status in TeamStatus.values:
        qs = qs.filter(status=status)
    descending = sort.startswith("-")
    column = SORTS.get(sort.lstrip("-"), "name")
    order = f"-{column}" if descending else column
    if column in ("last_activity",):
        from django.db.models import F

        expression = F(column).desc(nulls_last=True) if descending else F(column).asc(nulls_last=True)
        return qs.order_by(expression, "pk")
    return qs.order_by(order, "pk")


# The page's order computed in one statement: the per-team sums are grouped once and hash-joined, instead of a
# correlated sub-query per team (which cost ~10,000 index scans when ordering 10,000 teams by usage).
_ORDER_SQL = """
SELECT t.id FROM tenants_team t
LEFT JOIN (SELECT team_id, count(*) AS n FROM tenants_membership GROUP BY team_id) m ON m.team_id = t.id
LEFT JOIN (SELECT team_id, sum(ai_messages) AS n FROM billing_usageday WHERE day >= %(since)s GROUP BY team_id) u
       ON u.team_id = t.id
LEFT JOIN console_teamrollup r ON r.team_id = t.id
WHERE t.schema_name <> 'public' {where}
ORDER BY {order}, t.id {direction}
LIMIT %(limit)s OFFSET %(offset)s
"""
_ORDER_COLUMNS = {
    "name": "t.name",
    "plan": "t.plan_code",
    "status": "t.status",
    "members": "COALESCE(m.n, 0)",
    "chatbots": "COALESCE(r.chatbots, 0)",
    "messages": "COALESCE(u.n, 0)",
    "activity": "COALESCE(r.last_activity_at, t.provisioned_at)",
    "created": "t.created_at",
}


class TeamPages:
    """What ``Paginator`` pages over for the console's teams list: ``count()`` of the filtered teams, and a slice
    = the ids of that page in order (one statement), then those teams with their figures (``team_list``)."""

    def __init__(self, *, search: str = "", sort: str = "name", status: str = "") -> None:
        self.search = search.strip()[:MAX_SEARCH]
        self.status = status if status in TeamStatus.values else ""
        self.descending = sort.startswith("-")
        self.column = sort.lstrip("-") if sort.lstrip("-") in _ORDER_COLUMNS else "name"

    def count(self) -> int:
        qs = Team.objects.teams()
        if self.search:
            qs = qs.filter(Q(name__icontains=self.search) | Q(slug__icontains=self.search))
        if self.status:
            qs = qs.filter(status=self.status)
        return qs.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, window: slice) -> list[Team]:
        from shared_apps.core.db import connection

        start = window.start or 0
        stop = window.stop if window.stop is not None else start + 50
        params: dict[str, Any] = {"since": month_start(), "limit": max(stop - start, 0), "offset": start}
        where = ""
        if self.search:
            where += " AND (t.name ILIKE %(search)s OR t.slug ILIKE %(search)s)"
            params["search"] = "%" + self.search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        if self.status:
            where += " AND t.status = %(status)s"
            params["status"] = self.status
        direction = "DESC" if self.descending else "ASC"
        order = f"{_ORDER_COLUMNS[self.column]} {direction} NULLS LAST"
        sql = _ORDER_SQL.format(where=where, order=order, direction=direction)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            ids = [row[0] for row in cursor.fetchall()]
        rows = {team.pk: team for team in team_list().filter(pk__in=ids)}
        return [rows[pk] for pk in ids if pk in rows]


@dataclass
class TeamDetail:
    team: Team
    members: list[Membership]
    flags: list[dict[str, Any]]
    plans: list[Plan]
    actions: list[StaffAction]
    visits: list[Impersonation]
    usage: list[dict[str, Any]]


def team_detail(*, team_id: int) -> TeamDetail | None:
    team = Team.objects.teams().select_related("rollup").filter(pk=team_id).first()
    if team is None:
        return None
    enabled = set(TeamFlag.objects.filter(team=team).values_list("name", flat=True))
    since = timezone.now().date() - timedelta(days=30)
    usage: list[dict[str, Any]] = list(
        UsageDay.objects.filter(team=team, day__gte=since)
        .order_by("day")
        .values("day", "ai_messages", "model_cost", "input_tokens", "output_tokens")  # type: ignore[arg-type]
    )
    return TeamDetail(
        team=team,
        members=list(Membership.objects.filter(team=team).select_related("user").order_by("role", "user__email")[:100]),
        flags=[{"name": f.name, "description": f.description, "enabled": f.name in enabled} for f in FLAGS.values()],
        plans=list(Plan.objects.order_by("sort_order", "code")),
        actions=list(StaffAction.objects.filter(team=team).select_related("actor")[:50]),
        visits=list(Impersonation.objects.filter(team=team).select_related("staff")[:20]),
        usage=usage,
    )


def flag_enabled(*, team: Team, name: str) -> bool:
    if name not in FLAGS:
        raise KeyError(f"unknown feature flag {name!r}: declare it in shared_apps/console/flags.py")
    return TeamFlag.objects.filter(team=team, name=name).exists()


def staff_action_list(*, action: str = "", team: str = "", actor: str = "") -> QuerySet[StaffAction]:
    qs = StaffAction.objects.all()
    if action:
        qs = qs.filter(action__startswith=action[:60])
    if team:
        qs = qs.filter(team_label__icontains=team[:100])
    if actor:
        qs = qs.filter(actor_label__icontains=actor[:254])
    return qs


# ---------------------------------------------------------------------------------------------- charts


@dataclass
class Series:
    title: str
    points: list[tuple[date, int]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(value for _, value in self.points)

    @property
    def peak(self) -> int:
        return max((value for _, value in self.points), default=0)


def _daily(rows: dict[date, int], days: int, today: date) -> list[tuple[date, int]]:
    start = today - timedelta(days=days - 1)
    return [(start + timedelta(days=i), int(rows.get(start + timedelta(days=i), 0))) for i in range(days)]


def signups_series(*, days: int = 90, today: date | None = None) -> Series:
    today = today or timezone.now().astimezone(UTC).date()
    since = datetime.combine(today - timedelta(days=days - 1), datetime.min.time(), tzinfo=UTC)
    rows = (
        Team.objects.teams()
        .filter(created_at__gte=since)
        .annotate(day=TruncDate("created_at", tzinfo=UTC))
        .values("day")
        .annotate(n=Count("pk"))
    )
    return Series("Team signups per day", _daily({row["day"]: row["n"] for row in rows}, days, today))


def messages_series(*, days: int = 90, today: date | None = None) -> Series:
    today = today or timezone.now().astimezone(UTC).date()
    rows = (
        UsageDay.objects.filter(day__gte=today - timedelta(days=days - 1)).values("day").annotate(n=Sum("ai_messages"))
    )
    return Series("AI messages per day", _daily({row["day"]: row["n"] or 0 for row in rows}, days, today))


def overview() -> dict[str, Any]:
    counts = dict(Team.objects.teams().values_list("status").annotate(n=Count("pk")))
    return {
        "teams": sum(counts.values()),
        "by_status": counts,
        "open_visits": Impersonation.objects.filter(ended_at__isnull=True).count(),
    }


# ---------------------------------------------------------------------------------------------- health


@dataclass
class SystemHealth:
    checks: dict[str, str]
    database: dict[str, Any]
    redis: dict[str, Any]
    queues: list[dict[str, Any]]
    workers: list[dict[str, Any]]
    beat_last_run: float | None
    beat_age: float | None
    migrations: dict[str, Any] | None
    seconds: float

    @property
    def ok(self) -> bool:
        return (
            all(v == "ok" for v in self.checks.values())
            and self.beat_ok
            and all(q["served"] for q in self.queues)
            and not (self.migrations or {}).get("count")
        )

    @property
    def beat_ok(self) -> bool:
        return self.beat_age is not None and self.beat_age < BEAT_STALE_SECONDS


BEAT_STALE_SECONDS = 600  # beat sends something at least every few minutes (turns requeue: every 2)


def broker_redis() -> Any:
    import redis

    url = settings.CELERY_BROKER_URL
    if url == settings.REDIS_URL:
        return get_redis()
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def queue_depths() -> dict[str, int | None]:
    try:
        pipe = broker_redis().pipeline()
        for queue in Queue:
            pipe.llen(queue.value)
        return dict(zip([q.value for q in Queue], pipe.execute(), strict=True))
    except Exception:  # the page shows the broker as unreachable instead of failing
        return {q.value: None for q in Queue}


def system_health() -> SystemHealth:
    started = time.perf_counter()
    readiness = health.readiness()
    database: dict[str, Any] = {}
    try:
        from shared_apps.core.db import connection

        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT current_setting('server_version'), (SELECT count(*) FROM pg_stat_activity), "
                "current_setting('max_connections')::int"
            )
            version, connections, max_connections = cursor.fetchone()
        database = {"version": version, "connections": connections, "max_connections": max_connections}
    except Exception:  # shown as the failed readiness check
        database = {}
    redis_info: dict[str, Any] = {}
    workers: list[dict[str, Any]] = []
    beat_last: float | None = None
    migrations = None
    try:
        info = get_redis().info("memory")
        redis_info = {"used_memory": info.get("used_memory_human", "?")}
        workers = heartbeats.workers_read()
        beat_last = heartbeats.beat_last_run()
        raw = get_redis().get(heartbeats.pending_migrations_key())
        migrations = json.loads(raw) if raw else None
    except Exception:  # Redis down: its readiness check says so
        logger.warning("console.health_redis_failed")
    depths = queue_depths()
    alive_queues = {q for w in workers if w["alive"] for q in w["queues"]}
    queues = [{"name": name, "depth": depth, "served": name in alive_queues} for name, depth in depths.items()]
    now = time.time()
    return SystemHealth(
        checks=readiness.checks,
        database=database,
        redis=redis_info,
        queues=queues,
        workers=workers,
        beat_last_run=beat_last,
        beat_age=(now - beat_last) if beat_last else None,
        migrations=migrations,
        seconds=time.perf_counter() - started,
    )

"""Scheduled messages: create, cancel, and run the due ones (the team tick calls ``scheduled_run_due``).

Claiming is one short transaction: ``SELECT ... FOR UPDATE SKIP LOCKED`` on the due rows, an attempt row for each
and the schedule moved to its next run; two workers ticking at once therefore never take the same row, and a row
whose run was claimed is never due again for that run. Sending happens after the commit, outside any transaction
(a sender talks to a platform); its result lands on the attempt. A worker that dies between the two leaves an
attempt with no result: the message is not sent twice (at most once, ADR 0140).

Missed runs (the scheduler was down): a due schedule is sent once, late, and its next run is the first one after
now; the runs in between are skipped and the attempt says how many (ADR 0140).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction

from shared_apps.core.exceptions import ApplicationError
from tenant_apps.chatbots.models import Chatbot
from tenant_apps.conversations.models import Participant
from tenant_apps.events import clock, outbound, rules
from tenant_apps.events.enums import AttemptResult, IntervalUnit, Origin, ScheduleStatus
from tenant_apps.events.exceptions import InvalidStateError
from tenant_apps.events.models import ScheduledAttempt, ScheduledMessage

logger = logging.getLogger(__name__)

MAX_TEXT = 2000
MAX_AHEAD = timedelta(days=400)
MAX_RUNS = 1000
PER_PARTICIPANT_ACTIVE = 50  # a bot asked to schedule in a loop cannot fill the table
CLAIM_BATCH = 200


def _step(interval: int, unit: str) -> timedelta:
    return {IntervalUnit.HOURS: timedelta(hours=interval), IntervalUnit.DAYS: timedelta(days=interval)}.get(
        IntervalUnit(unit), timedelta(weeks=interval)
    )


@transaction.atomic
def scheduled_message_create(
    *,
    chatbot: Chatbot,
    participant: Participant,
    text: str,
    first_run_at: datetime,
    origin: Origin,
    interval: int | None = None,
    unit: IntervalUnit | None = None,
    until: datetime | None = None,
    max_runs: int | None = None,
    created_by: Any = None,
    request_key: str | None = None,
    now: datetime | None = None,
) -> ScheduledMessage:
    """Schedule ``text`` for ``participant`` at ``first_run_at`` (UTC), once or every ``interval`` ``unit`` until
    ``until`` and/or ``max_runs`` sends. The service the builder UI, the API, the bot's tool and trigger actions all
    call. ``request_key`` makes it idempotent (the same key returns the first schedule). Raises
    ``InvalidStateError`` ("scheduled.*") for bad input."""
    now = now or clock.now()
    text = text.strip()
    if request_key:
        existing = ScheduledMessage.objects.filter(request_key=request_key).first()
        if existing is not None:
            return existing
    errors: dict[str, str] = {}
    if not text:
        errors["text"] = "Write the message."
    elif len(text) > MAX_TEXT:
        errors["text"] = f"At most {MAX_TEXT} characters."
    if first_run_at > now + MAX_AHEAD:
        errors["first_run_at"] = "At most 400 days ahead."
    if (interval is None) != (unit is None):
        errors["interval"] = "A repeating message needs both how often and the unit."
    elif interval is not None and not 1 <= interval <= 1000:
        errors["interval"] = "Between 1 and 1000."
    if max_runs is not None and not 1 <= max_runs <= MAX_RUNS:
        errors["max_runs"] = f"Between 1 and {MAX_RUNS}."
    if until is not None and until < first_run_at:
        errors["until"] = "The end must be after the first run."
    if errors:
        raise InvalidStateError(
            code="scheduled.invalid", message="Check the scheduled message.", extra={"fields": errors}
        )
    if ScheduledMessage.objects.filter(participant=participant, status=ScheduleStatus.ACTIVE).count() >= (
        PER_PARTICIPANT_ACTIVE
    ):
        raise InvalidStateError(
            code="scheduled.too_many",
            message=f"This participant already has {PER_PARTICIPANT_ACTIVE} scheduled messages.",
        )
    try:
        with transaction.atomic():
            return ScheduledMessage.objects.create(
                chatbot=chatbot,
                participant=participant,
                text=text,
                origin=origin,
                first_run_at=first_run_at,
                next_run_at=first_run_at,
                interval=interval,
                unit=unit or "",
                until=until,
                max_runs=1 if interval is None else max_runs,
                created_by=created_by,
                request_key=request_key or None,
            )
    except IntegrityError:
        existing = ScheduledMessage.objects.filter(request_key=request_key).first() if request_key else None
        if existing is None:
            raise
        return existing


@transaction.atomic
def scheduled_message_cancel(*, scheduled: ScheduledMessage, now: datetime | None = None) -> ScheduledMessage:
    """Stop a schedule (runs already claimed still finish). Cancelling twice is a no-op."""
    scheduled = ScheduledMessage.objects.select_for_update().get(pk=scheduled.pk)
    if scheduled.status == ScheduleStatus.ACTIVE:
        scheduled.status = ScheduleStatus.CANCELLED
        scheduled.cancelled_at = now or clock.now()
        scheduled.next_run_at = None
        scheduled.save(update_fields=["status", "cancelled_at", "next_run_at"])
    return scheduled


def next_run(scheduled: ScheduledMessage, *, after: datetime) -> tuple[datetime | None, int]:
    """The schedule's first run strictly after ``after`` (None when it is over), and how many runs between its
    current ``next_run_at`` (exclusive) and that one were missed."""
    assert scheduled.next_run_at is not None
    if scheduled.interval is None:
        return None, 0
    if scheduled.max_runs is not None and scheduled.runs_done >= scheduled.max_runs:
        return None, 0
    step = _step(scheduled.interval, scheduled.unit)
    behind = max(0, int((after - scheduled.next_run_at) / step))  # whole steps already passed
    candidate = scheduled.next_run_at + step * (behind + 1)
    if scheduled.until is not None and candidate > scheduled.until:
        return None, behind
    return candidate, behind


@dataclass(frozen=True)
class Claimed:
    attempt_id: int
    scheduled_id: int
    missed: int


def scheduled_claim_due(*, now: datetime | None = None, limit: int = CLAIM_BATCH) -> list[Claimed]:
    """Claim up to ``limit`` due schedules (row locks, SKIP LOCKED): an attempt for each, the schedule advanced."""
    now = now or clock.now()
    claimed: list[Claimed] = []
    with transaction.atomic():
        due = list(
            ScheduledMessage.objects.select_for_update(skip_locked=True)
            .filter(status=ScheduleStatus.ACTIVE, next_run_at__lte=now)
            .order_by("next_run_at")[:limit]
        )
        for scheduled in due:
            assert scheduled.next_run_at is not None
            attempt = ScheduledAttempt.objects.create(scheduled=scheduled, due_at=scheduled.next_run_at)
            scheduled.runs_done += 1
            following, missed = next_run(scheduled, after=now)
            scheduled.next_run_at = following
            if following is None:
                scheduled.status = ScheduleStatus.DONE
            claimed.append(Claimed(attempt.pk, scheduled.pk, missed))
        if due:
            ScheduledMessage.objects.bulk_update(due, ["runs_done", "next_run_at", "status"])
    return claimed


def attempt_run(*, claimed: Claimed, now: datetime | None = None) -> ScheduledAttempt:
    """Send one claimed attempt (outside any transaction) and record its result."""
    now = now or clock.now()
    attempt = ScheduledAttempt.objects.select_related("scheduled__chatbot", "scheduled__participant").get(
        pk=claimed.attempt_id
    )
    scheduled = attempt.scheduled
    late = now - attempt.due_at
    notes = []
    if late > timedelta(minutes=5):
        notes.append(f"sent {int(late.total_seconds() // 60)} min late")
    if claimed.missed:
        notes.append(f"{claimed.missed} missed run{'s' if claimed.missed != 1 else ''} skipped")
    reason = rules.skip_reason(participant=scheduled.participant, chatbot_id=scheduled.chatbot_id, now=now)
    if reason is not None:
        attempt.result, attempt.detail = AttemptResult.SKIPPED, reason
    else:
        try:
            message = outbound.bot_message_send(
                chatbot=scheduled.chatbot, participant=scheduled.participant, text=scheduled.text, origin="scheduled"
            )
        except ApplicationError as exc:
            attempt.result, attempt.detail = AttemptResult.FAILED, exc.message
        else:
            attempt.result, attempt.message = AttemptResult.DELIVERED, message
            attempt.detail = "; ".join(notes).capitalize()
    attempt.ran_at = now
    attempt.save(update_fields=["result", "detail", "message", "ran_at"])
    logger.info("scheduled.attempted", extra={"scheduled": scheduled.pk, "result": attempt.result})
    return attempt


def scheduled_run_due(*, now: datetime | None = None) -> int:
    """Claim and send what is due, batch after batch, until nothing is. Returns how many attempts ran."""
    count = 0
    while True:
        batch = scheduled_claim_due(now=now)
        for claimed in batch:
            attempt_run(claimed=claimed, now=now)
        count += len(batch)
        if len(batch) < CLAIM_BATCH:
            return count

"""Broadcasts: one message from the bot to every participant of a chatbot on the chosen platforms.

``broadcast_run`` (the task's body) lists the recipients once (a row each, so a redelivered task resumes instead of
starting over), then sends to each pending one: skipped when a channel rule refuses (``rules``), else through
``outbound.bot_message_send``, at most ``EVENTS_CHANNEL_RATES[platform]`` messages a second per platform. The
counters on the broadcast row move as it goes: the page's progress bar reads them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.db.models import Count, F

from shared_apps.core.exceptions import ApplicationError
from tenant_apps.conversations.models import ChatSession
from tenant_apps.events import clock, outbound, rules
from tenant_apps.events.enums import BroadcastStatus, RecipientResult
from tenant_apps.events.models import Broadcast, BroadcastRecipient

logger = logging.getLogger(__name__)


def recipients_list(broadcast: Broadcast) -> int:
    """Add a recipient row for every participant with a session on the chatbot on one of the broadcast's
    platforms (idempotent). Returns the total."""
    participant_ids = (
        ChatSession.objects.filter(chatbot_id=broadcast.chatbot_id, participant__platform__in=broadcast.platforms)
        .values_list("participant_id", "participant__platform")
        .distinct()
    )
    BroadcastRecipient.objects.bulk_create(
        [
            BroadcastRecipient(broadcast=broadcast, participant_id=pid, platform=platform)
            for pid, platform in participant_ids
        ],
        ignore_conflicts=True,
        batch_size=1000,
    )
    return BroadcastRecipient.objects.filter(broadcast=broadcast).count()


class Throttle:
    """At most ``rate`` sends a second per platform (a sleep before a send that would come too soon)."""

    def __init__(self, rates: dict[str, float], sleep: Callable[[float], None] = time.sleep) -> None:
        self._rates = rates
        self._next: dict[str, float] = {}
        self._sleep = sleep

    def wait(self, platform: str) -> None:
        rate = self._rates.get(platform) or self._rates.get("default") or 0
        if rate <= 0:
            return
        now = time.monotonic()
        at = self._next.get(platform, now)
        if at > now:
            self._sleep(at - now)
        self._next[platform] = max(at, now) + 1.0 / rate


def broadcast_run(*, broadcast_id: int, throttle: Throttle | None = None) -> Broadcast | None:
    broadcast = Broadcast.objects.select_related("chatbot").filter(pk=broadcast_id).first()
    if broadcast is None or broadcast.status in (BroadcastStatus.DONE, BroadcastStatus.FAILED):
        return broadcast
    throttle = throttle or Throttle(dict(settings.EVENTS_CHANNEL_RATES))
    if broadcast.status == BroadcastStatus.PENDING:
        total = recipients_list(broadcast)
        Broadcast.objects.filter(pk=broadcast.pk).update(
            status=BroadcastStatus.RUNNING, total=total, started_at=clock.now()
        )
    pending = BroadcastRecipient.objects.select_related("participant").filter(
        broadcast=broadcast, result=RecipientResult.PENDING
    )
    for recipient in pending.iterator(chunk_size=500):
        now = clock.now()
        reason = rules.skip_reason(participant=recipient.participant, chatbot_id=broadcast.chatbot_id, now=now)
        if reason is not None:
            recipient.result, recipient.detail = RecipientResult.SKIPPED, reason[:500]
        else:
            throttle.wait(recipient.platform)
            try:
                recipient.message = outbound.bot_message_send(
                    chatbot=broadcast.chatbot,
                    participant=recipient.participant,
                    text=broadcast.text,
                    origin="broadcast",
                )
                recipient.result = RecipientResult.DELIVERED
            except ApplicationError as exc:
                recipient.result, recipient.detail = RecipientResult.FAILED, exc.message[:500]
        recipient.save(update_fields=["result", "detail", "message"])
        counter = {
            RecipientResult.DELIVERED: "delivered",
            RecipientResult.FAILED: "failed",
            RecipientResult.SKIPPED: "skipped",
        }[RecipientResult(recipient.result)]
        Broadcast.objects.filter(pk=broadcast.pk).update(**{counter: F(counter) + 1})
    # The counters again from the rows: exact even when a redelivered task re-sent to a recipient it had counted.
    counts = dict(
        BroadcastRecipient.objects.filter(broadcast=broadcast)
        .values_list("result")
        .annotate(n=Count("id"))
        .values_list("result", "n")
    )
    Broadcast.objects.filter(pk=broadcast.pk).update(
        status=BroadcastStatus.DONE,
        finished_at=clock.now(),
        delivered=counts.get(RecipientResult.DELIVERED, 0),
        failed=counts.get(RecipientResult.FAILED, 0),
        skipped=counts.get(RecipientResult.SKIPPED, 0),
    )
    logger.info("broadcast.finished", extra={"broadcast": broadcast.pk})
    broadcast.refresh_from_db()
    return broadcast

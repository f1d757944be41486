"""Events objects for tests that need one of each (a trigger, a scheduled message, a broadcast)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone


def events_seeds(*, chatbot: Any, participant: Any, owner: Any) -> dict[str, str]:
    """One trigger, scheduled message and broadcast of ``chatbot``: their URL parameters."""
    from datetime import timedelta

    from tenant_apps.events import scheduling
    from tenant_apps.events.enums import Origin
    from tenant_apps.events.services import broadcast_create, static_trigger_save

    trigger = static_trigger_save(chatbot=chatbot, name="Probe", event="conversation_started", action="log", params={})
    scheduled = scheduling.scheduled_message_create(
        chatbot=chatbot,
        participant=participant,
        text="Probe",
        first_run_at=timezone.now() + timedelta(days=1),
        origin=Origin.BUILDER,
    )
    broadcast = broadcast_create(chatbot=chatbot, text="Probe", platforms=["web"], actor=owner)
    return {
        "trigger_id": str(trigger.pk),
        "broadcast_id": str(broadcast.pk),
        "participant_id": str(participant.pk),
        "scheduled_id": str(scheduled.public_id),
    }

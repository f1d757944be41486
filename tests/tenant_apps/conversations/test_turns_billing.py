"""The turn under the team's plan and spend caps (ADR 0120): usage metered in the turn's one statement, a refused
turn answered with the owner's message and no model call, a spend cap's cheaper model used for every call."""

from decimal import Decimal

from django.db import connection
from django.utils import timezone

from shared_apps.billing import services as billing_services
from shared_apps.billing.enforcement import turn_period
from shared_apps.billing.enums import CapAction, Refusal
from shared_apps.billing.metering import usage_counters, usage_writes
from shared_apps.core.prepared import write_together
from tenant_apps.conversations import turns
from tenant_apps.conversations.enums import TraceStatus, TurnStatus
from tenant_apps.conversations.models import Trace
from tests.factories.conversations import say


def _spent(chatbot_id: int, cost: str) -> None:
    """Usage already in this period (as earlier turns would have left it)."""
    team_id = connection.tenant.pk
    write_together(
        *usage_writes(
            team_id=team_id,
            chatbot_id=chatbot_id,
            period_start=turn_period(team_id=team_id),
            at=timezone.now(),
            cost=Decimal(cost),
        )
    )


def _usage(chatbot_id: int):
    team_id = connection.tenant.pk
    return usage_counters(team_id=team_id, period_start=turn_period(team_id=team_id), chatbot_id=chatbot_id)


def _model_calls(fake_llm) -> list[str]:
    return [r.json["model"] for r in fake_llm.requests if r.path.endswith("/chat/completions")]


def test_a_successful_turn_counts_one_ai_message_and_a_failed_one_none(member_session, fake_llm):
    chatbot_id = member_session.chatbot_id

    turns.turn_process(message_id=say(member_session, "Hello").pk)
    fake_llm.error(400, "Bad request")  # not retryable: the apology, no AI message
    turns.turn_process(message_id=say(member_session, "Again").pk)

    usage = _usage(chatbot_id)
    assert usage.ai_messages == 1


def test_over_the_spend_cap_the_owners_message_answers_without_a_model_call(member_session, fake_llm, team, owner):
    billing_services.spend_caps_update(
        team=team,
        actor=owner,
        spend_cap=Decimal("1.00"),
        cap_action=CapAction.LIMIT_MESSAGE,
        limit_message="This bot is resting until next month.",
    )
    _spent(member_session.chatbot_id, "1.00")
    message = say(member_session, "Are you there?")

    reply = turns.turn_process(message_id=message.pk)

    assert reply.content == "This bot is resting until next month."
    assert reply.metadata == {"billing": Refusal.TEAM_SPEND_CAP}
    assert _model_calls(fake_llm) == []
    trace = Trace.objects.get(message=message)
    assert trace.status == TraceStatus.ERROR
    assert trace.error.startswith("billing.team_spend_cap")
    message.refresh_from_db()
    assert message.turn_status == TurnStatus.DONE
    assert turns.turn_process(message_id=message.pk).pk == reply.pk  # redelivered: the same one reply
    assert _usage(member_session.chatbot_id).ai_messages == 1  # only the usage written before


def test_at_the_cap_every_model_call_uses_the_owners_cheaper_model(
    member_session, fake_llm, team, owner, fake_provider
):
    billing_services.spend_caps_update(
        team=team,
        actor=owner,
        spend_cap=Decimal("0.50"),
        cap_action=CapAction.FALLBACK_MODEL,
        fallback_provider_id=fake_provider.pk,
        fallback_model="gpt-4.1-nano",  # one of the provider's catalog models
    )
    turns.turn_process(message_id=say(member_session, "Before the cap").pk)
    _spent(member_session.chatbot_id, "0.50")

    reply = turns.turn_process(message_id=say(member_session, "After the cap").pk)

    assert reply.content == "Echo: After the cap"
    assert reply.metadata == {"billing": Refusal.TEAM_SPEND_CAP}
    assert _model_calls(fake_llm) == ["fake-model", "gpt-4.1-nano"]

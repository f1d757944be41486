"""What a team may do under its plan, payment state and spend caps: the turn's check at the exact boundary (the
turn that crosses a limit is the last one answered normally) and the limits on adding chatbots and members."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from shared_apps.billing import services
from shared_apps.billing.enforcement import plan_limit_enforce, team_concurrency_cap, turn_allowance, turn_period
from shared_apps.billing.enums import CapAction, Refusal, Resource, SubscriptionStatus
from shared_apps.billing.exceptions import PlanLimitError
from shared_apps.billing.metering import UsageCounters, usage_counters, usage_writes
from shared_apps.billing.models import DEFAULT_LIMIT_MESSAGE, BillingAccount, ChatbotSpendCap, Plan, Subscription
from shared_apps.billing.snapshot import ModelChoice, billing_changed
from shared_apps.core.prepared import write_together
from tenants.enums import Role
from tenants.services.invitations import invitation_create


def _answer_turns(team, chatbot_id, costs):
    """Run turns as the turn path will: check, then (if allowed) store the usage. Returns each turn's allowance."""
    answered = []
    for cost in costs:
        period = turn_period(team_id=team.pk)
        usage = usage_counters(team_id=team.pk, period_start=period, chatbot_id=chatbot_id)
        allowance = turn_allowance(team_id=team.pk, chatbot_id=chatbot_id, usage=usage)
        if allowance.allowed:
            write_together(
                *usage_writes(
                    team_id=team.pk, chatbot_id=chatbot_id, period_start=period, at=timezone.now(), cost=Decimal(cost)
                )
            )
        answered.append(allowance)
    return answered


def _plan(code="free", **limits):
    Plan.objects.filter(code=code).update(**limits)
    billing_changed()


def test_over_the_monthly_messages_the_limit_message_is_answered_without_a_model_call(team, billing_on):
    _plan(max_ai_messages=3)

    turns = _answer_turns(team, 1, ["0.01"] * 5)

    assert [t.allowed for t in turns] == [True, True, True, False, False]
    assert turns[3].reason == Refusal.MESSAGE_LIMIT
    assert turns[3].message == DEFAULT_LIMIT_MESSAGE
    assert usage_counters(team_id=team.pk, period_start=turn_period(team_id=team.pk)).ai_messages == 3


def test_the_turn_crossing_the_team_spend_cap_is_the_last_answered(team, owner_a, billing_on):
    services.spend_caps_update(
        team=team,
        actor=owner_a,
        spend_cap=Decimal("1.00"),
        cap_action=CapAction.LIMIT_MESSAGE,
        limit_message="Out of budget for this month.",
    )

    turns = _answer_turns(team, 1, ["0.60", "0.39", "0.05", "0.01"])

    assert [t.allowed for t in turns] == [True, True, True, False]  # 0.99 < 1.00 -> answered, reaching 1.04
    assert (turns[3].reason, turns[3].message) == (Refusal.TEAM_SPEND_CAP, "Out of budget for this month.")


def test_a_cap_reached_exactly_stops_the_next_turn(team, owner_a, billing_on):
    services.spend_caps_update(team=team, actor=owner_a, spend_cap=Decimal("1.00"), cap_action=CapAction.LIMIT_MESSAGE)

    turns = _answer_turns(team, 1, ["0.50", "0.50", "0.01"])

    assert [t.allowed for t in turns] == [True, True, False]


def test_a_chatbot_cap_stops_only_that_chatbot(team, owner_a, billing_on):
    ChatbotSpendCap.objects.create(team=team, chatbot_id=1, cap=Decimal("0.10"))
    billing_changed()

    first = _answer_turns(team, 1, ["0.10", "0.01"])
    other = _answer_turns(team, 2, ["0.50"])

    assert [t.allowed for t in first] == [True, False]
    assert first[1].reason == Refusal.CHATBOT_SPEND_CAP
    assert other[0].allowed


def test_at_the_cap_the_owner_can_switch_to_a_cheaper_model(team, owner_a, billing_on, settings):
    settings.BILLING_MODEL_CHOICES = "tests.shared_apps.billing.test_enforcement.fake_models"
    services.spend_caps_update(
        team=team,
        actor=owner_a,
        spend_cap=Decimal("0.50"),
        cap_action=CapAction.FALLBACK_MODEL,
        fallback_provider_id=9,
        fallback_model="cheap-mini",
    )

    turns = _answer_turns(team, 1, ["0.50", "0.01", "0.01"])

    assert [t.allowed for t in turns] == [True, True, True]
    assert turns[0].model is None
    assert (turns[1].model, turns[1].reason) == (ModelChoice(provider_id=9, model="cheap-mini"), Refusal.TEAM_SPEND_CAP)


def fake_models():
    return [(9, "Cheap provider", ["cheap-mini", "cheap-large"])]


def test_a_fallback_model_must_be_one_of_the_teams(team, owner_a, settings):
    settings.BILLING_MODEL_CHOICES = "tests.shared_apps.billing.test_enforcement.fake_models"

    with pytest.raises(services.InvalidStateError) as refused:
        services.spend_caps_update(
            team=team,
            actor=owner_a,
            spend_cap=Decimal(1),
            cap_action=CapAction.FALLBACK_MODEL,
            fallback_provider_id=9,
            fallback_model="gpt-huge",
        )

    assert refused.value.code == "billing.fallback_unknown"


def test_spend_caps_apply_with_billing_off_but_plan_limits_do_not(team, owner_a):
    _plan(max_ai_messages=1)
    services.spend_caps_update(team=team, actor=owner_a, spend_cap=Decimal("0.02"), cap_action=CapAction.LIMIT_MESSAGE)

    turns = _answer_turns(team, 1, ["0.01", "0.01", "0.01"])

    assert [t.allowed for t in turns] == [True, True, False]
    assert turns[2].reason == Refusal.TEAM_SPEND_CAP
    assert team_concurrency_cap(team_id=team.pk) is None


def test_a_read_only_team_answers_with_the_limit_message(team, billing_on):
    plan = Plan.objects.get(code="pro")
    Subscription.objects.create(
        team=team,
        stripe_subscription_id="sub_ro",
        status=SubscriptionStatus.PAST_DUE,
        plan=plan,
        payment_failed_at=timezone.now() - timedelta(days=8),
        stripe_updated_at=timezone.now(),
    )
    billing_changed()

    allowance = turn_allowance(team_id=team.pk, chatbot_id=1, usage=UsageCounters())

    assert (allowance.allowed, allowance.reason) == (False, Refusal.READ_ONLY)


def test_the_plan_sets_the_concurrent_turn_cap(team, billing_on):
    services.plan_set(team=team, plan_code="pro")

    assert team_concurrency_cap(team_id=team.pk) == Plan.objects.get(code="pro").max_concurrent_turns


def test_the_period_follows_the_subscriptions_anchor(team, billing_on):
    assert turn_period(team_id=team.pk, now=datetime(2026, 5, 17, tzinfo=UTC)) == datetime(2026, 5, 1, tzinfo=UTC)
    Subscription.objects.create(
        team=team,
        stripe_subscription_id="sub_anchor",
        status=SubscriptionStatus.ACTIVE,
        billing_cycle_anchor=datetime(2026, 1, 31, 8, tzinfo=UTC),
        stripe_updated_at=timezone.now(),
    )
    billing_changed()

    assert turn_period(team_id=team.pk, now=datetime(2026, 3, 1, tzinfo=UTC)) == datetime(2026, 2, 28, 8, tzinfo=UTC)


# ----------------------------------------------------------------------------------------------- resource limits


def test_a_chatbot_beyond_the_plan_is_refused_with_an_upgrade_link(team, owner_a, billing_on):
    from tenant_apps.chatbots.services import chatbot_archive, chatbot_copy, chatbot_create, chatbot_unarchive

    _plan(max_chatbots=2)
    first = chatbot_create(name="One", created_by=owner_a)
    chatbot_create(name="Two", created_by=owner_a)

    for attempt in (
        lambda: chatbot_create(name="Three", created_by=owner_a),
        lambda: chatbot_copy(chatbot=first, name="Copy", actor=owner_a),
    ):
        with pytest.raises(PlanLimitError) as refused:
            attempt()
        assert refused.value.code == "billing.plan_limit"
        assert refused.value.extra["upgrade_url"] == "http://alpha.localhost/settings/billing/"
        assert "The Free plan allows 2 active chatbots" in refused.value.message
        assert "http://alpha.localhost/settings/billing/" in refused.value.message
    chatbot_archive(chatbot=first, actor=owner_a)
    chatbot_create(name="Three", created_by=owner_a)  # archiving freed a slot
    with pytest.raises(PlanLimitError):
        chatbot_unarchive(chatbot=first, actor=owner_a)


def test_the_chatbot_create_page_shows_the_limit_with_a_link(team, owner_a, billing_on, client_for):
    _plan(max_chatbots=0)

    response = client_for(team, owner_a).post("/chatbots/new/", {"name": "Over"})

    assert response.status_code == 200
    assert b'href="http://alpha.localhost/settings/billing/"' in response.content


def test_members_and_pending_invitations_count_against_the_plan(team_a, owner_a, billing_on):
    _plan(max_members=2)
    invitation_create(team=team_a, email="second@example.com", role=Role.EDITOR, invited_by=owner_a)

    with pytest.raises(PlanLimitError) as refused:
        invitation_create(team=team_a, email="third@example.com", role=Role.EDITOR, invited_by=owner_a)

    assert refused.value.extra["resource"] == "members"


def test_channels_are_checked_with_the_count_the_caller_gives(team_a, billing_on):
    _plan(max_channels=1)

    plan_limit_enforce(team=team_a, resource=Resource.CHANNELS, current=0)
    with pytest.raises(PlanLimitError):
        plan_limit_enforce(team=team_a, resource=Resource.CHANNELS, current=1)


def test_nothing_is_limited_with_billing_off(team_a, owner_a):
    _plan(max_members=0, max_channels=0)

    plan_limit_enforce(team=team_a, resource=Resource.CHANNELS, current=50)
    invitation_create(team=team_a, email="someone@example.com", role=Role.EDITOR, invited_by=owner_a)


def test_a_read_only_team_cannot_add_anything(team_a, billing_on):
    Subscription.objects.create(
        team=team_a,
        stripe_subscription_id="sub_unpaid",
        status=SubscriptionStatus.UNPAID,
        stripe_updated_at=timezone.now(),
    )
    billing_changed()

    with pytest.raises(PlanLimitError) as refused:
        plan_limit_enforce(team=team_a, resource=Resource.CHANNELS, current=0)

    assert refused.value.code == "billing.read_only"
    assert not BillingAccount.objects.filter(team=team_a).exists()  # a check writes nothing


def test_a_team_with_a_running_subscription_cannot_be_deleted(team_a, owner_a, billing_on):
    from tenants.services.teams import team_delete_request

    subscription = Subscription.objects.create(
        team=team_a,
        stripe_subscription_id="sub_running",
        status=SubscriptionStatus.ACTIVE,
        stripe_updated_at=timezone.now(),
    )

    with pytest.raises(services.InvalidStateError) as refused:
        team_delete_request(team=team_a, actor=owner_a, confirm_slug="alpha")

    assert refused.value.code == "billing.subscription_running"
    Subscription.objects.filter(pk=subscription.pk).update(cancel_at_period_end=True)
    team_delete_request(team=team_a, actor=owner_a, confirm_slug="alpha")


def test_two_creations_racing_for_the_last_slot_get_one(committed, billing_on):
    """The check is serialised per team inside the creating transaction: the second waits, then counts the first."""
    import threading

    from django.db import connections

    from tenant_apps.audit.models import AuditEvent
    from tenant_apps.chatbots.models import Chatbot
    from tenant_apps.chatbots.services import chatbot_create
    from tenant_apps.pipelines.models import Pipeline
    from tenants.context import tenant_context
    from tenants.models import Team

    team = Team.objects.get(slug="alpha")
    with tenant_context(team):
        existing = set(Chatbot.objects.values_list("pk", flat=True))
        last_event = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    free = Plan.objects.get(code="free")
    previous_limit = free.max_chatbots
    Plan.objects.filter(pk=free.pk).update(max_chatbots=len(existing) + 1)
    billing_changed()
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def create(name: str) -> None:
        try:
            with tenant_context(team):
                barrier.wait()
                chatbot_create(name=name)
                outcomes.append("created")
        except PlanLimitError:
            outcomes.append("refused")
        except Exception as exc:  # reported below
            outcomes.append(repr(exc))
        finally:
            connections.close_all()

    try:
        threads = [threading.Thread(target=create, args=(f"Racer {i}",)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)

        assert sorted(outcomes) == ["created", "refused"]
    finally:
        Plan.objects.filter(pk=free.pk).update(max_chatbots=previous_limit)
        billing_changed()
        with tenant_context(team):
            created = Chatbot.objects.exclude(pk__in=existing)
            pipelines = list(created.values_list("pipeline_id", flat=True))
            created.delete()
            Pipeline.objects.filter(pk__in=pipelines).delete()
            AuditEvent.objects.filter(id__gt=last_event).delete()

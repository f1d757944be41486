"""Resilience (issue 17): a model answering 429 or 500 is retried, and one that keeps failing ends the turn with
a visible apology — never silence, never two replies. Through the official SDK to the loopback fake over HTTP."""

from __future__ import annotations

import pytest

from tenant_apps.conversations import ingress, turns
from tenant_apps.conversations.enums import TurnStatus
from tenant_apps.conversations.models import ChatMessage

pytestmark = pytest.mark.resilience


def _completions(fake_llm) -> int:
    return len([r for r in fake_llm.requests if r.path.endswith("/chat/completions")])


def _say(session, text):
    return ingress.message_receive(session=session, inbound=ingress.Inbound(text=text)).message


@pytest.mark.parametrize("status", [429, 500, 503])
def test_a_transient_model_error_is_retried_and_answered_once(status, member_session, fake_llm):
    fake_llm.error(status, "try again", headers={"Retry-After": "0"})
    message = _say(member_session, "hi")

    reply = turns.turn_process(message_id=message.pk)

    assert reply.content == "Echo: hi"
    assert _completions(fake_llm) == 2
    assert ChatMessage.objects.filter(reply_to=message).count() == 1


def test_a_model_that_keeps_failing_is_retried_by_the_task_then_ends_in_a_visible_apology(
    member_session, fake_llm, settings
):
    from shared_apps.core.exceptions import RetryableProviderError

    def fail_every_sdk_attempt():
        for _ in range(settings.LLM_MAX_RETRIES + 1):
            fake_llm.error(500, "upstream down", headers={"Retry-After": "0"})

    message = _say(member_session, "hello?")
    fail_every_sdk_attempt()

    with pytest.raises(RetryableProviderError):  # not the last attempt: nothing stored, the task tries again
        turns.turn_process(message_id=message.pk, final_attempt=False)
    stored_between = ChatMessage.objects.filter(reply_to=message).count()
    fail_every_sdk_attempt()
    reply = turns.turn_process(message_id=message.pk, final_attempt=True)

    assert stored_between == 0
    assert reply.content == turns.APOLOGY
    assert ChatMessage.objects.filter(reply_to=message).count() == 1
    message.refresh_from_db()
    assert message.turn_status == TurnStatus.FAILED
    assert _completions(fake_llm) == 2 * (settings.LLM_MAX_RETRIES + 1)

"""Database statements per turn, capped so they cannot creep (bench/turns.py measures what they cost).

A turn is three pieces of work: the send (web), the turn itself (worker) and the reply poll (web). Each is counted
on its own after a first turn has warmed the per-process caches, as in production. Tests run inside a transaction,
so a write that commits on its own in production shows up here between SAVEPOINT and RELEASE; the caps include
those. In production the turn's writes are one statement with no transaction around it.
"""

import contextlib
import re

import pytest

from tenant_apps.chatbots.services import chatbot_update, version_create
from tenant_apps.conversations import turns
from tests.factories.conversations import public_first_send

PENDING = re.compile(rb'id="pending-(\d+)"')


@pytest.fixture
def public_chat(chatbot, owner, client_for, team):
    chatbot_update(chatbot=chatbot, actor=owner, is_public=True)
    version_create(chatbot=chatbot, actor=owner)
    client = client_for(team)
    sent, base = public_first_send(client, chatbot.public_id, "first")
    turns.turn_process(message_id=int(PENDING.search(sent.content).group(1)))
    return client, base


@pytest.fixture
def member_chat(chatbot, owner, client_for, team):
    client = client_for(team, owner)
    return client, client.get(f"/chatbots/{chatbot.pk}/chat/")["Location"]


def _turn(client, base, text, caps=None, limit=None):
    """One turn: send, worker, reply. ``caps`` = (send, worker, reply) maxima, checked with ``limit``."""

    def capped(index):
        return limit(caps[index]) if caps else contextlib.nullcontext()

    with capped(0):
        sent = client.post(base + "send/", {"message": text})
    message_id = int(PENDING.search(sent.content).group(1))
    with capped(1):
        turns.turn_process(message_id=message_id)
    with capped(2):
        reply = client.get(f"{base}messages/{message_id}/reply/")
    assert f"Echo: {text}".encode() in reply.content


# send: session lookup + INSERT (+ savepoint pair); worker: claim, load, provider stamp, history, the turn's
# writes as one statement (+ savepoint pair); reply: session lookup + reply lookup.
PUBLIC_CAPS = (4, 7, 2)
# In the app each request also loads the signed-in user and their membership, and the reply its trace (debug panel).
MEMBER_CAPS = (6, 7, 5)


def test_public_link_turn_stays_within_its_query_budget(public_chat, fake_llm, django_assert_max_num_queries):
    client, base = public_chat
    _turn(client, base, "warm up")

    _turn(client, base, "second", PUBLIC_CAPS, django_assert_max_num_queries)


def test_in_app_turn_stays_within_its_query_budget(member_chat, fake_llm, django_assert_max_num_queries):
    client, base = member_chat
    _turn(client, base, "warm up")

    _turn(client, base, "second", MEMBER_CAPS, django_assert_max_num_queries)


def test_public_page_and_new_session_stay_within_their_query_budget(
    chatbot, owner, client_for, team, django_assert_max_num_queries
):
    """A visitor starts a new session (with a seed message) and the page loads: what every conversation pays."""
    chatbot_update(chatbot=chatbot, actor=owner, is_public=True, seed_message="Say hello")
    version_create(chatbot=chatbot, actor=owner)
    client = client_for(team)
    public_first_send(client, chatbot.public_id, "first")

    # Opening the page starts nothing: chatbot (+ its config)
    with django_assert_max_num_queries(2):
        client.get(f"/c/{chatbot.public_id}/?new=1")
    # The first message starts the session: chatbot, participant, (savepoint) session INSERT, seed message INSERT
    # (savepoint), the transcript shown before it, (savepoint) the message INSERT (savepoint)
    with django_assert_max_num_queries(10):
        public_first_send(client, chatbot.public_id, "again", new=True)
    # chatbot, the visitor's open session, transcript
    with django_assert_max_num_queries(4):
        page = client.get(f"/c/{chatbot.public_id}/")
    assert b"Say hello" not in page.content  # the seed is sent to the bot, not shown
    assert b'id="pending-' in page.content  # its turn is on the way

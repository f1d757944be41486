"""The turn stream protocol: keys in the team's namespace, events that decode to what was sent, and stream tokens
that work only on the host they were issued for."""

import pytest
from django.test import override_settings

from tenant_apps.conversations import streams


def test_keys_carry_the_schema_and_the_turn():
    keys = [
        streams.channel("t_alpha", 7),
        streams.text_key("t_alpha", 7),
        streams.done_key("t_alpha", 7),
        streams.cancel_key("t_alpha", 7),
    ]

    assert all(":team:t_alpha:turn:7" in k for k in keys)
    assert len(set(keys)) == 4
    assert streams.channel("t_bravo", 7) != streams.channel("t_alpha", 7)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(streams.token_event(3, "héllo"), {"t": "token", "o": 3, "d": "héllo"}, id="token"),
        pytest.param(
            streams.status_event("queued", "waiting for a free slot"),
            {"t": "status", "s": "queued", "detail": "waiting for a free slot"},
            id="status",
        ),
        pytest.param(streams.reset_event(), {"t": "reset"}, id="reset"),
        pytest.param(streams.done_event(9, ok=False), {"t": "done", "id": 9, "ok": False}, id="done"),
        pytest.param(streams.done_value(9, ok=True, text="Hi"), {"id": 9, "ok": True, "text": "Hi"}, id="done-value"),
    ],
)
def test_events_decode_to_what_was_encoded(raw, expected):
    assert streams.decode(raw) == expected


def test_decode_refuses_what_is_not_an_object():
    with pytest.raises(ValueError, match="JSON objects"):
        streams.decode(b"[1]")


def test_a_grant_reads_back_on_its_own_host_only():
    token = streams.grant_sign(streams.StreamGrant(schema="t_alpha", message_id=42, host="alpha.localhost:8000"))

    assert streams.grant_read(token, host="ALPHA.localhost:8000") == streams.StreamGrant(
        schema="t_alpha", message_id=42, host="alpha.localhost"
    )
    assert streams.grant_read(token, host="alpha.localhost:8001") is not None  # the stream server's own port
    assert streams.grant_read(token, host="bravo.localhost:8000") is None


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"), id="tampered"),
        pytest.param(lambda t: "", id="empty"),
        pytest.param(lambda t: "not-a-token", id="garbage"),
    ],
)
def test_a_forged_token_is_refused(mangle):
    token = streams.grant_sign(streams.StreamGrant(schema="t_alpha", message_id=42, host="alpha.localhost"))

    assert streams.grant_read(mangle(token), host="alpha.localhost") is None


def test_an_old_token_is_refused():
    token = streams.grant_sign(streams.StreamGrant(schema="t_alpha", message_id=1, host="alpha.localhost"))

    assert streams.grant_read(token, host="alpha.localhost", max_age=-1) is None


def test_a_token_signed_with_another_key_is_refused():
    with override_settings(SECRET_KEY="another-secret-key-entirely-0123456789"):
        token = streams.grant_sign(streams.StreamGrant(schema="t_alpha", message_id=1, host="alpha.localhost"))

    assert streams.grant_read(token, host="alpha.localhost") is None

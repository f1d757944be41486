"""Error reports leave with no secret and no conversation content, tagged with the team schema and request id.

Sentry is initialised with the production options and a fake DSN whose transport keeps the envelopes in memory:
what would have been sent is what is asserted.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sentry_sdk
from sentry_sdk.transport import Transport

from shared_apps.core.request_context import request_id_var
from shared_apps.core.sentry import FILTERED, scrub_event, sentry_options


class MemoryTransport(Transport):
    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self.events: list[dict[str, Any]] = []

    def capture_envelope(self, envelope: Any) -> None:
        for item in envelope.items:
            if item.type == "event":
                self.events.append(item.payload.json)


@pytest.fixture
def sent() -> Iterator[list[dict[str, Any]]]:
    transport = MemoryTransport()
    options = sentry_options(dsn="https://public@sentry.invalid/1", environment="test")
    sentry_sdk.init(**options, transport=transport)
    yield transport.events
    sentry_sdk.get_client().close()
    sentry_sdk.init()  # no DSN: reporting off again


def _turn_that_fails(message: str, api_key: str) -> None:
    history = [{"role": "user", "content": message}]
    headers = {"Authorization": f"Bearer {api_key}"}
    raise RuntimeError(f"provider refused key {api_key}")  # a careless message that carries the secret
    del history, headers


def test_exception_report_has_no_secret_or_message_text(sent, team):
    # Built at run time: the report carries source lines around each frame, and these must not be in them.
    private, key = " ".join(["my", "diagnosis", "is", "private"]), "-".join(["sk", "live0123456789abcdef"])
    token = request_id_var.set("req-abcdef12")
    try:
        try:
            _turn_that_fails(private, key)
        except RuntimeError as exc:
            sentry_sdk.capture_exception(exc)
    finally:
        request_id_var.reset(token)
    sentry_sdk.flush()

    assert len(sent) == 1
    text = repr(sent[0])
    assert private not in text
    assert key not in text
    frame = sent[0]["exception"]["values"][0]["stacktrace"]["frames"][-1]
    assert frame["vars"]["message"] == FILTERED
    assert frame["vars"]["api_key"] == FILTERED
    assert sent[0]["tags"]["team_schema"] == "t_alpha"
    assert sent[0]["tags"]["request_id"] == "req-abcdef12"


def test_logged_error_keeps_its_event_name_and_loses_extra_content(sent, db):
    import logging

    text, password = "hello " + "there", "hunter" + "2"
    logging.getLogger("tests.sentry").error("turn.failed", extra={"text": text, "password": password})
    sentry_sdk.flush()

    assert len(sent) == 1
    assert sent[0]["logentry"]["message"] == "turn.failed"
    assert text not in repr(sent[0])
    assert password not in repr(sent[0])


@pytest.mark.parametrize(
    ("event", "secret"),
    [
        pytest.param({"request": {"data": {"message": "hi"}, "cookies": {"sessionid": "s3"}}}, "s3", id="request"),
        pytest.param({"extra": {"telegram_token": "123:abc"}}, "123:abc", id="extra-key"),
        pytest.param({"extra": {"note": "used xoxb-1111-2222-abcd"}}, "xoxb-1111-2222-abcd", id="slack-in-text"),
        pytest.param({"contexts": {"x": {"webhook": "whsec_test_abc123"}}}, "whsec_test_abc123", id="stripe"),
        pytest.param(
            {"breadcrumbs": {"values": [{"message": "SELECT %s", "data": {"params": ["secret chat"]}}]}},
            "secret chat",
            id="sql-params",
        ),
    ],
)
def test_scrubber_removes(event, secret, db):
    scrubbed = scrub_event(event, {})

    assert secret not in repr(scrubbed)

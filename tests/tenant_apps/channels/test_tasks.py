"""The send task's retries: a transient failure comes back later as a new queue message (never a sleeping worker),
after the platform's Retry-After when it gave one, else with a growing, jittered backoff."""

from __future__ import annotations

from typing import Any

import pytest

from tenant_apps.channels import outbound, tasks


class _RetriedError(Exception):
    pass


@pytest.fixture
def retries(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    asked: list[dict[str, Any]] = []

    def retry(**kwargs: Any) -> _RetriedError:
        asked.append(kwargs)
        return _RetriedError()

    monkeypatch.setattr(tasks.reply_send_task, "retry", retry)
    return asked


def _failing(monkeypatch: pytest.MonkeyPatch, **extra: Any) -> None:
    def send(**kwargs: Any) -> None:
        raise outbound.TransientSendError(code="channel.platform_busy", message="busy", extra=extra)

    monkeypatch.setattr(outbound, "reply_send", send)


def test_a_platforms_retry_after_sets_when_the_send_comes_back(monkeypatch, retries):
    _failing(monkeypatch, retry_after="7")

    with pytest.raises(_RetriedError):
        tasks.reply_send_task.run(message_id=1)

    assert retries[0]["countdown"] == 7.0
    assert isinstance(retries[0]["exc"], outbound.TransientSendError)


def test_without_retry_after_the_backoff_grows_and_is_capped():
    first = [tasks.retry_countdown(0) for _ in range(50)]
    fourth = [tasks.retry_countdown(3) for _ in range(50)]
    late = [tasks.retry_countdown(20) for _ in range(50)]

    assert all(1.0 <= value <= 2.0 for value in first)
    assert all(8.0 <= value <= 16.0 for value in fourth)
    assert all(value <= tasks.MAX_BACKOFF_SECONDS for value in late)
    assert len(set(first)) > 1  # jittered: a burst of failures does not come back at one instant


def test_an_absurd_retry_after_is_capped_and_a_garbled_one_ignored():
    assert tasks.retry_countdown(0, 10**9) == tasks.MAX_RETRY_AFTER_SECONDS
    assert 1.0 <= tasks.retry_countdown(0, "soon") <= 2.0

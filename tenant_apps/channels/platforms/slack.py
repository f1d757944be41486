"""Slack as a channel (issue 13 §4, ADR 0102; builder's guide: docs/channels/slack.md).

A Slack channel is one workspace: the team's Slack messaging provider holds the app's bot token and signing
secret, and the workspace id (``team_id``, from ``auth.test`` on save) is the channel's apex route, so the one
global events endpoint (``slack_events``) finds the team and the secret to verify with. A thread is a session;
replies go into the thread they answer through ``slack_sdk``'s ``WebClient.chat_postMessage``.

Where a reply goes is carried by the participant message's ``external_id``, ``"<channel>:<thread_ts>:<ts>"``
(``SlackRef``): Slack names a message by its channel and ``ts``, which makes the id the same for every delivery
of one message (a retry, or the ``app_mention`` and ``message`` events of one mention), and the thread part says
where the answer belongs. An empty ``thread_ts`` is a DM answered in the conversation itself.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django import forms
from django.conf import settings
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from shared_apps.core.exceptions import ApplicationError
from tenant_apps.channels.enums import ChannelKind
from tenant_apps.channels.exceptions import ChannelInvalidError
from tenant_apps.channels.models import Channel
from tenant_apps.channels.outbound import TransientSendError
from tenant_apps.channels.platforms import ChannelPlatform, ConnectionResult, platform_register
from tenant_apps.channels.platforms.text import WORDS, escape_html
from tenant_apps.channels.platforms.text import split_text as text_split
from tenant_apps.conversations import selectors as conversation_selectors
from tenant_apps.conversations import services as conversation_services
from tenant_apps.conversations.enums import Platform
from tenant_apps.providers.enums import MessagingType
from tenants.urls import apex_url

if TYPE_CHECKING:
    from tenant_apps.conversations.models import ChatMessage

logger = logging.getLogger(__name__)

EVENTS_PATH = "/webhooks/slack/events/"
TEAM_ID = re.compile(r"^[TE][A-Z0-9]{2,30}$")
MAX_PART = 3000  # characters per Slack message: long replies are split (Slack truncates past 40,000)
PARTS_KEY = "slack_parts_sent"  # reply metadata: parts of a split reply already posted (a retry skips them)

# Slack's own words for a failure worth retrying; anything else it refuses is final (channel_not_found,
# not_in_channel, invalid_auth, account_inactive, token_revoked, is_archived, msg_too_long ...).
TRANSIENT_ERRORS = frozenset({"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"})


# ------------------------------------------------------------------------------------------------ references


@dataclass(frozen=True)
class SlackRef:
    """Where a Slack message is: its conversation, its thread (empty: a DM's main conversation) and its ``ts``."""

    channel: str
    thread_ts: str
    ts: str

    @property
    def external_id(self) -> str:
        return f"{self.channel}:{self.thread_ts}:{self.ts}"

    @classmethod
    def parse(cls, external_id: str | None) -> SlackRef | None:
        parts = (external_id or "").split(":")
        if len(parts) != 3 or not parts[0] or not parts[2]:
            return None
        return cls(*parts)


# ---------------------------------------------------------------------------------------------------- client


def client(channel: Channel) -> WebClient:
    """The workspace's Web API client: the provider's bot token, the configured API URL, a timeout and no
    in-process retries (a retry is the task's, later, never a wait in a worker)."""
    return WebClient(
        token=bot_token(channel),
        base_url=settings.PLATFORM_API_URLS["slack"],
        timeout=int(settings.CHANNEL_SEND_TIMEOUT_SECONDS),
        retry_handlers=[],
    )


def _credential(channel: Channel, name: str) -> str:
    """One of the Slack provider's credentials (``bot_token``, ``signing_secret``); empty when there is none."""
    provider = channel.provider
    credentials = provider.credentials if provider is not None else None
    return str(credentials.reveal().get(name) or "") if credentials else ""


def bot_token(channel: Channel) -> str:
    return _credential(channel, "bot_token")


def signing_secret(channel: Channel) -> str:
    return _credential(channel, "signing_secret")


def _slack_error(exc: SlackApiError) -> str:
    response = exc.response
    try:
        return str(response.get("error") or "error")
    except AttributeError:
        return "error"


def _status(exc: SlackApiError) -> int:
    return int(getattr(exc.response, "status_code", 0) or 0)


# ---------------------------------------------------------------------------------------------- configuration


def config_clean(config: Mapping[str, Any]) -> dict[str, Any]:
    """The workspace id a builder may enter (it is otherwise read from ``auth.test`` on save), and what
    ``auth.test`` said about the workspace and the bot (kept for the page and for recognising the bot)."""
    team = str(config.get("slack_team_id") or "").strip().upper()
    if team and not TEAM_ID.match(team):
        raise ChannelInvalidError(
            code="channel.invalid_slack_team",
            message="A Slack workspace ID looks like T0123ABCD.",
            extra={"field": "slack_team_id"},
        )
    clean: dict[str, Any] = {"slack_team_id": team} if team else {}
    for key in ("slack_team", "slack_bot_user_id"):
        value = config.get(key)
        if isinstance(value, str) and value:
            clean[key] = value[:255]
    return clean


def form_fields() -> dict[str, forms.Field]:
    return {
        "slack_team_id": forms.CharField(
            label="Workspace ID",
            required=False,
            max_length=32,
            widget=forms.TextInput(attrs={"class": "input w-full", "placeholder": "T0123ABCD"}),
            help_text="Filled in from Slack when you save (the workspace the bot token belongs to).",
        )
    }


def route_id(channel: Channel) -> str | None:
    """The workspace the provider's bot token belongs to (``auth.test``), which must match an entered one; the
    answer is kept in the channel's config (``on_saved`` stores it). Slack unreachable: the entered id, else a
    refusal the builder can retry."""
    entered = str(channel.config.get("slack_team_id") or "")
    try:
        answer = client(channel).auth_test()
    except SlackApiError as exc:
        raise ChannelInvalidError(
            code="channel.slack_refused",
            message=f"Slack refused the provider's bot token ({_slack_error(exc)}). Check the Slack provider.",
            extra={"field": "provider"},
        ) from exc
    except (SlackClientError, OSError) as exc:
        if entered:
            logger.warning("slack.auth_test_unreachable", extra={"team_id": entered})
            return entered
        raise ChannelInvalidError(
            code="channel.slack_unreachable",
            message="Could not reach Slack to find the workspace. Try again, or enter the workspace ID.",
            extra={"field": "slack_team_id"},
        ) from exc
    team = str(answer.get("team_id") or "")
    if entered and team != entered:
        raise ChannelInvalidError(
            code="channel.slack_team_mismatch",
            message=f"The bot token belongs to the workspace “{answer.get('team')}” ({team}), not {entered}.",
            extra={"field": "slack_team_id"},
        )
    channel.config = {
        **channel.config,
        "slack_team_id": team,
        "slack_team": str(answer.get("team") or ""),
        "slack_bot_user_id": str(answer.get("user_id") or ""),
    }
    return team or None


def on_saved(channel: Channel) -> None:
    """Keep what ``route_id`` learnt from Slack (the service saved the channel before routing it)."""
    Channel.objects.filter(pk=channel.pk).update(config=channel.config)


def webhook_url(channel: Channel, base: str) -> str:
    """The apex events URL; ``?team=`` lets Slack's first ``url_verification`` (which names no workspace) be
    verified with this workspace's signing secret."""
    team = channel.config.get("slack_team_id")
    return apex_url(EVENTS_PATH) + (f"?team={team}" if team else "")


def test_connection(channel: Channel) -> ConnectionResult:
    """``auth.test`` with the provider's bot token, and the workspace compared with the channel's."""
    try:
        answer = client(channel).auth_test()
    except SlackApiError as exc:
        return ConnectionResult(False, f"Slack refused the bot token ({_slack_error(exc)}).")
    except (SlackClientError, OSError) as exc:
        return ConnectionResult(False, f"Could not reach Slack ({type(exc).__name__}).")
    team, expected = answer.get("team_id"), channel.config.get("slack_team_id")
    if expected and team != expected:
        return ConnectionResult(
            False, f"The bot token belongs to the workspace “{answer.get('team')}” ({team}), not {expected}."
        )
    return ConnectionResult(True, f"Connected to the Slack workspace “{answer.get('team')}” as {answer.get('user')}.")


# ---------------------------------------------------------------------------------------------------- sending


def send(channel: Channel, reply: ChatMessage) -> None:
    """Post ``reply`` where the conversation is (its thread), split at ``MAX_PART`` characters; parts already
    posted by an earlier attempt are not posted again. Raises ``TransientSendError`` for 429 (with Retry-After),
    5xx, Slack's transient errors and network failures; ``ApplicationError`` for a refusal (channel_not_found,
    not_in_channel, invalid_auth ...)."""
    ref = _reply_ref(reply)
    parts = split_text(to_mrkdwn(reply.content))
    done = int((reply.metadata or {}).get(PARTS_KEY, 0))
    api = client(channel)
    for index, part in enumerate(parts):
        if index < done:
            continue
        _post(api, ref, part)
        if len(parts) > 1:
            _parts_sent(reply.pk, index + 1)


def _reply_ref(reply: ChatMessage) -> SlackRef:
    source = reply.reply_to
    ref = SlackRef.parse(source.external_id if source is not None else None)
    if ref is not None:
        return ref
    # A reply to the seed or a bot-initiated message: the conversation of the session's latest Slack message.
    ref = SlackRef.parse(conversation_selectors.session_latest_external_id(session_id=reply.session_id))
    if ref is None:
        raise TransientSendError(
            code="slack.no_conversation", message="No Slack message in this session yet to answer in."
        )
    return ref


def _post(api: WebClient, ref: SlackRef, text: str) -> None:
    try:
        api.chat_postMessage(channel=ref.channel, text=text, thread_ts=ref.thread_ts or None)
    except SlackApiError as exc:
        status, error = _status(exc), _slack_error(exc)
        if status == 429 or error == "ratelimited":
            raise TransientSendError(
                code="slack.rate_limited",
                message="Slack is rate limiting this app.",
                extra={"retry_after": _retry_after(exc)},
            ) from exc
        if status >= 500 or error in TRANSIENT_ERRORS:
            raise TransientSendError(code="slack.unavailable", message=f"Slack answered {status} ({error}).") from exc
        raise ApplicationError(code="slack.refused", message=f"Slack refused the reply ({error}).") from exc
    except (SlackClientError, OSError) as exc:
        raise TransientSendError(
            code="slack.unreachable",
            message=f"Could not reach Slack ({type(exc).__name__}).",
        ) from exc


def _retry_after(exc: SlackApiError) -> int | None:
    headers = getattr(exc.response, "headers", None) or {}
    value = str(headers.get("Retry-After") or headers.get("retry-after") or "")
    return int(value) if value.isdigit() else None


def _parts_sent(message_id: int, count: int) -> None:
    conversation_services.message_metadata_merge(message_id=message_id, values={PARTS_KEY: count})


def split_text(text: str, limit: int = MAX_PART) -> list[str]:
    """``text`` in parts of at most ``limit`` characters, cut at a paragraph, a line or a space in the second half
    of a part when there is one."""
    return text_split(text, limit, separators=WORDS)


# --------------------------------------------------------------------------------------- markdown to mrkdwn

_CODE = re.compile(r"```[^\n`]*\n?(.*?)```|`[^`\n]+`", re.DOTALL)
_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^)\s]+)\)")
_BOLD = re.compile(r"\*\*(.+?)\*\*|__(.+?)__")
_ITALIC = re.compile(r"(?<![*\w])\*(?!\s)([^*\n]+?)(?<!\s)\*(?![*\w])")
_STRIKE = re.compile(r"~~(.+?)~~")
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*$", re.MULTILINE)
_BULLET = re.compile(r"^(\s*)[-*+]\s+", re.MULTILINE)


def to_mrkdwn(text: str) -> str:
    """The basics of Markdown in Slack's mrkdwn: bold, italic, strike, links, headings (bold), bullets; code spans
    and blocks kept as they are; ``&``, ``<`` and ``>`` escaped as Slack asks."""
    pieces: list[str] = []
    last = 0
    for match in _CODE.finditer(text):
        pieces.append(_inline(text[last : match.start()]))
        code = match.group(0)
        if code.startswith("```"):
            code = "```" + escape_html(match.group(1) or "").rstrip("\n") + "```"
        else:
            code = escape_html(code)
        pieces.append(code)
        last = match.end()
    pieces.append(_inline(text[last:]))
    return "".join(pieces)


def _inline(text: str) -> str:
    text = escape_html(text)
    links: list[str] = []

    def link(match: re.Match[str]) -> str:
        links.append(f"<{match.group(2).replace('&amp;', '&')}|{match.group(1)}>")
        return f"\x00{len(links) - 1}\x00"

    text = _LINK.sub(link, text)
    text = _HEADING.sub(lambda m: f"\x01{m.group(1)}\x01", text)
    text = _BOLD.sub(lambda m: f"\x01{m.group(1) or m.group(2)}\x01", text)
    text = _ITALIC.sub(lambda m: f"_{m.group(1)}_", text)
    text = _STRIKE.sub(lambda m: f"~{m.group(1)}~", text)
    text = _BULLET.sub(lambda m: f"{m.group(1)}• ", text)
    text = text.replace("\x01", "*")
    return re.sub(r"\x00(\d+)\x00", lambda m: links[int(m.group(1))], text)


platform_register(
    ChannelPlatform(
        kind=ChannelKind.SLACK,
        platform=Platform.SLACK,
        provider_type=MessagingType.SLACK,
        config_clean=config_clean,
        send=send,
        webhook_url=webhook_url,
        setup_template="channels/setup/slack.html",
        form_fields=form_fields,
        route_id=route_id,
        on_saved=on_saved,
        test_connection=test_connection,
    )
)

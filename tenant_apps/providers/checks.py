""" "Test connection": one real, cheap, read-only call per provider, reported in plain words.

LLM providers list their models through the official SDK (falling back to a one-token chat where an endpoint has
no model list); Telegram ``getMe`` and Meta Graph ``/me`` go through the SSRF-guarded client; Twilio and Slack
use their official SDKs (account fetch, ``auth.test``). Whatever the provider answers is scrubbed of the
provider's own secrets before it is shown (some services echo a rejected token back).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import anthropic
import openai
from django.conf import settings
from django.views.decorators.debug import sensitive_variables
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client as TwilioClient

from shared_apps.catalog.selectors import ModelTraits
from shared_apps.core.exceptions import ApplicationError
from shared_apps.core.http import safe_request
from tenant_apps.providers.enums import MessagingType
from tenant_apps.providers.llm.errors_map import SDK_ERRORS, map_sdk_error, scrub
from tenant_apps.providers.llm.factory import build_client
from tenant_apps.providers.llm.types import ChatParams, Message
from tenant_apps.providers.models import LlmProvider, MessagingProvider, ProviderBase
from tenant_apps.providers.selectors import llm_default_model

logger = logging.getLogger(__name__)


MAX_LISTED_MODELS = 200  # an endpoint may list thousands (OpenRouter): the page offers the first ones


@dataclass(frozen=True)
class ConnectionCheck:
    ok: bool
    message: str
    models: tuple[str, ...] = ()  # what the endpoint listed (LLM providers), for one-click "add"


def _timeout() -> float:
    return float(settings.PROVIDER_CHECK_TIMEOUT_SECONDS)


@sensitive_variables("secrets")
def provider_test_connection(*, provider: ProviderBase) -> ConnectionCheck:
    """Call the provider once with its stored credentials. Never raises for the provider's own failures."""
    secrets = provider.credentials.reveal()
    try:
        if isinstance(provider, LlmProvider):
            check = _check_llm(provider)
        elif isinstance(provider, MessagingProvider):
            check = MESSAGING_CHECKS[provider.type](provider, secrets)
        else:
            check = ConnectionCheck(False, "There is no connection test for this kind of provider yet.")
    except ApplicationError as exc:
        check = ConnectionCheck(False, exc.message)
    except (TwilioException, SlackClientError, OSError, ValueError) as exc:
        # The SDKs' own failures that are not about the answer: connection refused (requests' errors are
        # OSErrors), a malformed reply ...
        check = ConnectionCheck(False, f"Could not reach the service ({type(exc).__name__}).")
    result = ConnectionCheck(check.ok, _clean(check.message, secrets.values()), check.models)
    logger.info(
        "provider.connection_tested",
        extra={"provider_id": provider.pk, "kind": str(provider.kind), "type": provider.type, "ok": result.ok},
    )
    return result


def _clean(message: str, secrets: Iterable[str]) -> str:
    return scrub(" ".join(message.split()), secrets)[:400]


# ---------------------------------------------------------------------------------------------------------- LLM


def _check_llm(provider: LlmProvider) -> ConnectionCheck:
    entry = build_client(provider, timeout=_timeout())
    try:
        try:
            page = entry.client.models.list()
            names = [str(m.id) for m in page.data if getattr(m, "id", None)]
            count = len(names)
            shown = ", ".join(names[:3]) + ("…" if count > 3 else "")
            listed = tuple(sorted(set(names))[:MAX_LISTED_MODELS])
            return ConnectionCheck(True, f"Connected to {entry.label}: {count} model(s) available ({shown}).", listed)
        except (openai.NotFoundError, anthropic.NotFoundError):
            pass  # some compatible servers have no model list: try a one-token chat instead
        model_name = (provider.config.get("deployment") or llm_default_model(provider=provider)) or ""
        if not model_name:
            return ConnectionCheck(
                False, "This endpoint has no model list. Add a model name under “Models”, then test again."
            )
        model = entry.chat_model(model_name, ModelTraits(), max_retries=0)
        model.chat(messages=[Message(role="user", content="Say OK.")], params=ChatParams(max_tokens=1))
        return ConnectionCheck(True, f"Connected to {entry.label}: {model_name} answered.")
    except SDK_ERRORS as exc:
        error = map_sdk_error(exc, provider=entry.label, secrets=entry.secrets)
        message = error.message
        if error.code in ("llm.unavailable", "llm.timeout") and "status" not in error.extra:
            endpoint = provider.config.get("azure_endpoint") or provider.config.get("base_url") or ""
            message += f" Check that {endpoint} is reachable from our servers." if endpoint else ""
        return ConnectionCheck(False, message)


# ---------------------------------------------------------------------------------------------------------- messaging


@sensitive_variables("secrets", "token", "proof")
def _check_telegram(provider: MessagingProvider, secrets: dict[str, str]) -> ConnectionCheck:
    base = settings.PLATFORM_API_URLS["telegram"].rstrip("/")
    response = safe_request("GET", f"{base}/bot{secrets.get('bot_token', '')}/getMe", timeout=_timeout())
    body = response.json() if response.content else {}
    if response.status == 200 and body.get("ok"):
        bot = body.get("result") or {}
        return ConnectionCheck(True, f"Connected to Telegram as @{bot.get('username', '?')}.")
    reason = body.get("description") or f"HTTP {response.status}"
    return ConnectionCheck(False, f"Telegram refused the bot token: {reason}.")


@sensitive_variables("secrets", "token", "proof")
def _check_twilio(provider: MessagingProvider, secrets: dict[str, str]) -> ConnectionCheck:
    sid = str(provider.config.get("account_sid") or "")
    client = TwilioClient(sid, secrets.get("auth_token", ""), http_client=TwilioHttpClient(timeout=_timeout()))
    client.api.base_url = settings.PLATFORM_API_URLS["twilio"]
    try:
        account = client.api.v2010.accounts(sid).fetch()
    except TwilioRestException as exc:
        return ConnectionCheck(False, f"Twilio refused the credentials (HTTP {exc.status}): {exc.msg}.")
    return ConnectionCheck(True, f"Connected to Twilio account “{account.friendly_name}” ({account.status}).")


@sensitive_variables("secrets", "token", "proof")
def _check_slack(provider: MessagingProvider, secrets: dict[str, str]) -> ConnectionCheck:
    client = WebClient(
        token=secrets.get("bot_token", ""), base_url=settings.PLATFORM_API_URLS["slack"], timeout=int(_timeout())
    )
    try:
        answer = client.auth_test()
    except SlackApiError as exc:
        return ConnectionCheck(False, f"Slack refused the bot token: {exc.response.get('error', 'error')}.")
    return ConnectionCheck(
        True,
        f"Connected to Slack workspace “{answer.get('team')}” as {answer.get('user')}. "
        "(The signing secret is checked when Slack first calls us.)",
    )


@sensitive_variables("secrets", "token", "proof")
def _check_meta(provider: MessagingProvider, secrets: dict[str, str]) -> ConnectionCheck:
    token = secrets.get("access_token", "")
    # appsecret_proof makes Graph verify the app secret too: a wrong one fails this call.
    proof = hmac.new(secrets.get("app_secret", "").encode(), token.encode(), hashlib.sha256).hexdigest()
    base = settings.PLATFORM_API_URLS["meta_graph"].rstrip("/")
    response = safe_request(
        "GET",
        f"{base}/me",
        params={"fields": "id,name", "appsecret_proof": proof},
        headers={"Authorization": f"Bearer {token}"},
        timeout=_timeout(),
    )
    body = response.json() if response.content else {}
    if response.status == 200 and body.get("id"):
        return ConnectionCheck(True, f"Connected to Meta as “{body.get('name') or body['id']}”.")
    error = body.get("error") or {}
    return ConnectionCheck(False, f"Meta refused the credentials: {error.get('message') or f'HTTP {response.status}'}")


MESSAGING_CHECKS: dict[str, Callable[[MessagingProvider, dict[str, str]], ConnectionCheck]] = {
    MessagingType.TELEGRAM: _check_telegram,
    MessagingType.TWILIO: _check_twilio,
    MessagingType.SLACK: _check_slack,
    MessagingType.META_CLOUD_API: _check_meta,
}

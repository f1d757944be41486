"""Liveness and readiness probes, and the request id every request carries."""

import json
import logging

import pytest
from django.test import Client

from shared_apps.core import health
from shared_apps.core.logformat import JsonFormatter, RequestContextFilter


@pytest.mark.parametrize("host", ["localhost", "alpha.localhost", "10.1.2.3", "unknown.example"])
def test_healthz_answers_on_any_host_without_touching_the_database(host, db, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = Client(HTTP_HOST=host).get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.parametrize("host", ["localhost", "alpha.localhost", "10.1.2.3"])
def test_readyz_checks_database_redis_and_migrations(host, team_a):
    response = Client(HTTP_HOST=host).get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok", "migrations": "ok"}}


def test_readyz_is_503_naming_the_check_when_redis_is_down(db, monkeypatch):
    def down() -> str:
        raise ConnectionError("refused")

    monkeypatch.setitem(health.CHECKS, "redis", down)

    response = Client(HTTP_HOST="localhost").get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"]["redis"] == "error: ConnectionError"
    assert response.json()["status"] == "unavailable"


def test_readyz_reports_pending_public_migrations(db, monkeypatch):
    monkeypatch.setattr(health, "_expected", {("accounts", "9999_not_yet")})

    response = Client(HTTP_HOST="localhost").get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"]["migrations"] == "1 pending"


def test_request_id_is_echoed_or_created(db):
    client = Client(HTTP_HOST="localhost")

    kept = client.get("/", HTTP_X_REQUEST_ID="abc-123-from-proxy")
    made = client.get("/")
    refused = client.get("/", HTTP_X_REQUEST_ID="bad id with spaces")

    assert kept["X-Request-ID"] == "abc-123-from-proxy"
    assert len(made["X-Request-ID"]) == 32
    assert refused["X-Request-ID"] != "bad id with spaces"


def test_json_log_line_carries_request_id_schema_user_and_extra(team_a, make_member):
    from shared_apps.core.request_context import request_id_var, request_var

    user = make_member(team_a)

    class Request:
        pass

    request = Request()
    request._cached_user = user  # what Django's AuthenticationMiddleware leaves once the user was loaded
    record = logging.makeLogRecord({"name": "t", "msg": "turn.failed", "levelno": 40, "levelname": "ERROR"})
    record.schema_name = "t_alpha"
    record.chatbot_id = 7
    tokens = request_id_var.set("req-12345678"), request_var.set(request)
    try:
        RequestContextFilter().filter(record)
    finally:
        request_id_var.reset(tokens[0])
        request_var.reset(tokens[1])

    line = json.loads(JsonFormatter().format(record))

    assert line["event"] == "turn.failed"
    assert line["request_id"] == "req-12345678"
    assert line["schema"] == "t_alpha"
    assert line["user_id"] == user.pk
    assert line["chatbot_id"] == 7

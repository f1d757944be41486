"""Self-serve signup on the apex: account + team, live subdomain check, verification, progress page, handoff."""

import re

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model

from tenants.enums import Role, TeamStatus
from tenants.models import Membership, Team

User = get_user_model()

PASSWORD = "a-strong-pass-123"


def signup_data(**overrides):
    data = {
        "email": "founder@example.com",
        "organisation": "Acme Labs",
        "subdomain": "acme-labs",
        "password1": PASSWORD,
        "password2": PASSWORD,
    }
    data.update(overrides)
    return data


@pytest.fixture
def queued_provisioning(monkeypatch):
    from tenants import tasks

    calls = []
    monkeypatch.setattr(tasks.team_provision_task, "delay", lambda **kw: calls.append(kw))
    return calls


def _confirm_link(message):
    return re.search(r"http://localhost(/accounts/confirm-email/[^/\s]+/)", message.body).group(1)


def test_signup_page_has_team_fields_and_live_subdomain_check(apex_client):
    response = apex_client.get("/accounts/signup/")

    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="organisation"' in html
    assert 'name="subdomain"' in html
    assert 'hx-get="/signup/subdomain/"' in html
    assert "delay:350ms" in html
    assert 'data-testid="entrance-card"' in html  # rendered in our layout


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("fresh-name", "fresh-name.localhost is available", id="ok"),
        pytest.param("Fresh-Name", "fresh-name.localhost is available", id="case-folded"),
        pytest.param("www", "is reserved", id="reserved"),
        pytest.param("alpha", "is already taken", id="taken"),
        pytest.param("ab", "between 3 and 40", id="short"),
        pytest.param("bad_name", "lowercase letters, digits and hyphens", id="format"),
    ],
)
def test_subdomain_check_explains(apex_client, team_a, value, expected):
    response = apex_client.get("/signup/subdomain/", {"subdomain": value}, HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert expected in response.content.decode()


def test_subdomain_check_is_rate_limited(apex_client, rate_limits_on, settings):
    settings.APP_RATE_LIMITS = {**settings.APP_RATE_LIMITS, "signup.subdomain_check": "2/60"}
    for _ in range(2):
        apex_client.get("/signup/subdomain/", {"subdomain": "fresh"})

    response = apex_client.get("/signup/subdomain/", {"subdomain": "fresh"})

    assert b"Slow down" in response.content


def test_signup_creates_user_team_and_owner_then_asks_for_verification(
    apex_client, mailoutbox, queued_provisioning, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = apex_client.post("/accounts/signup/", signup_data(), follow=True)

    user = User.objects.get(email="founder@example.com")
    team = Team.objects.get(slug="acme-labs")
    assert b'data-testid="verification-sent"' in response.content
    assert team.name == "Acme Labs"
    assert team.status == TeamStatus.PROVISIONING
    assert Membership.objects.get(team=team).user == user
    assert Membership.objects.get(team=team).role == Role.OWNER
    assert not EmailAddress.objects.get(user=user).verified
    assert queued_provisioning == [{"team_id": team.pk}]
    assert "/accounts/confirm-email/" in mailoutbox[-1].body
    assert "_auth_user_id" not in apex_client.session


def test_verification_email_is_branded_with_text_and_html_parts(
    apex_client, mailoutbox, queued_provisioning, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        apex_client.post("/accounts/signup/", signup_data(), follow=True)

    email = mailoutbox[-1]
    html, mimetype = email.alternatives[0]
    assert email.subject.startswith("[Chat Studio] ")
    assert "Hello from Chat Studio!" in email.body
    assert "localhost" not in email.body.splitlines()[0]
    assert mimetype == "text/html"
    assert "Chat Studio" in html
    assert 'href="http://localhost/accounts/confirm-email/' in html  # the link is a link


def test_signup_with_bad_subdomain_shows_error_and_creates_nothing(apex_client, team_a):
    response = apex_client.post("/accounts/signup/", signup_data(subdomain="alpha"))

    assert response.status_code == 200
    assert "“alpha” is already taken" in response.content.decode()
    assert not User.objects.filter(email="founder@example.com").exists()


def test_signup_losing_a_subdomain_race_leaves_no_account(apex_client, monkeypatch, team_a):
    from shared_apps.accounts import forms
    from tenants.services import teams

    monkeypatch.setattr(forms, "slug_validate", lambda slug: slug)  # the form's check passed...
    monkeypatch.setattr(teams, "slug_validate", lambda slug: slug)  # ...and so did the service's

    response = apex_client.post("/accounts/signup/", signup_data(subdomain="alpha"))

    assert response.status_code == 200
    assert "already taken" in response.content.decode()
    assert not User.objects.filter(email="founder@example.com").exists()


def test_signup_with_existing_email_looks_the_same_and_creates_no_team(
    apex_client, make_user, mailoutbox, queued_provisioning
):
    make_user(email="founder@example.com")

    response = apex_client.post("/accounts/signup/", signup_data(), follow=True)

    assert b'data-testid="verification-sent"' in response.content
    assert not Team.objects.filter(slug="acme-labs").exists()
    assert queued_provisioning == []
    assert mailoutbox[-1].to == ["founder@example.com"]  # "you already have an account" goes to the owner


def test_signup_is_closed_on_team_hosts(client_for, team_a):
    from django.test import RequestFactory

    from shared_apps.accounts.adapters import AccountAdapter

    request = RequestFactory().get("/")
    request.tenant = team_a

    assert client_for(team_a).get("/accounts/signup/").status_code == 404
    assert not AccountAdapter().is_open_for_signup(request)


def test_signup_verification_link_logs_in_and_lands_on_progress_then_team(
    apex_client, client_for, mailoutbox, queued_provisioning, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        apex_client.post("/accounts/signup/", signup_data())
    link = _confirm_link(mailoutbox[-1])

    landing = apex_client.post(link)
    progress = apex_client.get(landing["Location"])
    polling = apex_client.get("/app/setup/acme-labs/status/", HTTP_HX_REQUEST="true")

    assert landing["Location"] == "/app/setup/acme-labs/"
    assert progress.status_code == 200
    assert b"Setting up Acme Labs" in progress.content
    assert b'hx-trigger="every 500ms"' in polling.content

    Team.objects.filter(slug="acme-labs").update(status=TeamStatus.ACTIVE)
    from tenants import resolver

    resolver._cache.clear()
    ready = apex_client.get("/app/setup/acme-labs/status/", HTTP_HX_REQUEST="true")
    handoff = apex_client.get(ready["HX-Redirect"])

    assert ready["HX-Redirect"] == "/go/acme-labs/"
    assert handoff["Location"].startswith("http://acme-labs.localhost/auth/handoff/?token=")


def test_signup_end_to_end_with_real_provisioning(
    apex_client, client_for, mailoutbox, eager_tasks, django_capture_on_commit_callbacks
):
    """The task runs in-process (eager) inside the test transaction: the schema really is built, then rolled back."""
    from urllib.parse import urlparse

    with django_capture_on_commit_callbacks(execute=True):
        apex_client.post("/accounts/signup/", signup_data())
    apex_client.post(_confirm_link(mailoutbox[-1]))

    team = Team.objects.get(slug="acme-labs")
    assert team.status == TeamStatus.ACTIVE
    setup = apex_client.get("/app/setup/acme-labs/")
    ready = apex_client.get("/app/setup/acme-labs/status/", HTTP_HX_REQUEST="true")
    handoff = urlparse(apex_client.get(ready["HX-Redirect"])["Location"])
    team_client = client_for(team)
    landed = team_client.get(f"{handoff.path}?{handoff.query}")
    home = team_client.get(landed["Location"])

    assert b'data-status="active"' in setup.content
    assert b'hx-trigger="load"' in setup.content  # hands over at once
    assert home.status_code == 200
    assert b"Welcome to Acme Labs" in home.content


def test_setup_page_of_failed_team_offers_retry_to_owner(
    apex_client, make_member, django_capture_on_commit_callbacks, queued_provisioning
):
    from tenants.services.teams import team_create

    owner = make_member(Team.objects.get(slug="alpha"), Role.VIEWER)
    team = team_create(name="Broken", slug="broken", owner=owner, provision_async=False)
    Team.objects.filter(pk=team.pk).update(status=TeamStatus.FAILED, provisioning_error="disk full")
    apex_client.force_login(owner)

    page = apex_client.get("/app/setup/broken/")
    with django_capture_on_commit_callbacks(execute=True):
        retried = apex_client.post("/app/setup/broken/retry/")

    assert b"We could not set up Broken" in page.content
    assert b"disk full" not in page.content  # internal detail stays in the logs
    assert b'data-testid="setup-retry"' in page.content
    assert retried["Location"] == "/app/setup/broken/"
    assert Team.objects.get(pk=team.pk).status == TeamStatus.PROVISIONING
    assert queued_provisioning == [{"team_id": team.pk}]


def test_setup_retry_by_non_owner_is_404(apex_client, make_user):
    from tenants.services.teams import team_create

    owner, editor = make_user(), make_user()
    team = team_create(name="Broken", slug="broken", owner=owner, provision_async=False)
    Membership.objects.create(user=editor, team=team, role=Role.EDITOR)
    Team.objects.filter(pk=team.pk).update(status=TeamStatus.FAILED)
    apex_client.force_login(editor)

    assert apex_client.post("/app/setup/broken/retry/").status_code == 404
    assert Team.objects.get(pk=team.pk).status == TeamStatus.FAILED


@pytest.mark.parametrize("path", ["/app/setup/alpha/", "/app/setup/alpha/status/", "/go/alpha/"])
def test_team_pages_on_apex_are_404_for_non_members(apex_client, team_b, make_member, path):
    apex_client.force_login(make_member(team_b))

    assert apex_client.get(path).status_code == 404


def test_team_create_from_picker(apex_client, make_user, queued_provisioning, django_capture_on_commit_callbacks):
    user = make_user()
    apex_client.force_login(user)

    with django_capture_on_commit_callbacks(execute=True):
        response = apex_client.post("/app/teams/new/", {"organisation": "Second", "subdomain": "second-team"})

    team = Team.objects.get(slug="second-team")
    assert response["Location"] == "/app/setup/second-team/"
    assert Membership.objects.get(team=team, user=user).role == Role.OWNER
    assert queued_provisioning == [{"team_id": team.pk}]


def test_team_create_is_rate_limited(apex_client, make_user, rate_limits_on, settings):
    settings.APP_RATE_LIMITS = {**settings.APP_RATE_LIMITS, "team.create": "1/3600"}
    apex_client.force_login(make_user())
    apex_client.post("/app/teams/new/", {"organisation": "One", "subdomain": "team-one"})

    response = apex_client.post("/app/teams/new/", {"organisation": "Two", "subdomain": "team-two"})

    assert response.status_code == 422
    assert b"Too many attempts" in response.content
    assert not Team.objects.filter(slug="team-two").exists()


def test_home_routes_a_single_active_team_straight_in(apex_client, team_a, make_member):
    apex_client.force_login(make_member(team_a))

    assert apex_client.get("/app/")["Location"] == "/go/alpha/"


def test_team_picker_lists_teams_with_role_and_status(apex_client, team_a, team_b, make_member):
    user = make_member(team_a, Role.EDITOR)
    Membership.objects.create(user=user, team=team_b, role=Role.VIEWER)
    Team.objects.filter(pk=team_b.pk).update(status=TeamStatus.SUSPENDED)
    apex_client.force_login(user)

    response = apex_client.get("/app/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "alpha.localhost · Editor" in html
    assert "bravo.localhost · Viewer" in html
    assert "Suspended" in html


def test_signup_is_rate_limited_per_ip(apex_client, rate_limits_on, settings, caplog):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "signup": "2/h/ip"}
    for n in range(2):
        apex_client.post("/accounts/signup/", signup_data(email=f"a{n}@example.com", subdomain="alpha"))

    response = apex_client.post("/accounts/signup/", signup_data())

    assert response.status_code == 429
    assert b"Too many attempts" in response.content
    assert any(r.getMessage() == "ratelimit.exceeded" for r in caplog.records)


def test_team_picker_confirms_a_deleted_team(apex_client, make_user):
    apex_client.force_login(make_user())

    response = apex_client.get("/app/teams/?done=deleted&team=gone-team")
    odd = apex_client.get("/app/teams/?done=deleted&team=<b>x</b>")

    assert "The team “gone-team” was deleted." in response.content.decode()
    assert b"was deleted" not in odd.content

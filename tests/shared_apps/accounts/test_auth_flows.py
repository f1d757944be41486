"""Login, password reset, email change, TOTP two-factor, logout everywhere, and the abuse limits around them."""

import hashlib
import logging
import re
from urllib.parse import urlparse

import pytest
from allauth.account.models import EmailAddress

from tenants.enums import Role

PASSWORD = "a-strong-pass-123"


def _login(client, email, password=PASSWORD):
    return client.post("/accounts/login/", {"login": email, "password": password})


def test_login_page_renders_in_our_layout_with_reset_link(apex_client):
    response = apex_client.get("/accounts/login/")

    assert response.status_code == 200
    assert b'data-testid="entrance-card"' in response.content
    assert b"/accounts/password/reset/" in response.content


def test_login_error_is_the_same_for_unknown_email_and_wrong_password(apex_client, make_user):
    make_user(email="known@example.com")

    unknown = _login(apex_client, "unknown@example.com").content.decode()
    wrong = _login(apex_client, "known@example.com", "wrong-password-1").content.decode()

    message = "The email address and/or password you specified are not correct."
    assert message in unknown
    assert message in wrong


def test_failed_login_is_logged_without_the_address(apex_client, make_user, caplog):
    make_user(email="known@example.com")

    with caplog.at_level(logging.WARNING, logger="shared_apps.accounts.security"):
        _login(apex_client, "known@example.com", "wrong-password-1")

    record = next(r for r in caplog.records if r.getMessage() == "login.failed")
    assert record.ip == "127.0.0.1"
    assert record.login == hashlib.sha256(b"known@example.com").hexdigest()[:16]
    assert "known@example.com" not in str(record.__dict__)


@pytest.mark.parametrize("email", ["known@example.com", "unknown@example.com"])
def test_repeated_login_failures_are_throttled_and_logged(apex_client, make_user, rate_limits_on, caplog, email):
    make_user(email="known@example.com")
    for _ in range(5):
        _login(apex_client, email, "wrong-password-1")

    with caplog.at_level(logging.WARNING, logger="shared_apps.accounts.security"):
        response = _login(apex_client, email, PASSWORD if email.startswith("known") else "x")

    assert b"Too many failed login attempts" in response.content
    assert "_auth_user_id" not in apex_client.session
    assert any(r.getMessage() == "login.throttled" for r in caplog.records)


def test_password_reset_gives_the_same_answer_for_unknown_addresses(apex_client, make_user, mailoutbox):
    make_user(email="known@example.com")

    known = apex_client.post("/accounts/password/reset/", {"email": "known@example.com"})
    unknown = apex_client.post("/accounts/password/reset/", {"email": "unknown@example.com"})

    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"]
    assert [m.to for m in mailoutbox] == [["known@example.com"], ["unknown@example.com"]]
    assert "/accounts/password/reset/key/" in mailoutbox[0].body
    assert "/accounts/password/reset/key/" not in mailoutbox[1].body


def test_password_reset_link_sets_a_new_password(apex_client, make_user, mailoutbox):
    user = make_user(email="known@example.com")
    apex_client.post("/accounts/password/reset/", {"email": "known@example.com"})
    link = urlparse(re.search(r"http://localhost/accounts/password/reset/key/\S+", mailoutbox[0].body).group(0)).path

    form = apex_client.get(link)  # allauth moves the key into the session and redirects
    done = apex_client.post(form["Location"], {"password1": "brand-new-pass-456", "password2": "brand-new-pass-456"})

    user.refresh_from_db()
    assert done.status_code == 302
    assert user.check_password("brand-new-pass-456")


def test_email_change_waits_for_verification_of_the_new_address(apex_client, make_user, mailoutbox):
    user = make_user(email="old@example.com")
    apex_client.force_login(user)

    apex_client.post("/accounts/email/", {"action_add": "", "email": "new@example.com"})
    user.refresh_from_db()
    assert user.email == "old@example.com"
    link = re.search(r"http://localhost(/accounts/confirm-email/[^/\s]+/)", mailoutbox[-1].body).group(1)

    apex_client.post(link)

    user.refresh_from_db()
    assert user.email == "new@example.com"
    assert list(EmailAddress.objects.filter(user=user).values_list("email", "verified", "primary")) == [
        ("new@example.com", True, True)
    ]


def test_email_change_to_a_taken_address_looks_like_any_other(apex_client, make_user):
    make_user(email="taken@example.com")
    apex_client.force_login(make_user(email="me@example.com"))

    taken = apex_client.post("/accounts/email/", {"action_add": "", "email": "taken@example.com"})
    apex_client.post("/accounts/email/", {"action_remove": "", "email": "taken@example.com"})
    free = apex_client.post("/accounts/email/", {"action_add": "", "email": "free@example.com"})

    assert taken.status_code == free.status_code == 302
    assert taken["Location"] == free["Location"]


def test_account_settings_pages_render_in_our_layout(apex_client, make_user):
    apex_client.force_login(make_user())

    for path in ("/accounts/email/", "/accounts/password/change/", "/accounts/2fa/"):
        response = apex_client.get(path)
        assert response.status_code == 200, path
        assert b'data-testid="account-menu"' in response.content, path


def test_totp_activation_confirms_the_password_then_shows_a_qr_code_in_our_layout(apex_client, make_user):
    apex_client.force_login(make_user())

    confirm = apex_client.get("/accounts/2fa/totp/activate/", follow=True)
    reauthenticated = apex_client.post(confirm.redirect_chain[-1][0], {"password": PASSWORD})
    page = apex_client.get(reauthenticated["Location"])

    assert confirm.redirect_chain[-1][0].startswith("/accounts/reauthenticate/")
    assert b'data-testid="entrance-card"' in confirm.content
    assert reauthenticated["Location"] == "/accounts/2fa/totp/activate/"
    assert page.status_code == 200
    assert b'data-testid="account-menu"' in page.content
    assert b"data:image/svg+xml;base64," in page.content


@pytest.fixture
def totp_user(make_user):
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    user = make_user(email="secure@example.com")
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return user, secret


def _current_code(secret):
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value, yield_hotp_counters_from_time

    counters = list(yield_hotp_counters_from_time())
    return format_hotp_value(hotp_value(secret, counters[len(counters) // 2]))


def test_login_with_totp_asks_for_the_code(apex_client, totp_user):
    user, secret = totp_user

    first = _login(apex_client, user.email)
    prompt = apex_client.get(first["Location"])
    wrong = apex_client.post("/accounts/2fa/authenticate/", {"code": "000000"})
    right = apex_client.post("/accounts/2fa/authenticate/", {"code": _current_code(secret)})

    assert first["Location"] == "/accounts/2fa/authenticate/"
    assert b'data-testid="entrance-card"' in prompt.content
    assert b"authenticator code" in prompt.content
    assert wrong.status_code == 200
    assert right.status_code == 302
    assert int(apex_client.session["_auth_user_id"]) == user.pk


def test_logout_on_the_apex_ends_team_host_sessions(apex_client, client_for, team_a, make_member):
    user = make_member(team_a, Role.VIEWER)
    _login(apex_client, user.email)
    handoff = urlparse(apex_client.get("/go/alpha/")["Location"])
    team_client = client_for(team_a)
    team_client.get(f"{handoff.path}?{handoff.query}")
    assert team_client.get("/").status_code == 200

    apex_client.post("/accounts/logout/")

    assert team_client.get("/").status_code == 302

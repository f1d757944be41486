"""Team-host pages: members, invitations, settings (rename, delete, export). htmx and plain posts."""

import gzip
import re

import pytest

from tenants import resolver
from tenants.enums import ExportStatus, Role, TeamStatus
from tenants.exports import team_export_run
from tenants.models import Invitation, Membership, Team, TeamExport


@pytest.fixture
def owner(team_a, make_member):
    return make_member(team_a, Role.OWNER, email="owner@example.com")


@pytest.fixture
def owner_client(owner, team_a, client_for):
    return client_for(team_a, owner)


def _membership(user, team):
    return Membership.objects.get(user=user, team=team)


# --- members -------------------------------------------------------------------


def test_member_list_shows_members_and_controls_for_admins(owner_client, team_a, make_member):
    make_member(team_a, Role.VIEWER, email="viewer@example.com")

    response = owner_client.get("/members/")

    assert response.status_code == 200
    assert b"viewer@example.com" in response.content
    assert b'data-testid="member-role-select"' in response.content
    assert b'data-testid="invite-people"' in response.content


def test_member_list_for_viewer_is_read_only(team_a, make_member, client_for, owner):
    viewer = make_member(team_a, Role.VIEWER)

    response = client_for(team_a, viewer).get("/members/")

    assert response.status_code == 200
    assert b"owner@example.com" in response.content
    assert b'data-testid="member-role-select"' not in response.content
    assert b'data-testid="member-remove"' not in response.content


def test_member_role_change_by_htmx_returns_the_row(owner_client, team_a, make_member):
    editor = make_member(team_a, Role.EDITOR, email="ed@example.com")
    m = _membership(editor, team_a)

    response = owner_client.post(f"/members/{m.pk}/role/", {"role": "admin"}, HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert b'<option value="admin" selected>' in response.content
    assert _membership(editor, team_a).role == Role.ADMIN


def test_member_role_change_of_last_owner_shows_error(owner_client, owner, team_a):
    m = _membership(owner, team_a)

    response = owner_client.post(f"/members/{m.pk}/role/", {"role": "viewer"}, HTTP_HX_REQUEST="true")

    assert b"at least one owner" in response.content
    assert _membership(owner, team_a).role == Role.OWNER


def test_member_remove_then_removed_member_loses_access(owner_client, team_a, make_member, client_for):
    viewer = make_member(team_a, Role.VIEWER)
    viewer_client = client_for(team_a, viewer)
    assert viewer_client.get("/").status_code == 200
    m = _membership(viewer, team_a)

    response = owner_client.post(f"/members/{m.pk}/remove/", HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert response.content == b""
    assert viewer_client.get("/").status_code == 404


def test_member_leave_redirects_to_team_picker(team_a, make_member, client_for, owner):
    editor = make_member(team_a, Role.EDITOR)

    response = client_for(team_a, editor).post("/members/leave/")

    assert response.status_code == 302
    assert response["Location"] == "http://localhost/app/teams/?done=left&team=alpha"
    assert not Membership.objects.filter(user=editor, team=team_a).exists()


def test_member_leave_as_last_owner_is_refused(owner_client, owner, team_a):
    response = owner_client.post("/members/leave/", follow=True)

    assert b"You are the last owner" in response.content
    assert Membership.objects.filter(user=owner, team=team_a).exists()


@pytest.mark.parametrize("action", ["role", "remove"])
def test_member_actions_on_another_teams_membership_are_404(owner_client, team_b, make_member, action):
    theirs = make_member(team_b, Role.VIEWER)
    m = _membership(theirs, team_b)

    response = owner_client.post(f"/members/{m.pk}/{action}/", {"role": "admin"})

    assert response.status_code == 404
    assert _membership(theirs, team_b).role == Role.VIEWER


# --- invitations ----------------------------------------------------------------


def test_invitation_create_by_htmx_sends_email_and_lists_it(
    owner_client, team_a, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            "/members/invitations/", {"email": "new@example.com", "role": "editor"}, HTTP_HX_REQUEST="true"
        )

    assert response.status_code == 200
    assert b'data-email="new@example.com"' in response.content
    assert b"Invitation sent to new@example.com" in response.content  # toast, out of band
    assert mailoutbox[-1].to == ["new@example.com"]
    assert Invitation.objects.get(team=team_a).role == Role.EDITOR


def test_invitation_create_with_bad_input_shows_field_error(owner_client):
    response = owner_client.post("/members/invitations/", {"email": "nope", "role": "editor"}, HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert b'data-testid="invite-error"' in response.content


def test_invitation_form_offers_owner_role_only_to_owners(team_a, make_member, client_for):
    admin = make_member(team_a, Role.ADMIN)

    response = client_for(team_a, admin).get("/members/invitations/")

    assert b'<option value="admin"' in response.content
    assert b'<option value="owner"' not in response.content


@pytest.fixture
def invitation(team_a, owner):
    from tenants.services.invitations import invitation_create

    return invitation_create(team=team_a, email="new@example.com", role=Role.VIEWER, invited_by=owner)


def test_invitation_resend_and_revoke(owner_client, invitation, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(f"/members/invitations/{invitation.pk}/resend/", HTTP_HX_REQUEST="true")
    response = owner_client.post(f"/members/invitations/{invitation.pk}/revoke/", HTTP_HX_REQUEST="true")

    invitation.refresh_from_db()
    assert len(mailoutbox) == 1
    assert invitation.send_count == 2
    assert invitation.state == "revoked"
    assert b"No pending invitations" in response.content


@pytest.mark.parametrize("action", ["resend", "revoke"])
def test_invitation_actions_on_another_teams_invitation_are_404(owner_client, team_b, make_member, action, team_a):
    from tenants.services.invitations import invitation_create

    their_owner = make_member(team_b, Role.OWNER)
    theirs = invitation_create(team=team_b, email="x@example.com", role=Role.VIEWER, invited_by=their_owner)

    response = owner_client.post(f"/members/invitations/{theirs.pk}/{action}/")

    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.state == "pending"
    assert theirs.send_count == 1


# --- settings -------------------------------------------------------------------


def test_team_rename_from_settings(owner_client, team_a):
    response = owner_client.post("/settings/rename/", {"name": "Alpha Two"})

    assert response.status_code == 302
    assert Team.objects.get(pk=team_a.pk).name == "Alpha Two"


def test_team_rename_with_empty_name_shows_error(owner_client):
    response = owner_client.post("/settings/rename/", {"name": ""})

    assert response.status_code == 422
    assert b"This field is required" in response.content


def test_team_delete_with_wrong_slug_is_refused(owner_client, team_a):
    response = owner_client.post("/settings/delete/", {"confirm_slug": "alpah"})

    assert response.status_code == 422
    assert "Type the subdomain “alpha” exactly".encode() in response.content
    assert Team.objects.get(pk=team_a.pk).status == TeamStatus.ACTIVE


def test_team_delete_by_owner_marks_deleted_and_leaves_for_the_apex(
    owner_client, team_a, django_capture_on_commit_callbacks, monkeypatch
):
    from tenants import tasks

    queued = []
    monkeypatch.setattr(tasks.team_delete_task, "delay", lambda **kw: queued.append(kw))

    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post("/settings/delete/", {"confirm_slug": "alpha"})

    resolver._cache.clear()
    assert response.status_code == 302
    assert response["Location"] == "http://localhost/app/teams/?done=deleted&team=alpha"
    assert Team.objects.get(pk=team_a.pk).status == TeamStatus.DELETED
    assert queued == [{"team_id": team_a.pk}]
    assert owner_client.get("/").status_code == 404


def test_team_delete_by_admin_is_404(team_a, make_member, client_for):
    admin = make_member(team_a, Role.ADMIN)

    response = client_for(team_a, admin).post("/settings/delete/", {"confirm_slug": "alpha"})

    assert response.status_code == 404
    assert Team.objects.get(pk=team_a.pk).status == TeamStatus.ACTIVE


@pytest.fixture
def export_root(settings, tmp_path):
    settings.TEAM_EXPORT_ROOT = str(tmp_path / "exports")
    return tmp_path / "exports"


def test_team_export_progress_then_download(owner_client, team_a, export_root, monkeypatch):
    from tenants import tasks

    monkeypatch.setattr(tasks.team_export_task, "delay", lambda **kw: None)  # run by hand below
    response = owner_client.post("/settings/exports/", HTTP_HX_REQUEST="true")
    export = TeamExport.objects.get(team=team_a)
    assert b'hx-trigger="every 1s"' in response.content
    assert owner_client.get(f"/settings/exports/{export.pk}/download/").status_code == 404  # not ready yet

    team_export_run(export_id=export.pk)
    status = owner_client.get(f"/settings/exports/{export.pk}/")
    download = owner_client.get(f"/settings/exports/{export.pk}/download/")

    assert b'data-status="done"' in status.content
    assert b"every 1s" not in status.content
    assert download.status_code == 200
    assert re.match(r'attachment; filename="t_alpha-.*\.sql\.gz"', download["Content-Disposition"])
    assert b"CREATE TABLE t_alpha." in gzip.decompress(b"".join(download.streaming_content))


def test_team_export_of_another_team_is_404(owner_client, team_b, make_member, export_root):
    their_owner = make_member(team_b, Role.OWNER)
    theirs = team_export_run(export_id=TeamExport.objects.create(team=team_b, requested_by=their_owner).pk)
    assert theirs.status == ExportStatus.DONE

    assert owner_client.get(f"/settings/exports/{theirs.pk}/").status_code == 404
    assert owner_client.get(f"/settings/exports/{theirs.pk}/download/").status_code == 404


def test_team_export_download_is_404_for_editors(team_a, owner, make_member, client_for, export_root):
    export = team_export_run(export_id=TeamExport.objects.create(team=team_a, requested_by=owner).pk)
    editor = make_member(team_a, Role.EDITOR)

    assert client_for(team_a, editor).get(f"/settings/exports/{export.pk}/download/").status_code == 404


def test_audit_log_page_lists_events(owner_client, team_a):
    owner_client.post("/settings/rename/", {"name": "Renamed"})

    response = owner_client.get("/settings/audit/?action=team.")

    assert response.status_code == 200
    assert b'data-action="team.renamed"' in response.content


def test_team_export_started_twice_keeps_one_running(owner_client, team_a, export_root, monkeypatch):
    from tenants import tasks

    monkeypatch.setattr(tasks.team_export_task, "delay", lambda **kw: None)
    owner_client.post("/settings/exports/", HTTP_HX_REQUEST="true")

    again = owner_client.post("/settings/exports/", HTTP_HX_REQUEST="true")

    assert TeamExport.objects.filter(team=team_a).count() == 1
    assert b"already running" in again.content
    assert b'data-testid="export-row"' not in again.content

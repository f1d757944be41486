import pytest

from tenant_apps.chatbots.models import Chatbot, ConsentForm
from tenant_apps.chatbots.services import version_create
from tenants.enums import Role


@pytest.fixture
def owner_client(team, owner, client_for):
    return client_for(team, owner)


def test_chatbot_list_empty_state_then_rows(owner_client, fake_provider):
    empty = owner_client.get("/chatbots/")
    owner_client.post("/chatbots/new/", {"name": "Support bot", "description": "Helps"})

    listed = owner_client.get("/chatbots/")

    assert b"Create your first chatbot" in empty.content
    assert b"Support bot" in listed.content
    assert b"not published" in listed.content


def test_chatbot_create_form_reports_missing_name(owner_client, fake_provider):
    response = owner_client.post("/chatbots/new/", {"name": ""})

    assert response.status_code == 200
    assert b"This field is required" in response.content
    assert not Chatbot.objects.exists()


def test_chatbot_create_redirects_to_its_page(owner_client, fake_provider):
    response = owner_client.post("/chatbots/new/", {"name": "Quiz"})

    chatbot = Chatbot.objects.get(name="Quiz")
    assert response["Location"] == f"/chatbots/{chatbot.pk}/"
    assert b"Quiz" in owner_client.get(response["Location"]).content


def test_chatbot_list_search_and_archived_tab(owner_client, chatbot, owner):
    owner_client.post(f"/chatbots/{chatbot.pk}/archive/")

    active = owner_client.get("/chatbots/").content
    archived = owner_client.get("/chatbots/?archived=1").content
    searched = owner_client.get("/chatbots/?archived=1&q=help").content
    missed = owner_client.get("/chatbots/?archived=1&q=zzz").content

    link = f'href="/chatbots/{chatbot.pk}/"'.encode()
    assert link not in active
    assert link in archived
    assert link in searched
    assert b"No chatbot matches" in missed


def test_settings_save_validates_the_allowlist(owner_client, chatbot):
    bad = owner_client.post(
        f"/chatbots/{chatbot.pk}/settings/",
        {"name": "Helper", "participant_allowlist": "ok@example.com\nbroken@", "seed_message": ""},
    )
    good = owner_client.post(
        f"/chatbots/{chatbot.pk}/settings/",
        {"name": "Helper", "participant_allowlist": "ok@example.com", "seed_message": "Hi", "is_public": "on"},
    )

    assert b"Each line must be an email" in bad.content
    chatbot.refresh_from_db()
    assert good.status_code == 302
    assert chatbot.participant_allowlist == ["ok@example.com"]
    assert chatbot.is_public
    assert chatbot.seed_message == "Hi"


def test_version_create_publish_and_revert_through_the_pages(owner_client, chatbot):
    owner_client.post(f"/chatbots/{chatbot.pk}/versions/new/", {"description": "first", "publish": "on"})
    owner_client.post(f"/chatbots/{chatbot.pk}/versions/new/", {"description": "second"})
    owner_client.post(f"/chatbots/{chatbot.pk}/versions/2/publish/")
    chatbot.refresh_from_db()
    assert chatbot.published_version.number == 2

    owner_client.post(f"/chatbots/{chatbot.pk}/settings/", {"name": "Renamed", "participant_allowlist": ""})
    owner_client.post(f"/chatbots/{chatbot.pk}/versions/1/revert/")
    chatbot.refresh_from_db()
    page = owner_client.get(f"/chatbots/{chatbot.pk}/versions/").content

    assert chatbot.name == "Helper"
    assert b"v1" in page
    assert b"v2" in page
    assert b"published" in page
    assert b"second" in page


def test_version_create_with_invalid_pipeline_shows_the_errors(owner_client, chatbot):
    from tenant_apps.pipelines.services import pipeline_update_graph

    pipeline = chatbot.pipeline
    pipeline_update_graph(pipeline=pipeline, graph={"nodes": [], "edges": []}, base_revision=pipeline.edit_revision)

    response = owner_client.post(f"/chatbots/{chatbot.pk}/versions/new/", {"description": "x"}, follow=True)

    assert b"Fix the pipeline" in response.content
    assert not chatbot.versions.exists()


def test_compare_page_shows_differences(owner_client, chatbot, owner):
    version_create(chatbot=chatbot, actor=owner)
    owner_client.post(
        f"/chatbots/{chatbot.pk}/settings/", {"name": "Helper", "seed_message": "Welcome", "participant_allowlist": ""}
    )

    page = owner_client.get(f"/chatbots/{chatbot.pk}/versions/compare/?a=1&b=working").content
    same = owner_client.get(f"/chatbots/{chatbot.pk}/versions/compare/?a=1&b=1").content

    assert b"Seed message" in page
    assert b"Welcome" in page
    assert b"No differences" in same
    assert owner_client.get(f"/chatbots/{chatbot.pk}/versions/compare/?a=9").status_code == 404


def test_consent_form_pages(owner_client, team):
    owner_client.post(
        "/chatbots/consent-forms/new/", {"name": "Study", "consent_text": "Agree?", "confirmation_text": "1"}
    )
    form = ConsentForm.objects.get()
    owner_client.post(
        f"/chatbots/consent-forms/{form.pk}/",
        {"name": "Study v2", "consent_text": "Agree!", "confirmation_text": "yes"},
    )
    form.refresh_from_db()
    listed = owner_client.get("/chatbots/consent-forms/").content

    owner_client.post(f"/chatbots/consent-forms/{form.pk}/delete/")

    assert form.name == "Study v2"
    assert form.confirmation_text == "yes"
    assert b"Study v2" in listed
    assert not ConsentForm.objects.exists()


def test_viewer_sees_chatbots_but_cannot_change_them(team, chatbot, make_member, client_for):
    viewer = client_for(team, make_member(team, Role.VIEWER))

    assert viewer.get("/chatbots/").status_code == 200
    assert viewer.get(f"/chatbots/{chatbot.pk}/").status_code == 200
    assert b"Chat with the working copy" not in viewer.get(f"/chatbots/{chatbot.pk}/").content
    assert viewer.post(f"/chatbots/{chatbot.pk}/versions/new/", {}).status_code == 404
    assert viewer.post(f"/chatbots/{chatbot.pk}/archive/").status_code == 404


def test_other_teams_chatbot_and_consent_form_answer_404(team, chatbot, team_b, make_member, client_for, owner):
    version_create(chatbot=chatbot, actor=owner)
    form = ConsentForm.objects.create(name="Study", consent_text="Agree?")
    outsider = client_for(team_b, make_member(team_b, Role.OWNER))

    for path in (
        f"/chatbots/{chatbot.pk}/",
        f"/chatbots/{chatbot.pk}/settings/",
        f"/chatbots/{chatbot.pk}/versions/",
        f"/chatbots/{chatbot.pk}/versions/compare/?a=1",
        f"/chatbots/consent-forms/{form.pk}/",
    ):
        assert outsider.get(path).status_code == 404, path
    for path in (
        f"/chatbots/{chatbot.pk}/versions/1/publish/",
        f"/chatbots/{chatbot.pk}/versions/1/revert/",
        f"/chatbots/{chatbot.pk}/copy/",
        f"/chatbots/{chatbot.pk}/archive/",
        f"/chatbots/consent-forms/{form.pk}/delete/",
    ):
        assert outsider.post(path).status_code == 404, path

import pytest

from tenant_apps.audit.describe import event_details, words


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param({"version": 3, "previous": None}, "version: 3, previous: none", id="none"),
        pytest.param({"fields": []}, "fields: none", id="empty-list"),
        pytest.param({"fields": ["is_public", "seed_message"]}, "fields: public, seed message", id="field-names"),
        pytest.param({"read_only": True}, "read only: yes", id="bool"),
        pytest.param({"fields": [f"f{i}" for i in range(15)]}, None, id="long-list-cut"),
        pytest.param({}, "", id="nothing"),
    ],
)
def test_event_details_are_words_without_none_or_brackets(data, expected):
    text = event_details(data)

    for raw in ("None", "[", "_"):
        assert raw not in text
    if expected is not None:
        assert text == expected
    else:
        assert text.endswith("and 3 more")


def test_action_codes_become_words():
    assert words("chatbot.version_published") == "Chatbot version published"


def test_audit_page_shows_words(team, owner, client_for, chatbot):
    from tenant_apps.chatbots.services import chatbot_update, version_create

    chatbot_update(chatbot=chatbot, actor=owner, is_public=True)
    version_create(chatbot=chatbot, actor=owner, publish=True)

    page = client_for(team, owner).get("/settings/audit/").content.decode()

    assert "Chatbot version published" in page
    assert "previous: none" in page
    assert "fields: public" in page
    assert "None" not in page.split('data-testid="audit-table"')[1]

"""The local demo model's progress on the pages of a chatbot that uses it (development's status file)."""

import json
import time

import pytest

from tenant_apps.chatbots.services import chatbot_create
from tenant_apps.providers.local_model import local_model_status, local_model_waiting
from tests.factories.providers import llm_provider

LOCAL_URL = "http://127.0.0.1:8011/v1"


@pytest.fixture
def status_file(tmp_path, settings):
    path = tmp_path / "local-llm.json"
    settings.LOCAL_LLM_STATUS_FILE = str(path)
    settings.LOCAL_LLM_BASE_URL = LOCAL_URL

    def write(state, progress=0, step="", message="", age=0.0):
        path.write_text(
            json.dumps(
                {
                    "state": state,
                    "step": step,
                    "progress": progress,
                    "message": message,
                    "updated_at": time.time() - age,
                }
            )
        )

    return write


@pytest.fixture
def local_bot(team, owner, catalog):
    provider = llm_provider(type="llamacpp", base_url=LOCAL_URL, name="Local SmolLM2 (llama.cpp)")
    provider.custom_models.create(name="smollm2")
    return chatbot_create(name="Demo", created_by=owner, llm_provider_id=provider.pk, llm_model="smollm2")


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        pytest.param(None, None, id="no-file"),
        pytest.param({"state": "off"}, None, id="off"),
        pytest.param("not json", None, id="garbage"),
        pytest.param({"state": "preparing", "progress": 140, "step": "Downloading"}, ("preparing", 100), id="clamped"),
        pytest.param({"state": "ready", "progress": 100}, ("ready", 100), id="ready"),
    ],
)
def test_local_model_status_reads_the_file_defensively(tmp_path, settings, written, expected):
    path = tmp_path / "status.json"
    settings.LOCAL_LLM_STATUS_FILE = str(path)
    if written is not None:
        path.write_text(written if isinstance(written, str) else json.dumps({**written, "updated_at": time.time()}))

    status = local_model_status()

    assert ((status.state, status.progress) if status else None) == expected


def test_a_preparation_nobody_updates_reads_as_stopped(status_file):
    status_file("preparing", 40, age=3600)

    assert local_model_status().state == "stopped"


def test_no_status_file_in_production(settings):
    settings.LOCAL_LLM_STATUS_FILE = ""

    assert local_model_status() is None


def test_waiting_only_for_chatbots_on_the_local_model(status_file, chatbot, local_bot):
    status_file("preparing", 30, "Downloading the model (40 of about 127 MB)")

    assert local_model_waiting(chatbot=local_bot).progress == 30
    assert local_model_waiting(chatbot=chatbot) is None  # on another provider


def test_ready_model_costs_no_query(status_file, local_bot, django_assert_num_queries):
    status_file("ready", 100)

    with django_assert_num_queries(0):
        assert local_model_waiting(chatbot=local_bot) is None


def test_chatbot_pages_show_progress_and_offer_a_provider(status_file, local_bot, team, owner, client_for):
    status_file("preparing", 45, "Downloading the model (57 of about 127 MB)")
    client = client_for(team, owner)

    for path in (f"/chatbots/{local_bot.pk}/", f"/chatbots/{local_bot.pk}/build/"):
        content = client.get(path).content.decode()
        assert "This chatbot's model is still being prepared" in content
        assert "Downloading the model (57 of about 127 MB) (45%)" in content
        assert "Add your own provider" in content
        assert 'hx-trigger="every 3s"' in content


def test_failed_preparation_is_said_plainly(status_file, local_bot, team, owner, client_for):
    status_file("failed", 0, "Preparing the model failed", "pip failed: No matching distribution found")

    content = client_for(team, owner).get(f"/chatbots/{local_bot.pk}/").content.decode()

    assert "The demo model could not be prepared." in content
    assert "No matching distribution found" in content


def test_status_poll_turns_into_ready_then_nothing(status_file, team, owner, client_for):
    client = client_for(team, owner)
    status_file("starting", 96, "Loading the model")
    loading = client.get("/providers/local-model/status/").content.decode()
    status_file("ready", 100)
    ready = client.get("/providers/local-model/status/").content.decode()
    status_file("off")
    gone = client.get("/providers/local-model/status/").content.decode()

    assert "Loading the model (96%)" in loading
    assert "The demo model is ready." in ready
    assert "every 3s" not in ready
    assert gone.strip() == ""

"""Template, code, HTTP and email nodes through the executor."""

from __future__ import annotations

import json

import pytest

from shared_apps.core.http import SafeResponse, UnsafeUrlError
from tenant_apps.pipelines.engine.context import EmailRequest, ParticipantInfo
from tests.factories.pipelines import chain, node

# --- template ---------------------------------------------------------------------------------------------------


def test_template_renders_every_variable(run_graph):
    text = (
        "{{ input }}|{{ temp_state.user_input }}|{{ session_state.s }}|{{ participant_data.p }}|"
        "{{ participant_details.name }}|{{ node_outputs.start }}"
    )

    result = run_graph(
        chain(node("t", "template", template_string=text)),
        input_text="in",
        session_state={"s": 1},
        participant_data={"p": 2},
        participant=ParticipantInfo(identifier="id", name="Ada"),
    )

    assert result.output == "in|in|1|2|Ada|in"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        pytest.param("{{ nope }}", "pipeline.template_undefined", id="undefined"),
        pytest.param("{{ input.__class__.__mro__ }}", "pipeline.template_unsafe", id="dunder"),
        pytest.param("{{ input.format.__globals__ }}", "pipeline.template_unsafe", id="globals"),
        pytest.param("{{ 1 / 0 }}", "pipeline.template_error", id="zero-division"),
    ],
)
def test_template_refuses_unsafe_or_broken_templates(run_graph, text, code):
    result = run_graph(chain(node("t", "template", template_string=text)))

    assert (result.error.node_id, result.error.code) == ("t", code)


def test_template_tojson_filter(run_graph):
    result = run_graph(
        chain(node("t", "template", template_string="{{ participant_data | tojson }}")), participant_data={"a": "é"}
    )

    assert result.output == '{"a": "é"}'


# --- code -------------------------------------------------------------------------------------------------------


def test_code_node_output_and_state_changes_come_back(run_graph):
    code = (
        "def main(input, **kwargs):\n"
        "    set_participant_data_key('seen', get_participant_data_key('seen', 0) + 1)\n"
        "    set_session_state_key('last', input)\n"
        "    set_temp_state_key('shout', input.upper())\n"
        "    add_message_tag('coded')\n"
        "    end_session()\n"
        "    return get_temp_state_key('shout') + '!'\n"
    )
    document = chain(node("code", "code", code=code), node("t", "template", template_string="{{ temp_state.shout }}"))

    result = run_graph(document, input_text="hey", participant_data={"seen": 1})

    assert result.output == "HEY"
    assert result.trace[1].output == "HEY!"
    assert result.participant_data == {"seen": 2}
    assert result.session_state == {"last": "hey"}
    assert (result.end_session, result.message_tags) == (True, ["coded"])


def test_code_node_failure_names_the_node_and_keeps_console(run_graph):
    code = "def main(input, **kwargs):\n    print('about to fail')\n    return 1 / 0\n"

    result = run_graph(chain(node("code", "code", label="Maths", code=code)))

    assert (result.error.node_id, result.error.label, result.error.code) == ("code", "Maths", "pipeline.code_error")
    assert "ZeroDivisionError" in result.error.message
    assert result.trace[-1].details == {"console": "about to fail\n"}


def test_code_node_failed_run_changes_no_state(run_graph):
    code = "def main(input, **kwargs):\n    set_session_state_key('x', 1)\n    raise ValueError('no')\n"

    result = run_graph(chain(node("code", "code", code=code)), session_state={"x": 0})

    assert result.session_state == {"x": 0}


# --- http -------------------------------------------------------------------------------------------------------


class RecordingRequester:
    def __init__(self, response: SafeResponse | Exception) -> None:
        self.response = response
        self.calls: list[dict] = []

    def __call__(self, method, url, **kwargs):
        self.calls.append({"method": method, "url": url, **kwargs})
        if isinstance(self.response, Exception):
            raise self.response
        return self.response


def ok(body: str, status: int = 200) -> SafeResponse:
    return SafeResponse(status=status, headers={}, content=body.encode(), url="https://api.example.org")


def test_http_node_renders_request_and_outputs_body(run_graph):
    requester = RecordingRequester(ok('{"temp": 21}'))
    params = {
        "method": "POST",
        "url": "https://api.example.org/{{ participant_data.city }}",
        "headers": {"X-Token": "{{ session_state.token }}"},
        "body": '{"q": {{ input | tojson }}}',
        "save_response_to": "weather",
    }

    result = run_graph(
        chain(node("h", "http_request", **params)),
        input_text='say "hi"',
        participant_data={"city": "paris"},
        session_state={"token": "t0k"},
        http_request=requester,
    )

    call = requester.calls[0]
    assert (call["method"], call["url"]) == ("POST", "https://api.example.org/paris")
    assert call["headers"] == {"X-Token": "t0k", "Content-Type": "application/json"}
    assert json.loads(call["data"]) == {"q": 'say "hi"'}
    assert result.output == '{"temp": 21}'
    assert result.temp_state["weather"] == {"status": 200, "body": {"temp": 21}}
    assert result.trace[1].details == {"method": "POST", "url": "https://api.example.org/paris", "status": 200}
    assert "t0k" not in json.dumps(result.trace_dicts())  # headers never reach the trace


def test_http_node_get_sends_no_body(run_graph):
    requester = RecordingRequester(ok("plain"))

    run_graph(chain(node("h", "http_request", url="https://x.org", body="ignored")), http_request=requester)

    assert requester.calls[0]["data"] is None


def test_http_node_error_status_fails_unless_allowed(run_graph):
    failing = run_graph(
        chain(node("h", "http_request", url="https://x.org")), http_request=RecordingRequester(ok("no", 503))
    )
    allowed = run_graph(
        chain(node("h", "http_request", url="https://x.org", fail_on_error_status=False)),
        http_request=RecordingRequester(ok("no", 503)),
    )

    assert failing.error.code == "pipeline.http_error_status"
    assert allowed.output == "no"


def test_http_node_refused_url_is_a_node_failure(run_graph):
    refused = RecordingRequester(UnsafeUrlError(code="http.unsafe_url", message="That address is not allowed."))

    result = run_graph(
        chain(node("h", "http_request", url="http://{{ input }}/")), input_text="10.0.0.1", http_request=refused
    )

    assert (result.error.node_id, result.error.code) == ("h", "http.unsafe_url")


# --- email ------------------------------------------------------------------------------------------------------


def test_email_node_sends_rendered_message_and_passes_input_through(run_graph):
    sent: list[EmailRequest] = []
    params = {
        "recipient_list": "{{ participant_data.email }}, team@example.org",
        "subject": "New message from\n{{ participant_data.name }}",
        "body": "They said: {{ input }}",
    }

    result = run_graph(
        chain(node("mail", "send_email", **params)),
        input_text="help",
        participant_data={"email": "ada@example.org", "name": "Ada"},
        send_email=sent.append,
    )

    assert result.output == "help"
    assert sent == [
        EmailRequest(
            recipients=("ada@example.org", "team@example.org"), subject="New message from Ada", body="They said: help"
        )
    ]


@pytest.mark.parametrize(
    ("recipients", "code"),
    [
        pytest.param("{{ participant_data.email }}", "pipeline.email_bad_recipient", id="invalid"),
        pytest.param("{{ participant_data.none }}", "pipeline.email_no_recipients", id="empty"),
    ],
)
def test_email_node_refuses_bad_rendered_recipients(run_graph, recipients, code):
    sent: list[EmailRequest] = []
    params = {"recipient_list": recipients, "subject": "s", "body": "b"}

    result = run_graph(
        chain(node("mail", "send_email", **params)),
        participant_data={"email": "not-an-email", "none": ""},
        send_email=sent.append,
    )

    assert (result.error.node_id, result.error.code) == ("mail", code)
    assert sent == []

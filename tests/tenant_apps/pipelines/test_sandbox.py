"""The code sandbox: escapes are refused, limits kill runaway code, state travels back by value only."""

from __future__ import annotations

import os

import pytest

from tenant_apps.pipelines.sandbox.runner import CodeRequest, CodeRunner, SandboxLimits


def run(runner: CodeRunner, body: str, *, header: str = "", **request):
    code = f"{header}\ndef main(input, **kwargs):\n" + "\n".join(f"    {line}" for line in body.splitlines())
    return runner.run(CodeRequest(code=code, input=request.pop("input", "hi"), **request))


def test_sandbox_runs_main_and_returns_output(code_runner):
    result = run(code_runner, "return input.upper() + str(sum([1, 2, 3]))")

    assert (result.ok, result.output) == (True, "HI6")


def test_sandbox_non_text_output_is_json(code_runner):
    assert run(code_runner, "return {'a': [1, 2]}").output == '{"a": [1, 2]}'


def test_sandbox_none_output_is_empty(code_runner):
    assert run(code_runner, "pass").output == ""


@pytest.mark.parametrize("module", ["json", "re", "datetime", "math", "random", "time"])
def test_sandbox_allows_the_listed_imports(code_runner, module):
    result = run(code_runner, f"import {module}\nreturn 'ok'")

    assert result.ok, result.error_message


def test_sandbox_allowed_modules_work(code_runner):
    body = (
        "import json, re, math\nfrom datetime import datetime, timedelta\n"
        "d = datetime(2024, 1, 1) + timedelta(days=1)\n"
        "return json.dumps([re.sub('a', 'b', 'aa'), math.floor(2.5), d.isoformat()])"
    )

    assert run(code_runner, body).output == '["bb", 2, "2024-01-02T00:00:00"]'


@pytest.mark.parametrize(
    ("header", "body", "code"),
    [
        pytest.param("import os", "return os.getcwd()", "pipeline.code_error", id="import-os"),
        pytest.param("import subprocess", "return 1", "pipeline.code_error", id="import-subprocess"),
        pytest.param("from json import codecs", "return 1", "pipeline.code_error", id="module-internals"),
        pytest.param("", "import socket\nreturn 1", "pipeline.code_error", id="import-inside-main"),
        pytest.param("", "return __import__('os')", "pipeline.code_syntax", id="dunder-import"),
        pytest.param("", "return input.__class__.__mro__", "pipeline.code_syntax", id="dunder-attribute"),
        pytest.param("", "return getattr(input, '__class__')", "pipeline.code_error", id="getattr-dunder"),
        pytest.param("", "return '{0.__class__}'.format(input)", "pipeline.code_error", id="format-string"),
        pytest.param("", "return open('/etc/passwd').read()", "pipeline.code_error", id="open"),
        pytest.param("", "return eval('1 + 1')", "pipeline.code_syntax", id="eval"),
        pytest.param("", "exec('x = 1')", "pipeline.code_syntax", id="exec"),
        pytest.param("", "return compile('1', 'f', 'eval')", "pipeline.code_error", id="compile"),
        pytest.param("", "g = (x for x in [1])\nreturn g.gi_frame.f_back", "pipeline.code_syntax", id="frame-walk"),
        pytest.param("", "return globals()", "pipeline.code_error", id="globals"),
        pytest.param("", "return type(input)", "pipeline.code_error", id="type"),
        pytest.param(
            "import json", "return json.codecs.open('/etc/passwd').read()", "pipeline.code_error", id="json-codecs"
        ),
    ],
)
def test_sandbox_refuses_escapes(code_runner, header, body, code):
    result = run(code_runner, body, header=header)

    assert not result.ok
    assert result.error_code == code, result.error_message


def test_sandbox_cannot_write_files(code_runner, tmp_path):
    target = tmp_path / "owned"

    result = run(code_runner, f"import json\nreturn json.dump(1, open({str(target)!r}, 'w'))")

    assert not result.ok
    assert not target.exists()


def test_sandbox_zygote_starts_without_the_parents_environment(monkeypatch):
    monkeypatch.setenv("SANDBOX_CANARY_SECRET", "do-not-leak")
    runner = CodeRunner(SandboxLimits())
    try:
        runner.start()
        with open(f"/proc/{runner._process.pid}/environ", "rb") as proc_environ:
            environ = proc_environ.read().decode()
    finally:
        runner.close()

    assert "SANDBOX_CANARY_SECRET" not in environ
    assert "DJANGO_SETTINGS_MODULE" not in environ


def test_sandbox_infinite_loop_is_killed_by_the_cpu_limit(code_runner):
    result = run(code_runner, "while True:\n    pass")

    assert (result.ok, result.error_code) == (False, "pipeline.code_cpu_limit")


def test_sandbox_memory_bomb_is_stopped_by_the_memory_limit(code_runner):
    result = run(code_runner, "x = 'a' * (10 ** 9)\nreturn len(x)")

    assert (result.ok, result.error_code) == (False, "pipeline.code_memory_limit")


def test_sandbox_growing_list_is_stopped_by_the_memory_limit(code_runner):
    result = run(code_runner, "x = []\nwhile True:\n    x.append([0] * 100000)")

    assert not result.ok
    assert result.error_code in ("pipeline.code_memory_limit", "pipeline.code_cpu_limit")


def test_sandbox_sleeping_code_is_stopped_by_the_wall_clock():
    runner = CodeRunner(SandboxLimits(cpu_seconds=5, wall_seconds=1.0))  # sleeping uses no CPU: only the clock stops it
    try:
        result = run(runner, "import time\ntime.sleep(30)")
    finally:
        runner.close()

    assert (result.ok, result.error_code) == (False, "pipeline.code_timeout")


def test_sandbox_huge_output_is_capped(code_runner):
    result = run(code_runner, "return 'x' * 5000000")

    assert (result.ok, result.error_code) == (False, "pipeline.code_output_too_large")


def test_sandbox_survives_failures_and_keeps_serving(code_runner):
    run(code_runner, "while True:\n    pass")

    assert run(code_runner, "return 'still here'").output == "still here"


def test_sandbox_user_exception_reports_type_message_and_line(code_runner):
    result = run(code_runner, "x = 1\nreturn {}['missing']")

    assert result.error_code == "pipeline.code_error"
    assert result.error_message == "KeyError: 'missing' (line 4)"


def test_sandbox_state_helpers_change_copies_returned_to_the_parent(code_runner):
    participant = {"name": "Ada", "visits": 1}
    body = (
        "set_participant_data_key('visits', get_participant_data_key('visits') + 1)\n"
        "set_session_state_key('step', 'two')\n"
        "set_temp_state_key('note', get_session_state_key('missing', 'default'))\n"
        "data = get_participant_data()\n"
        "data['sneaky'] = True\n"  # a copy: not stored unless set back
        "add_message_tag('vip')\n"
        "end_session()\n"
        "print('visits', get_participant_data_key('visits'))\n"
        "return 'ok'"
    )

    result = run(code_runner, body, participant_data=participant, session_state={}, temp_state={"user_input": "hi"})

    assert result.participant_data == {"name": "Ada", "visits": 2}
    assert result.session_state == {"step": "two"}
    assert result.temp_state == {"user_input": "hi", "note": "default"}
    assert (result.end_session, result.message_tags, result.console) == (True, ("vip",), "visits 2\n")
    assert participant == {"name": "Ada", "visits": 1}  # the parent's dict was never shared


def test_sandbox_set_participant_data_replaces_everything(code_runner):
    result = run(code_runner, "set_participant_data({'only': 1})", participant_data={"a": 1})

    assert result.participant_data == {"only": 1}


def test_sandbox_non_json_state_is_refused(code_runner):
    result = run(code_runner, "set_session_state_key('s', set([1]))")

    assert result.error_code == "pipeline.code_bad_state"


def test_sandbox_code_without_main_is_refused(code_runner):
    result = code_runner.run(CodeRequest(code="x = 1", input=""))

    assert result.error_code == "pipeline.code_no_main"


def test_sandbox_restarts_after_a_fork():
    runner = CodeRunner(SandboxLimits(cpu_seconds=1, wall_seconds=2))
    try:
        assert runner.run(CodeRequest(code="def main(input):\n    return 'a'", input="")).output == "a"
        runner._owner_pid = -1  # what a Celery prefork child sees: a zygote its parent started

        assert runner.run(CodeRequest(code="def main(input):\n    return 'b'", input="")).output == "b"
        assert runner._owner_pid == os.getpid()
    finally:
        runner.close()


@pytest.mark.parametrize(
    ("source", "says"),
    [
        pytest.param("def main(input):\n    return " + "+".join(["1"] * 20000), "nested too deeply", id="long-sum"),
        pytest.param("def main(input):\n    return " + "-" * 20000 + "1", "nested too deeply", id="deep-unary"),
        pytest.param("def main(input):\n    return " + "9" * 5000, "4300 digits", id="huge-literal"),
        pytest.param("def main(input):\n    return '\x00'", "null bytes", id="nul"),
    ],
)
def test_code_checker_rejects_pathological_source_without_crashing(source, says):
    from tenant_apps.pipelines.sandbox.zygote import code_problems

    problems = code_problems(source)

    assert len(problems) == 1
    assert says in problems[0]


# --- defence in depth: the code's own user and no new processes (ADR 0062) ----------------------------------------

SANDBOX_UID = 65533


def in_limited_child(limits: dict, then) -> dict:
    """Fork, apply the sandbox child's limits (``zygote._limit_child``, exactly as a run does), call ``then()``
    there and return what it reported."""
    import json as json_module

    from tenant_apps.pipelines.sandbox import zygote

    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report and leave without running any of pytest's teardown
        try:
            os.close(read_fd)
            try:
                zygote._limit_child({"cpu_seconds": 5, "memory_mb": 256, **limits})
                report = then()
            except Exception as exc:
                report = {"error": f"{type(exc).__name__}: {exc}"}
            os.write(write_fd, json_module.dumps(report).encode())
        finally:
            os._exit(0)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    return json_module.loads(data)


def fork_bomb() -> dict:
    started = 0
    for _ in range(50):
        try:
            child = os.fork()
        except OSError as exc:
            return {"started": started, "refused": type(exc).__name__}
        if child == 0:
            os._exit(0)  # a real bomb would fork again; ours must never get this far
        started += 1
        os.waitpid(child, 0)
    return {"started": started, "refused": None}


root_only = pytest.mark.skipif(os.geteuid() != 0, reason="switching users needs root (the test machine runs as root)")


@root_only
def test_code_runs_as_the_sandbox_user_not_as_the_worker(code_runner):
    result = run(code_runner, "return 'who'")

    assert result.ok
    assert result.sandbox_uid == SANDBOX_UID != os.geteuid()


@root_only
def test_the_sandbox_user_defaults_to_a_dedicated_uid_for_a_root_worker(settings):
    assert (SandboxLimits().uid, SandboxLimits().gid) == (SANDBOX_UID, SANDBOX_UID)


@root_only
def test_sandbox_child_drops_every_group_and_id():
    ids = in_limited_child(
        {"uid": SANDBOX_UID, "gid": SANDBOX_UID},
        lambda: {"ids": [os.getuid(), os.geteuid(), os.getgid(), os.getegid()], "groups": os.getgroups()},
    )

    assert ids == {"ids": [SANDBOX_UID] * 4, "groups": []}


@root_only
def test_fork_bomb_is_stopped_at_the_first_fork():
    report = in_limited_child({"uid": SANDBOX_UID, "gid": SANDBOX_UID}, fork_bomb)

    assert report == {"started": 0, "refused": "BlockingIOError"}


def test_fork_is_refused_without_a_sandbox_user_too_when_the_worker_is_not_root():
    if os.geteuid() == 0:
        pytest.skip("root ignores RLIMIT_NPROC: that case is the sandbox user's (tests above)")

    assert in_limited_child({"uid": None, "gid": None}, fork_bomb) == {"started": 0, "refused": "BlockingIOError"}


def test_code_never_runs_when_the_switch_to_the_sandbox_user_fails(monkeypatch):
    from tenant_apps.pipelines.sandbox import zygote

    def refuse(uid):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(zygote.os, "setuid", refuse)
    monkeypatch.setattr(zygote.os, "setgroups", lambda groups: None)
    monkeypatch.setattr(zygote.os, "setgid", lambda gid: None)

    report = in_limited_child({"uid": 12345, "gid": os.getgid()}, lambda: {"ran": True})

    assert report["error"].startswith("SandboxUserError: cannot switch to uid 12345")


def test_production_refuses_to_start_without_a_sandbox_user_when_not_root(tmp_path):
    import subprocess
    import sys

    from cryptography.fernet import Fernet

    probe = "import os\nos.geteuid = lambda: 1000\nimport config.settings.production\n"  # as a non-root worker
    env = {
        "PATH": os.environ["PATH"],
        "SECRET_KEY": "k" * 50,
        "FERNET_KEYS": Fernet.generate_key().decode(),
        "PYTHONPATH": os.getcwd(),
    }

    refused = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=False)
    configured = subprocess.run(
        [sys.executable, "-c", probe],
        env={**env, "PIPELINE_CODE_SANDBOX_UID": "2000", "PIPELINE_CODE_SANDBOX_GID": "2000"},
        capture_output=True,
        text=True,
        check=False,
    )

    assert refused.returncode != 0
    assert "Set PIPELINE_CODE_SANDBOX_UID and PIPELINE_CODE_SANDBOX_GID" in refused.stderr
    assert configured.returncode == 0, configured.stderr

"""make run's process supervisor: a dying process is reported with its reason, restarted, and given up on loudly."""

import http.server
import signal
import subprocess
import sys
import threading
from pathlib import Path

SUPERVISE = Path(__file__).resolve().parents[3] / "infra" / "dev" / "supervise.py"


def run(tmp_path, procfile: str, *args: str, stop_after: float | None = None) -> subprocess.CompletedProcess[str]:
    """Run the supervisor on ``procfile``; with ``stop_after``, press Ctrl-C (SIGINT) after that many seconds."""
    (tmp_path / "Procfile").write_text(procfile)
    process = subprocess.Popen(
        [sys.executable, str(SUPERVISE), str(tmp_path / "Procfile"), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=tmp_path,
    )
    timer = threading.Timer(stop_after, process.send_signal, args=(signal.SIGINT,)) if stop_after else None
    if timer is not None:
        timer.start()
    try:
        out, _ = process.communicate(timeout=120)
    finally:
        if timer is not None:
            timer.cancel()
        if process.poll() is None:
            process.kill()
    return subprocess.CompletedProcess(process.args, process.returncode, out, "")


def test_a_process_that_keeps_dying_stops_everything_with_its_reason(tmp_path):
    result = run(tmp_path, "good: sleep 600\nbad: echo 'cannot connect to the broker'; exit 3\n")

    assert result.returncode == 1
    out = result.stdout
    assert "bad exited with code 3" in out
    assert "restarting it in 1 s (failure 1 of 3 allowed)" in out
    assert "restarting it in 2 s (failure 2 of 3 allowed)" in out
    assert "It failed 3 times in 5 minutes: stopping everything." in out
    assert "cannot connect to the broker" in out  # its last lines are shown
    assert "keeps dying" in out
    assert "all processes stopped" in out


def test_an_optional_process_is_given_up_while_the_rest_keeps_running(tmp_path):
    procfile = "llm: echo 'no network'; exit 1\nweb: sleep 6 && echo web-still-here && sleep 600\n"

    result = run(tmp_path, procfile, "--optional", "llm", stop_after=9)

    out = result.stdout
    assert "giving up on it; everything else keeps running." in out
    assert out.index("giving up") < out.index("web-still-here")  # web kept running after llm was given up
    assert "SIGINT: stopping everything" in out
    assert result.returncode == 0


def test_a_signal_death_is_named(tmp_path):
    result = run(tmp_path, "victim: kill -9 $$\n")

    assert "victim was killed by SIGKILL (out of memory, or killed from outside?)" in result.stdout


def test_ready_message_only_once_the_url_answers(tmp_path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    port = server.server_address[1]
    (tmp_path / "start-later.sh").write_text(f"sleep 2; touch {tmp_path}/started; sleep 600\n")
    url = f"http://localhost:{port}/"
    procfile = f"slow: bash {tmp_path}/start-later.sh\n"
    threading.Timer(3, server.serve_forever).start()  # answers only after 3 s

    try:
        result = run(tmp_path, procfile, "--ready", url, "--ready-message", "Apex: " + url, stop_after=8)
    finally:
        server.shutdown()
        server.server_close()

    out = result.stdout
    assert out.count(f"Apex: {url}") == 1
    apex_line = next(line for line in out.splitlines() if "Apex:" in line)
    assert " ready " in apex_line

#!/usr/bin/env python3
"""Run the Procfile's processes in the foreground with one log stream, and say what happens to them.

    python3 infra/dev/supervise.py infra/dev/Procfile [--optional NAME] [--ready URL ... --ready-message TEXT]

Unlike a plain Procfile runner, one process dying does not silently take the whole stack down:

* its exit is reported with the reason (exit code or signal) and its last lines of output;
* it is restarted with a growing pause (1 s, 2 s, 4 s);
* a process that dies ``MAX_FAILURES`` times within ``FAILURE_WINDOW_SECONDS`` is given up: an *optional* one
  (the local model) is left stopped and everything else keeps running; any other stops the whole stack with a
  message naming it and why.

``--ready`` URLs are polled (to 127.0.0.1, with the URL's host in the Host header, so ``demo.localhost`` works
without DNS) and ``--ready-message`` is printed only once every one of them answers. Ctrl-C (SIGINT) or SIGTERM
stops every process group, politely first. Standard library only. (ADR 0080)
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import http.client
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

MAX_FAILURES = 3
FAILURE_WINDOW_SECONDS = 300.0
STOP_GRACE_SECONDS = 15.0
TAIL_LINES = 12
COLOURS = ("36", "32", "35", "33", "34", "31")
_print_lock = threading.Lock()


def emit(prefix: str, text: str, colour: str = "1") -> None:
    with _print_lock:
        stamp = time.strftime("%H:%M:%S")
        sys.stdout.write(f"\033[{colour}m{stamp} {prefix:<8}|\033[0m {text}\n")
        sys.stdout.flush()


def note(text: str) -> None:
    emit("run", text, "1;34")


@dataclass
class Process:
    name: str
    command: str
    colour: str
    optional: bool = False
    popen: subprocess.Popen[str] | None = None
    started_at: float = 0.0
    failures: collections.deque[float] = field(default_factory=collections.deque)
    tail: collections.deque[str] = field(default_factory=lambda: collections.deque(maxlen=TAIL_LINES))
    restart_at: float | None = None
    given_up: bool = False

    def start(self) -> None:
        self.tail.clear()
        self.started_at = time.monotonic()
        self.popen = subprocess.Popen(
            ["bash", "-c", self.command],  # bash execs a lone command itself: signals reach it directly
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            bufsize=1,
            start_new_session=True,  # its own process group: stopping it stops its children too
            errors="replace",
        )
        threading.Thread(target=self._pump, args=(self.popen,), daemon=True).start()

    def _pump(self, popen: subprocess.Popen[str]) -> None:
        assert popen.stdout is not None
        for line in popen.stdout:
            line = line.rstrip("\n")
            self.tail.append(line)
            emit(self.name, line, self.colour)

    def signal(self, signum: int) -> None:
        if self.popen is not None and self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signum)


def parse_procfile(path: str) -> list[tuple[str, str]]:
    entries = []
    with open(path, encoding="utf-8") as procfile:
        lines = procfile.read().splitlines()
    for raw in lines:
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = re.match(r"^([A-Za-z0-9_-]+):\s*(.+)$", line)
        if match is None:
            raise SystemExit(f"{path}: cannot read line {line!r}")
        entries.append((match.group(1), match.group(2)))
    return entries


def describe_exit(code: int) -> str:
    if code < 0:
        name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else f"signal {-code}"
        hint = " (out of memory, or killed from outside?)" if -code == signal.SIGKILL else ""
        return f"was killed by {name}{hint}"
    return f"exited with code {code}"


def answers(url: str) -> bool:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection("127.0.0.1", parts.port or 80, timeout=3)
    try:
        connection.request("GET", parts.path or "/", headers={"Host": parts.netloc})
        return connection.getresponse().status < 500
    except OSError:
        return False
    finally:
        connection.close()


class Supervisor:
    def __init__(self, processes: list[Process], ready_urls: list[str], ready_message: str) -> None:
        self.processes = processes
        self.ready_urls = ready_urls
        self.ready_message = ready_message
        self.stopping = threading.Event()
        self.exit_code = 0

    def run(self) -> int:
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)
        for process in self.processes:
            process.start()
        if self.ready_urls:
            threading.Thread(target=self._announce, daemon=True).start()
        while not self.stopping.is_set():
            for process in self.processes:
                self._check(process)
            self.stopping.wait(0.2)
        self._stop_all()
        return self.exit_code

    def _on_signal(self, signum: int, frame: object) -> None:
        if not self.stopping.is_set():
            note(f"{signal.Signals(signum).name}: stopping everything")
        self.stopping.set()

    def _check(self, process: Process) -> None:
        now = time.monotonic()
        if process.given_up:
            return
        if process.restart_at is not None:
            if now >= process.restart_at:
                process.restart_at = None
                note(f"restarting {process.name}")
                process.start()
            return
        assert process.popen is not None
        code = process.popen.poll()
        if code is None:
            return
        ran = now - process.started_at
        if code == 0 and process.optional:
            note(f"{process.name} finished (exit code 0 after {ran:.0f} s); not restarting it")
            process.given_up = True
            return
        process.failures.append(now)
        while process.failures and now - process.failures[0] > FAILURE_WINDOW_SECONDS:
            process.failures.popleft()
        reason = f"{process.name} {describe_exit(code)} after {ran:.0f} s"
        last = [line for line in process.tail if line.strip()][-5:]
        if len(process.failures) >= MAX_FAILURES:
            window = f"{len(process.failures)} times in {FAILURE_WINDOW_SECONDS / 60:.0f} minutes"
            if process.optional:
                note(f"{reason}. It failed {window}: giving up on it; everything else keeps running.")
                self._show_tail(process, last)
                process.given_up = True
                return
            note(f"{reason}. It failed {window}: stopping everything.")
            self._show_tail(process, last)
            note(f"Fix the cause above, then run make run again. (Stopped because “{process.name}” keeps dying.)")
            self.exit_code = 1
            self.stopping.set()
            return
        pause = 2 ** (len(process.failures) - 1)
        note(f"{reason}; restarting it in {pause} s (failure {len(process.failures)} of {MAX_FAILURES} allowed).")
        self._show_tail(process, last)
        process.restart_at = now + pause

    def _show_tail(self, process: Process, lines: list[str]) -> None:
        if lines:
            note(f"last lines of {process.name}:")
            for line in lines:
                note(f"    {line}")

    def _announce(self) -> None:
        started = time.monotonic()
        waiting = list(self.ready_urls)
        next_note = started + 30
        while waiting and not self.stopping.is_set():
            waiting = [url for url in waiting if not answers(url)]
            if not waiting:
                break
            if time.monotonic() >= next_note:
                note(f"still waiting for {', '.join(waiting)} to answer ({time.monotonic() - started:.0f} s)")
                next_note += 30
            self.stopping.wait(0.5)
        if not self.stopping.is_set():
            for line in self.ready_message.splitlines():
                emit("ready", line, "1;32")

    def _stop_all(self) -> None:
        running = [p for p in self.processes if p.popen is not None and p.popen.poll() is None]
        for process in running:
            process.signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for process in running:
            assert process.popen is not None
            try:
                process.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                note(f"{process.name} did not stop in {STOP_GRACE_SECONDS:.0f} s: killing it")
                process.signal(signal.SIGKILL)
                process.popen.wait()
        note("all processes stopped")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("procfile")
    parser.add_argument("--optional", action="append", default=[], help="a process the stack can live without")
    parser.add_argument("--ready", action="append", default=[], help="a URL that must answer before the message")
    parser.add_argument("--ready-message", default="Ready.")
    args = parser.parse_args(argv)
    entries = parse_procfile(args.procfile)
    processes = [
        Process(name, command, COLOURS[index % len(COLOURS)], optional=name in args.optional)
        for index, (name, command) in enumerate(entries)
    ]
    return Supervisor(processes, args.ready, args.ready_message).run()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

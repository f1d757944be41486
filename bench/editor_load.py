"""How fast the pipeline editor page loads in Chromium: navigation start -> the editor on screen with the
pipeline drawn (the ``pipeline-editor-ready`` performance mark, set once the node types, options and graph are
in and rendered).

Boots the e2e stack (fresh database, ``migrate_teams`` + ``setup_demo``, gunicorn, no worker) through
``tests.e2e.conftest.run_stack``, logs in as the demo user and loads the demo chatbot's editor ``--runs`` times
cold (a new browser context each time: empty cache) and ``--runs`` times warm (same context, cached static
files). Also reports what the editor pages download (JS and CSS under /static/build/editor/) and confirms that
a page without the editor loads none of it. Usage:

    .venv/bin/python bench/editor_load.py [--runs 10] [--write]

``--write`` replaces the "Pipeline editor load" section of bench/RESULTS.md (or appends it).
"""

from __future__ import annotations

import argparse
import gzip
import os
import platform
import re
import statistics
import sys
import tempfile
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, login, run_stack  # noqa: E402

READY = "performance.getEntriesByName('pipeline-editor-ready')[0]?.startTime ?? null"
EDITOR_FILES = "performance.getEntriesByType('resource').filter(r => r.name.includes('/static/build/editor/'))"


def _load(page, url: str) -> float:
    page.goto(url)
    page.wait_for_function(f"{READY} !== null", timeout=60_000)
    return float(page.evaluate(READY))


def _summary(values: list[float]) -> str:
    ordered = sorted(values)
    p90 = ordered[max(0, round(0.9 * len(ordered)) - 1)]
    return f"median {statistics.median(values):.0f} ms, p90 {p90:.0f} ms, min {ordered[0]:.0f}, max {ordered[-1]:.0f}"


def _bundle_sizes() -> list[tuple[str, int, int]]:
    rows = []
    build = ROOT / "static" / "build" / "editor"
    for path in sorted(build.rglob("*")):
        if path.is_file() and path.suffix in (".js", ".css"):
            data = path.read_bytes()
            rows.append((str(path.relative_to(build)), len(data), len(gzip.compress(data))))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as base, run_stack(Path(base), worker=False) as stack:
        chatbot_id = stack.sql("select id from t_demo.chatbots_chatbot order by id limit 1")[0][0]
        url = stack.url(f"/chatbots/{chatbot_id}/pipeline/", team="demo")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": 1600, "height": 1000})
            page = context.new_page()
            login(page, stack, "demo@example.com", "demo-password-123")
            page.wait_for_url(stack.url("/", team="demo"))
            cookies = context.cookies()
            _load(page, url)  # warm the server (first request of each kind)

            cold, downloaded = [], 0
            for _ in range(args.runs):
                fresh = browser.new_context(viewport={"width": 1600, "height": 1000})
                fresh.add_cookies(cookies)
                fresh_page = fresh.new_page()
                cold.append(_load(fresh_page, url))
                downloaded = int(fresh_page.evaluate(f"{EDITOR_FILES}.reduce((n, r) => n + r.transferSize, 0)"))
                fresh.close()
            warm = [_load(page, url) for _ in range(args.runs)]
            page.goto(stack.url(f"/chatbots/{chatbot_id}/", team="demo"))
            elsewhere = int(page.evaluate(f"{EDITOR_FILES}.length"))
            browser.close()

    sizes = _bundle_sizes()
    entry = next(size for size in sizes if size[0] == "pipeline_editor.js")
    lines = [
        f"## Pipeline editor load — {date.today()} — {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, load average {load:.2f} at start",
        "",
        "`python bench/editor_load.py` — navigation start to the editor drawn with its pipeline (Chromium, "
        "gunicorn, demo chatbot; the machine is shared, so read the spread).",
        "",
        f"- cold (new browser context, empty cache), {args.runs} runs: {_summary(cold)}",
        f"- warm (cached static files), {args.runs} runs: {_summary(warm)}",
        f"- downloaded by a cold load from /static/build/editor/: {downloaded / 1024:.0f} KB "
        f"(entry pipeline_editor.js {entry[1] / 1024:.1f} KB, {entry[2] / 1024:.1f} KB gzipped)",
        f"- editor files loaded by the chatbot overview page: {elsewhere}",
        "- chunks: " + ", ".join(f"{name} {raw / 1024:.0f} KB ({gz / 1024:.0f} KB gz)" for name, raw, gz in sizes),
        "",
    ]
    report = "\n".join(lines)
    print(report)
    if args.write:
        results = ROOT / "bench" / "RESULTS.md"
        text = results.read_text()
        pattern = re.compile(r"## Pipeline editor load.*?(?=\n## |\Z)", re.S)
        text = pattern.sub(report.rstrip() + "\n", text) if pattern.search(text) else text.rstrip() + "\n\n" + report
        results.write_text(text)


if __name__ == "__main__":
    main()

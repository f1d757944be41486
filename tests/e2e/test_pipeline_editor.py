"""The pipeline editor in Chromium: build a routed pipeline by dragging from the palette and connecting handles,
save, reload, run it from the test panel (the fake LLM answers) and see the branch the router took; a stale save
shows the conflict message; keyboard-only editing; an axe-core check; versions read-only and the visual diff.

Set ``EDITOR_SCREENSHOTS=<dir>`` to keep screenshots of the editor's states."""

import json
import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ROOT, login

pytestmark = pytest.mark.e2e

DEMO_EMAIL, DEMO_PASSWORD = "demo@example.com", "demo-password-123"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = os.environ.get("EDITOR_SCREENSHOTS")


def shot(page, name):
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"))


@pytest.fixture
def wide_page(browser):
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    context.set_default_timeout(60_000)
    page = context.new_page()
    yield page
    context.close()


def new_chatbot(page, stack, name):
    page.goto(stack.url("/chatbots/new/", team="demo"))
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_role("button", name="Create chatbot").click()
    expect(page.get_by_test_id("chatbot-name")).to_have_text(name)
    page.get_by_test_id("pipeline-tab").click()
    expect(page.get_by_test_id("pipeline-editor")).to_be_visible()
    return re.search(r"/chatbots/(\d+)/", page.url).group(1)


def drop(page, node_type, x, y):
    """Drag a palette entry onto the canvas at (x, y), fractions of the canvas size."""
    pane = page.locator(".react-flow__pane")
    box = pane.bounding_box()
    page.get_by_test_id(f"palette-{node_type}").drag_to(
        pane, target_position={"x": box["width"] * x, "y": box["height"] * y}
    )


def connect(page, source, source_handle, target):
    """Press on an output handle, move to an input handle in steps (as a hand would), release."""
    start = page.get_by_test_id(f"handle-{source}-{source_handle}").bounding_box()
    end = page.get_by_test_id(f"handle-{target}-input").bounding_box()
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + end["height"] / 2, steps=8)
    page.mouse.up()


def edges(page):
    return page.locator(".react-flow__edge")


def test_build_save_reload_and_run_a_routed_pipeline(wide_page, stack):
    page = wide_page
    login(page, stack, DEMO_EMAIL, DEMO_PASSWORD)
    page.wait_for_url(stack.url("/", team="demo"))
    new_chatbot(page, stack, "Help desk")
    expect(page.get_by_test_id("node-llm")).to_be_visible()
    shot(page, "1-default-pipeline")

    # The default LLM goes (keyboard delete); a router and two LLMs come from the palette.
    page.get_by_test_id("node-llm").click()
    page.keyboard.press("Delete")
    expect(page.get_by_test_id("node-llm")).to_have_count(0)
    drop(page, "llm_router", 0.22, 0.64)
    router = page.get_by_test_id("node-llm_router")
    expect(router).to_be_visible()
    inspector = page.get_by_test_id("inspector")
    inspector.get_by_label("Name", exact=True).fill("Triage")
    inspector.get_by_label("Prompt", exact=True).fill("Is this about billing or support?")
    inspector.get_by_label("Route 1", exact=True).fill("BILLING")
    inspector.get_by_role("button", name="Add route").click()
    inspector.get_by_label("Route 2", exact=True).fill("SUPPORT")
    expect(page.get_by_test_id("handle-llm_router-output_1")).to_be_visible()
    expect(router).to_contain_text("SUPPORT")

    drop(page, "llm", 0.55, 0.16)
    expect(page.get_by_test_id("node-llm")).to_be_visible()
    inspector.get_by_label("Name", exact=True).fill("Billing answer")
    inspector.get_by_label("Prompt", exact=True).fill("You handle billing questions.")
    expect(inspector.get_by_label("Provider")).not_to_have_value("")
    drop(page, "llm", 0.55, 0.64)
    expect(page.get_by_test_id("node-llm_2")).to_be_visible()
    inspector.get_by_label("Name", exact=True).fill("Support answer")
    inspector.get_by_role("button", name=re.compile(r"participant_data")).click()  # a variable, inserted
    expect(inspector.get_by_label("Prompt", exact=True)).to_have_value("{participant_data}")

    wiring = [("start", "output", "llm_router"), ("llm_router", "output_0", "llm"), ("llm_router", "output_1", "llm_2")]
    for count, (source, handle, target) in enumerate([*wiring, ("llm", "output", "end"), ("llm_2", "output", "end")]):
        connect(page, source, handle, target)
        expect(edges(page)).to_have_count(count + 1)

    connect(page, "llm", "output", "llm_router")  # would loop: refused with a message
    expect(page.get_by_test_id("notice")).to_contain_text("loop")
    expect(edges(page)).to_have_count(5)
    expect(page.get_by_test_id("save-status")).to_have_text("Unsaved changes")
    shot(page, "2-built-unsaved")

    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("save-status")).to_have_text("All changes saved")
    page.get_by_test_id("tab-problems").click()
    expect(page.get_by_test_id("no-problems")).to_be_visible()

    page.reload()
    for node_id in ("start", "llm_router", "llm", "llm_2", "end"):
        expect(page.get_by_test_id(f"node-{node_id}")).to_be_visible()
    expect(edges(page)).to_have_count(5)
    expect(page.get_by_test_id("node-llm_router")).to_contain_text("Triage")
    expect(page.get_by_test_id("node-llm_router")).to_contain_text("BILLING")

    # The test panel: the router (fake LLM) picks SUPPORT, the support LLM answers.
    stack.fake_llm.reply(json.dumps({"route": "SUPPORT"}))
    stack.fake_llm.reply("Sorry about that, let us fix it.")
    page.get_by_test_id("tab-test").click()
    page.get_by_label("Test message").fill("The app crashes when I log in")
    page.get_by_test_id("test-panel").get_by_role("button", name="Send").click()
    expect(page.get_by_test_id("test-reply").last).to_have_text("Sorry about that, let us fix it.", timeout=60_000)
    expect(page.get_by_test_id("node-llm_2")).to_have_attribute("data-ran", "true")
    expect(page.get_by_test_id("node-llm")).not_to_have_attribute("data-ran", "true")
    expect(page.get_by_test_id("ran-llm_router")).to_contain_text("SUPPORT")
    expect(page.get_by_test_id("trace-nodes")).to_contain_text("Support answer")
    expect(page.locator(".react-flow__edge.edge-ran")).to_have_count(3)
    shot(page, "3-test-run")
    if SHOTS:
        page.get_by_role("button", name="Toggle dark mode").click()
        shot(page, "3-test-run-dark")
        page.get_by_role("button", name="Toggle dark mode").click()

    page.get_by_test_id("trace-nodes").get_by_text("Triage").click()
    expect(page.get_by_test_id("trace-nodes")).to_contain_text("The app crashes when I log in")  # the node's input


def test_stale_save_shows_the_conflict_and_reload_brings_the_other_save(wide_page, stack, browser):
    page = wide_page
    login(page, stack, DEMO_EMAIL, DEMO_PASSWORD)
    page.wait_for_url(stack.url("/", team="demo"))
    new_chatbot(page, stack, "Conflicted")
    editor_url = page.url

    other = browser.new_context(viewport={"width": 1600, "height": 1000}).new_page()
    login(other, stack, DEMO_EMAIL, DEMO_PASSWORD)
    other.wait_for_url(stack.url("/", team="demo"))
    other.goto(editor_url)
    other.get_by_test_id("node-llm").click()
    other.get_by_test_id("inspector").get_by_label("Name", exact=True).fill("Their answer")
    other.get_by_test_id("save").click()
    expect(other.get_by_test_id("save-status")).to_have_text("All changes saved")
    other.context.close()

    page.get_by_test_id("node-llm").click()
    page.get_by_test_id("inspector").get_by_label("Name", exact=True).fill("My answer")
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.type), dialog.dismiss()))
    page.get_by_role("tab", name="Overview").click()  # leaving with unsaved changes asks first
    expect(page.get_by_test_id("save-status")).to_have_text("Unsaved changes")
    assert asked == ["beforeunload"]
    page.get_by_test_id("save").click()
    conflict = page.get_by_test_id("conflict")
    expect(conflict).to_contain_text("Someone else saved this pipeline")
    expect(page.get_by_test_id("save-status")).to_have_text("Unsaved changes")
    shot(page, "4-conflict")

    page.once("dialog", lambda dialog: dialog.accept())
    conflict.get_by_role("button", name="Reload their version").click()
    expect(page.get_by_test_id("node-llm")).to_contain_text("Their answer")
    expect(page.get_by_test_id("conflict")).to_have_count(0)


def test_keyboard_only_editing_and_accessibility(wide_page, stack):
    page = wide_page
    login(page, stack, DEMO_EMAIL, DEMO_PASSWORD)
    page.wait_for_url(stack.url("/", team="demo"))
    new_chatbot(page, stack, "Keyboard")

    page.get_by_test_id("palette-template").focus()
    page.keyboard.press("Enter")  # adds the node and focuses it on the canvas
    template = page.get_by_test_id("node-template")
    expect(template).to_be_visible()
    expect(page.locator(".react-flow__node[data-id=template]")).to_be_focused()
    inspector = page.get_by_test_id("inspector")
    inspector.get_by_role("textbox", name="Template", exact=True).fill("Hello {{ input }}")
    inspector.get_by_label("Connect to", exact=True).select_option(label="End")
    inspector.get_by_role("button", name="Connect", exact=True).focus()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("notice")).to_contain_text("Connected")
    expect(edges(page)).to_have_count(3)
    outline = page.locator(".react-flow__node[data-id=template]").evaluate(
        "el => { el.focus(); return getComputedStyle(el).outlineStyle }"
    )
    assert outline == "solid"  # visible focus

    page.keyboard.press("Delete")
    expect(template).to_have_count(0)
    page.keyboard.press("Control+z")
    expect(template).to_be_visible()

    page.add_script_tag(path=str(AXE))
    result = page.evaluate("""async () => {
        const r = await axe.run(document.querySelector('[data-pipeline-editor]'));
        return r.violations.map(v => ({
            id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 3),
        }));
    }""")
    serious = [v for v in result if v["impact"] in ("serious", "critical")]
    assert serious == [], serious


def test_version_opens_read_only_and_diff_highlights_changes(wide_page, stack):
    page = wide_page
    login(page, stack, DEMO_EMAIL, DEMO_PASSWORD)
    page.wait_for_url(stack.url("/", team="demo"))
    chatbot_id = new_chatbot(page, stack, "Versioned")
    page.get_by_role("tab", name="Versions").click()
    page.get_by_role("button", name="Create version").click()
    expect(page.get_by_test_id("version-table")).to_contain_text("v1")

    page.goto(stack.url(f"/chatbots/{chatbot_id}/versions/1/pipeline/", team="demo"))
    expect(page.get_by_test_id("read-only-badge")).to_have_text("Version 1 · read-only")
    expect(page.get_by_test_id("save")).to_have_count(0)
    page.get_by_test_id("node-llm").click()
    expect(page.get_by_test_id("inspector").get_by_label("Name", exact=True)).to_have_attribute("readonly", "")
    shot(page, "5-version-read-only")

    page.goto(stack.url(f"/chatbots/{chatbot_id}/pipeline/", team="demo"))
    page.get_by_test_id("palette-code").click()
    expect(page.get_by_test_id("code-editor").locator(".cm-content")).to_be_visible()  # CodeMirror, Python
    expect(page.get_by_test_id("code-editor").locator(".cm-content")).to_contain_text("def main")
    page.get_by_test_id("node-llm").click()
    page.get_by_test_id("inspector").get_by_label("Prompt", exact=True).fill("Answer in French.")
    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("save-status")).to_have_text("All changes saved")
    expect(page.get_by_test_id("problems")).to_contain_text("'Python code' cannot be reached from start")
    expect(page.get_by_test_id("node-code")).to_contain_text("2 problems")
    shot(page, "6-code-node")

    page.goto(stack.url(f"/chatbots/{chatbot_id}/versions/compare/pipeline/?a=1&b=working", team="demo"))
    expect(page.get_by_test_id("pipeline-diff")).to_be_visible()
    expect(page.get_by_test_id("diff-b").get_by_test_id("node-code")).to_contain_text("added")
    expect(page.get_by_test_id("diff-b").get_by_test_id("node-llm")).to_contain_text("changed")
    expect(page.get_by_test_id("diff-changes")).to_contain_text("prompt")
    expect(page.get_by_test_id("diff-b").get_by_test_id("node-end")).to_be_in_viewport(ratio=0.9)  # fitted in view
    shot(page, "7-diff")

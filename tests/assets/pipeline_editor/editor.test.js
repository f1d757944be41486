import { describe, expect, it } from "vitest";

import { editorReducer, initialState } from "../../../assets/pipeline_editor/state/editor.js";
import { fromFlow } from "../../../assets/pipeline_editor/state/graph.js";
import { TYPES, graph, llmNode } from "./fixtures.js";

function loaded(document = graph(llmNode())) {
  return editorReducer(initialState(TYPES), { type: "load", graph: document });
}

function run(state, ...actions) {
  return actions.reduce(editorReducer, state);
}

describe("editing the graph", () => {
  it("adds a node with its defaults, a free id and a numbered label, selected", () => {
    const state = run(
      loaded(),
      { type: "addNode", nodeType: "llm", position: { x: 10, y: 20 }, prefill: { llm_provider_id: 7, llm_model: "gpt-x" } },
    );

    const added = state.nodes.at(-1);
    expect(added.id).toBe("llm_2");
    expect(added.data.label).toBe("LLM 2");
    expect(added.data.params).toMatchObject({ history_type: "global", llm_provider_id: 7, llm_model: "gpt-x" });
    expect(added.selected).toBe(true);
    expect(state.dirty).toBe(true);
  });

  it("connects valid handles and refuses a loop with a notice, leaving the graph as it was", () => {
    const start = loaded({ ...graph(llmNode("a"), llmNode("b")) });

    const looped = run(start, { type: "connect", connection: { source: "b", sourceHandle: "output", target: "a", targetHandle: "input" } });

    expect(looped.edges).toBe(start.edges);
    expect(looped.notice).toMatchObject({ kind: "error" });
    expect(looped.notice.text).toMatch(/loop/);
  });

  it("deletes the selection with its edges but never start or end", () => {
    const selected = run(loaded(), { type: "select", ids: ["llm", "start"] });

    const state = run(selected, { type: "delete" });

    expect(state.nodes.map((node) => node.id)).toEqual(["start", "end"]);
    expect(state.edges).toEqual([]);
  });

  it("refuses a React Flow removal of start (keyboard delete) with a notice", () => {
    const state = run(loaded(), { type: "nodesChange", changes: [{ type: "remove", id: "start" }] });

    expect(state.nodes.map((node) => node.id)).toEqual(["start", "llm", "end"]);
    expect(state.notice.kind).toBe("warning");
  });

  it("duplicates nodes with new ids, offset, selected, keeping edges between copies", () => {
    const state = run(loaded(), { type: "duplicate", ids: ["llm", "end"] });

    const copy = state.nodes.at(-1);
    expect(state.nodes.map((node) => node.id)).toEqual(["start", "llm", "end", "llm_2"]);
    expect(copy.data.label).toBe("Answer (copy)");
    expect(copy.position).toEqual({ x: 340, y: 60 });
    expect(copy.selected).toBe(true);
    expect(copy.data.params).not.toBe(state.nodes[1].data.params);
  });

  it("removing a route re-wires later routes and keeps the default route valid", () => {
    const document = {
      nodes: [
        { id: "router", type: "llm_router", label: "R", params: { keywords: ["A", "B", "C"], default_keyword_index: 2 }, position: { x: 0, y: 0 } },
        llmNode("a"),
        llmNode("c"),
      ],
      edges: [
        { id: "1", source: "router", target: "a", source_handle: "output_0" },
        { id: "3", source: "router", target: "c", source_handle: "output_2" },
      ],
    };

    const state = run(loaded(document), { type: "removeRoute", id: "router", index: 1 });

    expect(state.nodes[0].data.params).toMatchObject({ keywords: ["A", "C"], default_keyword_index: 1 });
    expect(fromFlow(state).edges.map((edge) => [edge.source_handle, edge.target])).toEqual([
      ["output_0", "a"],
      ["output_1", "c"],
    ]);
  });
});

describe("undo and redo", () => {
  it("undoes and redoes an addition", () => {
    const added = run(loaded(), { type: "addNode", nodeType: "code", position: { x: 0, y: 0 } });

    const undone = run(added, { type: "undo" });
    const redone = run(undone, { type: "redo" });

    expect(undone.nodes.map((node) => node.id)).toEqual(["start", "llm", "end"]);
    expect(redone.nodes.map((node) => node.id)).toEqual(["start", "llm", "end", "code"]);
    expect(run(redone, { type: "redo" })).toBe(redone);
  });

  it("makes typing in one field a single undo step", () => {
    const typed = run(
      loaded(),
      { type: "updateNode", id: "llm", params: { prompt: "H" }, coalesce: "llm.prompt" },
      { type: "updateNode", id: "llm", params: { prompt: "He" }, coalesce: "llm.prompt" },
      { type: "updateNode", id: "llm", params: { prompt: "Hey" }, coalesce: "llm.prompt" },
    );

    const undone = run(typed, { type: "undo" });

    expect(typed.past).toHaveLength(1);
    expect(undone.nodes[1].data.params.prompt).toBe("Hi");
  });

  it("a drag is one undo step", () => {
    const moved = run(
      loaded(),
      { type: "dragStart" },
      { type: "nodesChange", changes: [{ type: "position", id: "llm", position: { x: 310, y: 5 }, dragging: true }] },
      { type: "nodesChange", changes: [{ type: "position", id: "llm", position: { x: 350, y: 40 }, dragging: true }] },
    );

    expect(moved.dirty).toBe(true);
    expect(run(moved, { type: "undo" }).nodes[1].position).toEqual({ x: 300, y: 0 });
  });

  it("a new edit clears the redo stack", () => {
    const state = run(
      loaded(),
      { type: "addNode", nodeType: "code", position: { x: 0, y: 0 } },
      { type: "undo" },
      { type: "updateNode", id: "llm", label: "Other" },
    );

    expect(state.future).toEqual([]);
  });
});

describe("saving", () => {
  it("clears the unsaved flag only when nothing changed while saving", () => {
    const edited = run(loaded(), { type: "updateNode", id: "llm", label: "New" });
    const sent = { nodes: edited.nodes, edges: edited.edges };
    const editedMeanwhile = run(edited, { type: "updateNode", id: "llm", label: "Newer" });

    expect(run(edited, { type: "saved", sent }).dirty).toBe(false);
    expect(run(editedMeanwhile, { type: "saved", sent }).dirty).toBe(true);
  });
});

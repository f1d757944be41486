import { describe, expect, it } from "vitest";

import {
  connectionProblem,
  fromFlow,
  outputHandles,
  pathEdges,
  pruneEdges,
  shiftRouteEdges,
  toFlow,
  wouldCycle,
} from "../../../assets/pipeline_editor/state/graph.js";
import { TYPES, graph, llmNode } from "./fixtures.js";

const router = (keywords) => ({
  id: "router",
  type: "llm_router",
  label: "Route",
  params: { llm_provider_id: 7, llm_model: "gpt-x", keywords },
  position: { x: 200, y: 0 },
});

describe("document <-> flow", () => {
  it("round-trips the server's graph", () => {
    const document = graph(llmNode());

    const back = fromFlow(toFlow(document));

    expect(back).toEqual(document);
  });

  it("protects start and end from deletion in React Flow", () => {
    const { nodes } = toFlow(graph(llmNode()));

    expect(nodes.map((node) => [node.id, node.deletable])).toEqual([
      ["start", false],
      ["llm", true],
      ["end", false],
    ]);
  });
});

describe("handles", () => {
  it("gives a router one output per keyword, labelled with it", () => {
    expect(outputHandles(TYPES.get("llm_router"), { keywords: ["BILLING", "SUPPORT"] })).toEqual([
      { id: "output_0", label: "BILLING" },
      { id: "output_1", label: "SUPPORT" },
    ]);
  });

  it("gives fixed handles to other nodes and none to the end", () => {
    expect(outputHandles(TYPES.get("llm"), {}).map((handle) => handle.id)).toEqual(["output"]);
    expect(outputHandles(TYPES.get("end"), {})).toEqual([]);
  });
});

describe("connection rules", () => {
  const flow = () => {
    const document = graph(llmNode("a"), llmNode("b"));
    return toFlow(document); // start -> a -> b -> end
  };

  it("accepts a new edge between an output and an input", () => {
    const state = toFlow({ ...graph(llmNode("a")), edges: [] });

    expect(connectionProblem(state, { source: "start", sourceHandle: "output", target: "a", targetHandle: "input" }, TYPES)).toBeNull();
  });

  it.each([
    [{ source: "b", sourceHandle: "output", target: "a", targetHandle: "input" }, /would make a loop/],
    [{ source: "a", sourceHandle: "output", target: "a", targetHandle: "input" }, /cannot connect to itself/],
    [{ source: "a", sourceHandle: "output", target: "start", targetHandle: "input" }, /“Start” has no input/],
    [{ source: "end", sourceHandle: "output", target: "a", targetHandle: "input" }, /“End” has no outputs/],
    [{ source: "a", sourceHandle: "output_3", target: "b", targetHandle: "input" }, /has no output “output_3”/],
    [{ source: "a", sourceHandle: "output", target: "b", targetHandle: "input" }, /already connected/],
  ])("refuses %o with a message", (connection, message) => {
    expect(connectionProblem(flow(), connection, TYPES)).toMatch(message);
  });

  it("detects cycles through longer paths", () => {
    const edges = [
      { source: "a", target: "b" },
      { source: "b", target: "c" },
    ];

    expect(wouldCycle(edges, "c", "a")).toBe(true);
    expect(wouldCycle(edges, "a", "c")).toBe(false);
  });
});

describe("router edges", () => {
  it("drops the removed route's edges and moves later routes' edges with their keyword", () => {
    const edges = [
      { id: "x", source: "router", sourceHandle: "output_0", target: "a" },
      { id: "y", source: "router", sourceHandle: "output_1", target: "b" },
      { id: "z", source: "router", sourceHandle: "output_2", target: "c" },
    ];

    const shifted = shiftRouteEdges(edges, "router", 1);

    expect(shifted.map((edge) => [edge.sourceHandle, edge.target])).toEqual([
      ["output_0", "a"],
      ["output_1", "c"],
    ]);
  });

  it("prunes edges from handles that no longer exist", () => {
    const { nodes, edges } = toFlow({
      nodes: [router(["ONE"]), llmNode("a"), llmNode("b")],
      edges: [
        { id: "1", source: "router", target: "a", source_handle: "output_0" },
        { id: "2", source: "router", target: "b", source_handle: "output_1" },
      ],
    });

    expect(pruneEdges(edges, nodes, TYPES).map((edge) => edge.id)).toEqual(["1"]);
  });
});

describe("run path", () => {
  it("highlights the edges the trace went through, on the route the router took", () => {
    const { edges } = toFlow({
      nodes: [],
      edges: [
        { id: "in", source: "start", target: "router" },
        { id: "one", source: "router", target: "a", source_handle: "output_0" },
        { id: "two", source: "router", target: "b", source_handle: "output_1" },
        { id: "a-end", source: "a", target: "end" },
        { id: "b-end", source: "b", target: "end" },
      ],
    });

    const taken = pathEdges(edges, ["start", "router", "b", "end"], { router: "output_1" });

    expect([...taken].sort()).toEqual(["b-end", "in", "two"]);
  });
});

describe("placing a node added from the keyboard", () => {
  it("keeps the preferred spot when it is free, else moves down until nothing is covered", async () => {
    const { freePosition } = await import("../../../assets/pipeline_editor/state/graph.js");
    const { nodes } = toFlow(graph(llmNode()));

    expect(freePosition(nodes, { x: 300, y: 400 })).toEqual({ x: 300, y: 400 });
    expect(freePosition(nodes, { x: 310, y: 10 })).toEqual({ x: 310, y: 130 });
  });
});

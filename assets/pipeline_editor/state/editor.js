// The editor's state: the graph in React Flow's shape, undo/redo history and the unsaved-changes flag.
// A pure reducer, so every edit is testable without a browser (tests/assets/pipeline_editor/).

import { applyEdgeChanges, applyNodeChanges } from "@xyflow/react";
import {
  addEdge,
  connectionProblem,
  duplicateNodes,
  makeNode,
  pruneEdges,
  removeElements,
  shiftRouteEdges,
  toFlow,
} from "./graph.js";

export const HISTORY_LIMIT = 100;

export function initialState(types = new Map()) {
  return { nodes: [], edges: [], types, past: [], future: [], dirty: false, coalesce: null, notice: null };
}

function snapshot(state) {
  return { nodes: state.nodes, edges: state.edges };
}

/** Remember the graph before an edit. Edits with the same ``coalesce`` key in a row (typing in one field) are
 * one undo step. */
function record(state, coalesce = null) {
  if (coalesce && state.coalesce === coalesce) return state;
  const past = [...state.past, snapshot(state)].slice(-HISTORY_LIMIT);
  return { ...state, past, future: [], coalesce };
}

function changed(state, nodes, edges, extra = {}) {
  return { ...state, nodes, edges, dirty: true, ...extra };
}

function selectedIds(items) {
  return items.filter((item) => item.selected).map((item) => item.id);
}

export function editorReducer(state, action) {
  switch (action.type) {
    case "load": {
      const { nodes, edges } = toFlow(action.graph);
      return { ...initialState(action.types ?? state.types), nodes, edges };
    }
    case "nodesChange": {
      let changes = action.changes;
      const removals = changes.filter((change) => change.type === "remove");
      if (removals.length) {
        const { kept } = removeElements(
          state,
          removals.map((change) => change.id),
          [],
          state.types,
        );
        changes = changes.filter((change) => change.type !== "remove" || !kept.includes(change.id));
        if (kept.length && changes.every((change) => change.type !== "remove")) {
          return { ...state, notice: { kind: "warning", text: "Start and end are part of every pipeline." } };
        }
        const next = record(state);
        const removedIds = changes.filter((change) => change.type === "remove").map((change) => change.id);
        const nodes = applyNodeChanges(changes, next.nodes);
        const edges = next.edges.filter((edge) => !removedIds.includes(edge.source) && !removedIds.includes(edge.target));
        return changed(next, nodes, edges);
      }
      const moved = changes.some((change) => change.type === "position" && change.position);
      const nodes = applyNodeChanges(changes, state.nodes);
      return moved ? { ...state, nodes, dirty: true, coalesce: null } : { ...state, nodes };
    }
    case "edgesChange": {
      const removal = action.changes.some((change) => change.type === "remove");
      const next = removal ? record(state) : state;
      const edges = applyEdgeChanges(action.changes, next.edges);
      return removal ? changed(next, next.nodes, edges) : { ...next, edges };
    }
    case "dragStart":
      return record(state);
    case "connect": {
      const problem = connectionProblem(state, action.connection, state.types);
      if (problem) return { ...state, notice: { kind: "error", text: problem } };
      const next = record(state);
      return changed(next, next.nodes, addEdge(next.edges, action.connection), {
        notice: action.announce ? { kind: "success", text: action.announce } : null,
      });
    }
    case "addNode": {
      const entry = state.types.get(action.nodeType);
      if (!entry) return state;
      const next = record(state);
      const node = makeNode(entry, action.position, next.nodes, action.prefill);
      const nodes = [...next.nodes.map((item) => (item.selected ? { ...item, selected: false } : item)), node];
      return changed(next, nodes, next.edges, {
        lastAdded: node.id,
        notice: { kind: "success", text: `Added ${node.data.label}.` },
      });
    }
    case "duplicate": {
      const ids = action.ids ?? selectedIds(state.nodes);
      if (!ids.length) return state;
      const next = record(state);
      const result = duplicateNodes(next, ids, state.types);
      if (!result.copied.length) {
        return { ...state, notice: { kind: "warning", text: "Start and end cannot be duplicated." } };
      }
      return changed(next, result.nodes, result.edges, { lastAdded: result.copied.at(-1) });
    }
    case "delete": {
      const nodeIds = action.nodeIds ?? selectedIds(state.nodes);
      const edgeIds = action.edgeIds ?? selectedIds(state.edges);
      if (!nodeIds.length && !edgeIds.length) return state;
      const result = removeElements(state, nodeIds, edgeIds, state.types);
      if (result.nodes.length === state.nodes.length && result.edges.length === state.edges.length) {
        return { ...state, notice: { kind: "warning", text: "Start and end are part of every pipeline." } };
      }
      const next = record(state);
      return changed(next, result.nodes, result.edges, { notice: null });
    }
    case "updateNode": {
      const next = record(state, action.coalesce ?? null);
      const nodes = next.nodes.map((node) => {
        if (node.id !== action.id) return node;
        const data = { ...node.data };
        if (action.label !== undefined) data.label = action.label;
        if (action.params) data.params = { ...data.params, ...action.params };
        return { ...node, data };
      });
      return changed(next, nodes, pruneEdges(next.edges, nodes, state.types), {
        coalesce: action.coalesce ?? null,
      });
    }
    case "removeRoute": {
      // One route of a router goes: its edges go with it, later routes keep theirs (handles are by position).
      const node = state.nodes.find((item) => item.id === action.id);
      const entry = node && state.types.get(node.data.nodeType);
      if (!entry || entry.outputs?.kind !== "keywords") return state;
      const param = entry.outputs.param;
      const keywords = [...(node.data.params[param] || [])];
      keywords.splice(action.index, 1);
      const current = node.data.params.default_keyword_index ?? 0;
      const defaultIndex = current === action.index ? 0 : current > action.index ? current - 1 : current;
      const next = record(state);
      const nodes = next.nodes.map((item) =>
        item.id === action.id
          ? { ...item, data: { ...item.data, params: { ...item.data.params, [param]: keywords, default_keyword_index: defaultIndex } } }
          : item,
      );
      const edges = shiftRouteEdges(next.edges, action.id, action.index, entry.outputs.handle_prefix);
      return changed(next, nodes, edges);
    }
    case "select": {
      const ids = new Set(action.ids);
      return {
        ...state,
        nodes: state.nodes.map((node) => ({ ...node, selected: ids.has(node.id) })),
        edges: state.edges.map((edge) => (edge.selected ? { ...edge, selected: false } : edge)),
      };
    }
    case "undo": {
      if (!state.past.length) return state;
      const previous = state.past.at(-1);
      return {
        ...state,
        ...previous,
        past: state.past.slice(0, -1),
        future: [snapshot(state), ...state.future],
        dirty: true,
        coalesce: null,
      };
    }
    case "redo": {
      if (!state.future.length) return state;
      const [following, ...rest] = state.future;
      return { ...state, ...following, past: [...state.past, snapshot(state)], future: rest, dirty: true, coalesce: null };
    }
    case "saved": {
      // Only what was sent is saved: an edit made while the save was on its way keeps the page dirty.
      const same = !action.sent || (action.sent.nodes === state.nodes && action.sent.edges === state.edges);
      return { ...state, dirty: same ? false : state.dirty, coalesce: null };
    }
    case "notice":
      return { ...state, notice: action.notice };
    default:
      throw new Error(`Unknown editor action ${action.type}`);
  }
}

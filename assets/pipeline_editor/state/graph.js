// The pipeline graph in the editor: conversion to and from the server's document, handles, and the edits
// (add, duplicate, delete, connect) as pure functions over {nodes, edges} in React Flow's shape.
//
// Server document (tenant_apps/pipelines/graph.py):
//   {nodes: [{id, type, label, params, position: {x, y}}], edges: [{id, source, target, source_handle, target_handle}]}
// React Flow: nodes {id, type: "pipeline", position, data: {nodeType, label, params}}, edges {id, source, target,
// sourceHandle, targetHandle}.

export const FLOW_NODE_TYPE = "pipeline";
export const DEFAULT_OUTPUT = "output";
export const DEFAULT_INPUT = "input";

export function typeIndex(nodeTypes) {
  return new Map(nodeTypes.map((entry) => [entry.type, entry]));
}

/** The output handles a node has: fixed ones, or one per keyword for routers (``output_<i>``). */
export function outputHandles(entry, params) {
  if (!entry) return [];
  const outputs = entry.outputs || { kind: "static", handles: [DEFAULT_OUTPUT] };
  if (outputs.kind === "keywords") {
    const keywords = Array.isArray(params?.[outputs.param]) ? params[outputs.param] : [];
    return keywords.map((keyword, index) => ({
      id: `${outputs.handle_prefix}${index}`,
      label: String(keyword ?? "").trim() || `Route ${index + 1}`,
    }));
  }
  return (outputs.handles || []).map((id) => ({ id, label: null }));
}

export function inputHandles(entry) {
  return (entry?.inputs || []).map((id) => ({ id }));
}

export function edgeId(source, sourceHandle, target) {
  return `${source}:${sourceHandle || DEFAULT_OUTPUT}->${target}`;
}

export function toFlow(graph) {
  const nodes = (graph?.nodes || []).map((node) => ({
    id: node.id,
    type: FLOW_NODE_TYPE,
    position: { x: node.position?.x ?? 0, y: node.position?.y ?? 0 },
    data: { nodeType: node.type, label: node.label || "", params: node.params || {} },
    deletable: !["start", "end"].includes(node.type),
  }));
  const edges = (graph?.edges || []).map((edge) => ({
    id: edge.id,
    source: edge.source,
    target: edge.target,
    sourceHandle: edge.source_handle || DEFAULT_OUTPUT,
    targetHandle: edge.target_handle || DEFAULT_INPUT,
  }));
  return { nodes, edges };
}

export function fromFlow({ nodes, edges }) {
  return {
    nodes: nodes.map((node) => ({
      id: node.id,
      type: node.data.nodeType,
      label: node.data.label || "",
      params: node.data.params || {},
      position: { x: Math.round(node.position.x), y: Math.round(node.position.y) },
    })),
    edges: edges.map((edge) => ({
      id: edge.id,
      source: edge.source,
      target: edge.target,
      source_handle: edge.sourceHandle || DEFAULT_OUTPUT,
      target_handle: edge.targetHandle || DEFAULT_INPUT,
    })),
  };
}

/** True when an edge source → target would close a loop (target already reaches source). */
export function wouldCycle(edges, source, target) {
  if (source === target) return true;
  const outgoing = new Map();
  for (const edge of edges) {
    if (!outgoing.has(edge.source)) outgoing.set(edge.source, []);
    outgoing.get(edge.source).push(edge.target);
  }
  const seen = new Set([target]);
  const queue = [target];
  while (queue.length) {
    const current = queue.shift();
    if (current === source) return true;
    for (const next of outgoing.get(current) || []) {
      if (!seen.has(next)) {
        seen.add(next);
        queue.push(next);
      }
    }
  }
  return false;
}

export function nodeName(node, types) {
  if (!node) return "That node";
  return `“${node.data.label || types?.get(node.data.nodeType)?.label || node.id}”`;
}

/** Why a connection is refused (a sentence for the builder), or null when it is fine. */
export function connectionProblem({ nodes, edges }, connection, types) {
  const { source, target } = connection;
  const sourceHandle = connection.sourceHandle || DEFAULT_OUTPUT;
  const targetHandle = connection.targetHandle || DEFAULT_INPUT;
  const from = nodes.find((node) => node.id === source);
  const to = nodes.find((node) => node.id === target);
  if (!from || !to) return "Pick two nodes to connect.";
  if (source === target) return "A node cannot connect to itself.";
  const fromType = types.get(from.data.nodeType);
  const toType = types.get(to.data.nodeType);
  if (!outputHandles(fromType, from.data.params).some((handle) => handle.id === sourceHandle)) {
    return fromType?.outputs?.handles?.length === 0 && fromType.outputs.kind === "static"
      ? `${nodeName(from, types)} has no outputs: connect from an output (right side) to an input (left side).`
      : `${nodeName(from, types)} has no output “${sourceHandle}”.`;
  }
  if (!inputHandles(toType).some((handle) => handle.id === targetHandle)) {
    return toType?.inputs?.length === 0
      ? `${nodeName(to, types)} has no input: nothing can lead into it.`
      : `${nodeName(to, types)} has no input “${targetHandle}”.`;
  }
  const duplicate = edges.some(
    (edge) =>
      edge.source === source &&
      (edge.sourceHandle || DEFAULT_OUTPUT) === sourceHandle &&
      edge.target === target &&
      (edge.targetHandle || DEFAULT_INPUT) === targetHandle,
  );
  if (duplicate) return "These two are already connected.";
  if (wouldCycle(edges, source, target)) {
    return `Connecting ${nodeName(from, types)} to ${nodeName(to, types)} would make a loop: pipelines cannot loop.`;
  }
  return null;
}

export function addEdge(edges, connection) {
  const sourceHandle = connection.sourceHandle || DEFAULT_OUTPUT;
  const targetHandle = connection.targetHandle || DEFAULT_INPUT;
  let id = edgeId(connection.source, sourceHandle, connection.target);
  for (let n = 2; edges.some((edge) => edge.id === id); n += 1) {
    id = `${edgeId(connection.source, sourceHandle, connection.target)}#${n}`;
  }
  return [...edges, { id, source: connection.source, target: connection.target, sourceHandle, targetHandle }];
}

/** A readable id that is not taken yet: ``llm``, ``llm_2``, ... (ids show up in traces). */
export function newNodeId(type, nodes) {
  const taken = new Set(nodes.map((node) => node.id));
  if (!taken.has(type)) return type;
  let n = 2;
  while (taken.has(`${type}_${n}`)) n += 1;
  return `${type}_${n}`;
}

function labelFor(entry, nodes) {
  const same = nodes.filter((node) => node.data.nodeType === entry.type).length;
  return same ? `${entry.label} ${same + 1}` : entry.label;
}

// A new router starts with one (empty) route to type into.
function firstRoute(entry) {
  return entry.outputs?.kind === "keywords" && !entry.defaults?.[entry.outputs.param] ? { [entry.outputs.param]: [""] } : {};
}

/** A new node of ``entry``'s type with its schema defaults (and ``prefill``, e.g. the team's first model). */
export function makeNode(entry, position, nodes, prefill = {}) {
  return {
    id: newNodeId(entry.type, nodes),
    type: FLOW_NODE_TYPE,
    position: { x: Math.round(position.x), y: Math.round(position.y) },
    data: {
      nodeType: entry.type,
      label: labelFor(entry, nodes),
      params: structuredClone({ ...(entry.defaults || {}), ...firstRoute(entry), ...prefill }),
    },
    deletable: entry.can_delete !== false,
    selected: true,
  };
}

/** Copies of the chosen nodes (those that may be added: not start/end), offset, with the edges between them. */
export function duplicateNodes({ nodes, edges }, ids, types) {
  const chosen = nodes.filter((node) => ids.includes(node.id) && types.get(node.data.nodeType)?.can_add !== false);
  const mapping = new Map();
  const copies = [];
  let all = nodes;
  for (const node of chosen) {
    const id = newNodeId(node.data.nodeType, all);
    mapping.set(node.id, id);
    const copy = {
      ...node,
      id,
      position: { x: node.position.x + 40, y: node.position.y + 60 },
      data: { ...structuredClone(node.data), label: `${node.data.label || node.id} (copy)` },
      selected: true,
    };
    delete copy.measured;
    copies.push(copy);
    all = [...all, copy];
  }
  let newEdges = edges;
  for (const edge of edges) {
    if (mapping.has(edge.source) && mapping.has(edge.target)) {
      newEdges = addEdge(newEdges, {
        ...edge,
        source: mapping.get(edge.source),
        target: mapping.get(edge.target),
      });
    }
  }
  return {
    nodes: [...nodes.map((node) => (node.selected ? { ...node, selected: false } : node)), ...copies],
    edges: newEdges.map((edge) => (edge.selected ? { ...edge, selected: false } : edge)),
    copied: copies.map((node) => node.id),
  };
}

/** Remove nodes (and their edges) and edges. Start and end stay: they are returned in ``kept``. */
export function removeElements({ nodes, edges }, nodeIds, edgeIds, types) {
  const kept = [];
  const removed = new Set();
  for (const node of nodes) {
    if (!nodeIds.includes(node.id)) continue;
    if (node.deletable === false || types.get(node.data.nodeType)?.can_delete === false) kept.push(node.id);
    else removed.add(node.id);
  }
  return {
    nodes: nodes.filter((node) => !removed.has(node.id)),
    edges: edges.filter(
      (edge) => !edgeIds.includes(edge.id) && !removed.has(edge.source) && !removed.has(edge.target),
    ),
    kept,
  };
}

/** After a router's keyword ``index`` is removed, its edges go and later routes' edges follow their keyword. */
export function shiftRouteEdges(edges, nodeId, index, prefix = "output_") {
  const result = [];
  for (const edge of edges) {
    if (edge.source !== nodeId || !String(edge.sourceHandle).startsWith(prefix)) {
      result.push(edge);
      continue;
    }
    const position = Number(String(edge.sourceHandle).slice(prefix.length));
    if (position === index) continue;
    if (position > index) {
      const sourceHandle = `${prefix}${position - 1}`;
      result.push({ ...edge, sourceHandle, id: edgeId(edge.source, sourceHandle, edge.target) });
    } else {
      result.push(edge);
    }
  }
  return result;
}

/** Edges whose source handle no longer exists (e.g. a router with fewer keywords), dropped. */
export function pruneEdges(edges, nodes, types) {
  const byId = new Map(nodes.map((node) => [node.id, node]));
  return edges.filter((edge) => {
    const source = byId.get(edge.source);
    if (!source || !byId.has(edge.target)) return false;
    const handles = outputHandles(types.get(source.data.nodeType), source.data.params);
    return handles.some((handle) => handle.id === (edge.sourceHandle || DEFAULT_OUTPUT));
  });
}

/** The edges a run took: consecutive pairs of the trace's node path that an edge joins. */
export function pathEdges(edges, nodePath, routes = {}) {
  const taken = new Set();
  for (let i = 0; i < nodePath.length; i += 1) {
    for (let j = i + 1; j < nodePath.length; j += 1) {
      for (const edge of edges) {
        if (edge.source !== nodePath[i] || edge.target !== nodePath[j]) continue;
        const route = routes[edge.source];
        if (route && edge.sourceHandle !== route) continue;
        taken.add(edge.id);
      }
    }
  }
  return taken;
}

const NODE_BOX = { width: 260, height: 120 }; // a node card and some room around it

/** The first spot at or below ``preferred`` where a new node covers no other (for nodes added without a drop). */
export function freePosition(nodes, preferred) {
  const at = { x: Math.round(preferred.x), y: Math.round(preferred.y) };
  const overlaps = () =>
    nodes.some(
      (node) => Math.abs(node.position.x - at.x) < NODE_BOX.width && Math.abs(node.position.y - at.y) < NODE_BOX.height,
    );
  for (let step = 0; step < 50 && overlaps(); step += 1) at.y += NODE_BOX.height;
  return at;
}

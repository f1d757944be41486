// Two pipelines side by side, read-only, with what the server's comparison found: nodes added (green),
// removed (red), changed (amber, with the params listed), and edges added or removed.
import "@xyflow/react/dist/style.css";
import "../editor.css";

import { Background, Controls, ReactFlow, ReactFlowProvider } from "@xyflow/react";
import { useEffect, useMemo, useState } from "react";

import { request } from "../api.js";
import { edgeId, toFlow, typeIndex } from "../state/graph.js";
import { EditorContext } from "./context.js";
import { FitWhenMeasured } from "./FitWhenMeasured.jsx";
import { NodeCard } from "./NodeCard.jsx";
import { useColorMode } from "./useColorMode.js";

const NODE_TYPES = { pipeline: NodeCard };

function statusMaps(changes, side) {
  const nodes = new Map();
  const edges = new Map();
  for (const change of changes) {
    if (change.node_id) {
      if (change.kind === "changed") nodes.set(change.node_id, "changed");
      else if ((change.kind === "added" && side === "b") || (change.kind === "removed" && side === "a")) nodes.set(change.node_id, change.kind);
    } else if (change.edge && ((change.kind === "added" && side === "b") || (change.kind === "removed" && side === "a"))) {
      edges.set(change.edge.join("|"), change.kind);
    }
  }
  return { nodes, edges };
}

function Side({ side, data, changes, types }) {
  const { nodes: nodeStatus, edges: edgeStatus } = useMemo(() => statusMaps(changes, side), [changes, side]);
  // Uncontrolled (defaultNodes): nothing here changes, and React Flow then keeps the measured sizes it fits by.
  const { nodes, edges } = useMemo(() => {
    const flow = toFlow(data.graph);
    return {
      nodes: flow.nodes.map((node) => ({ ...node, draggable: false, connectable: false })),
      edges: flow.edges.map((edge) => {
        const status = edgeStatus.get([edge.source, edge.sourceHandle, edge.target].join("|"));
        return status ? { ...edge, className: `edge-${status}`, animated: status === "added", id: edge.id || edgeId(edge.source, edge.sourceHandle, edge.target) } : edge;
      }),
    };
  }, [data.graph, edgeStatus]);
  const context = useMemo(() => ({ types, errorsByNode: new Map(), run: null, diff: nodeStatus, readOnly: true }), [types, nodeStatus]);
  const colorMode = useColorMode();
  return (
    <section className="flex min-w-0 flex-1 flex-col rounded-box border border-base-300 bg-base-100" aria-label={data.label} data-testid={`diff-${side}`}>
      <h2 className="border-b border-base-300 px-3 py-2 text-sm font-semibold">{data.label}</h2>
      <div className="min-h-0 flex-1">
        <EditorContext.Provider value={context}>
          <ReactFlowProvider>
            <ReactFlow
              defaultNodes={nodes}
              defaultEdges={edges}
              nodeTypes={NODE_TYPES}
              nodesDraggable={false}
              nodesConnectable={false}
              elementsSelectable={false}
              deleteKeyCode={null}
              defaultEdgeOptions={{ type: "smoothstep" }}
              proOptions={{ hideAttribution: true }}
              colorMode={colorMode}
            >
              <FitWhenMeasured />
              <Background gap={20} size={1} />
              <Controls showInteractive={false} />
            </ReactFlow>
          </ReactFlowProvider>
        </EditorContext.Provider>
      </div>
    </section>
  );
}

export default function DiffView({ config }) {
  const [types, setTypes] = useState(null);
  const [error, setError] = useState(null);
  const { a, b, changes } = config.diff;

  useEffect(() => {
    request(config.urls.node_types)
      .then((catalog) => setTypes(typeIndex(catalog.node_types)))
      .catch((problem) => setError(problem.message));
  }, [config.urls.node_types]);

  if (error) return <div className="alert alert-error" role="alert">The node types could not be loaded: {error}</div>;
  if (!types) return <div className="flex h-full items-center justify-center" role="status"><span className="loading loading-spinner" /> Loading…</div>;
  return (
    <div className="flex h-full min-h-0 flex-col gap-2" data-testid="pipeline-diff" data-ready="true">
      <div className="flex min-h-0 flex-1 gap-2">
        <Side side="a" data={a} changes={changes} types={types} />
        <Side side="b" data={b} changes={changes} types={types} />
      </div>
      <section className="max-h-48 overflow-y-auto rounded-box border border-base-300 bg-base-100 p-3" aria-labelledby="changes-title">
        <h2 id="changes-title" className="mb-1 text-sm font-semibold">
          {changes.length ? `${changes.length} ${changes.length === 1 ? "change" : "changes"} in the pipeline` : "No differences in the pipeline"}
        </h2>
        <ul className="space-y-0.5 text-sm" data-testid="diff-changes">
          {changes.map((change, index) => (
            // biome-ignore lint: server order
            <li key={index}>
              <span className={`badge badge-sm ${change.kind === "added" ? "badge-success" : change.kind === "removed" ? "badge-error" : "badge-warning"}`}>{change.kind}</span> {change.item}
              {change.kind === "changed" && (
                <span className="text-base-content/70">
                  : <del>{change.before.slice(0, 120)}</del> → {change.after.slice(0, 120)}
                </span>
              )}
            </li>
          ))}
        </ul>
      </section>
    </div>
  );
}

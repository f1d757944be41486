// The pipeline editor: palette, canvas (React Flow), node form, test panel and problems; explicit save with
// the server's revision check (409 → "someone else saved", reload), unsaved-changes warning, undo/redo.
import "@xyflow/react/dist/style.css";
import "../editor.css";

import { Background, Controls, MiniMap, ReactFlow, ReactFlowProvider, useReactFlow } from "@xyflow/react";
import { useCallback, useEffect, useMemo, useReducer, useRef, useState } from "react";

import { ApiError, request } from "../api.js";
import { editorReducer, initialState } from "../state/editor.js";
import { freePosition, fromFlow, pathEdges, typeIndex } from "../state/graph.js";
import { prefillFor } from "../state/schemaForm.js";
import { createTestTransport } from "../testTransport.js";
import { EditorContext } from "./context.js";
import { FIT, FitWhenMeasured } from "./FitWhenMeasured.jsx";
import { Icon } from "./icons.jsx";
import { Inspector } from "./Inspector.jsx";
import { NodeCard } from "./NodeCard.jsx";
import { TestPanel } from "./TestPanel.jsx";
import { useColorMode } from "./useColorMode.js";

const NODE_TYPES = { pipeline: NodeCard };
const DRAG_TYPE = "application/x-pipeline-node";
const isMac = typeof navigator !== "undefined" && /Mac/.test(navigator.platform);
const MOD = isMac ? "⌘" : "Ctrl";

function typingIn(target) {
  return target instanceof HTMLElement && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
}

function Palette({ nodeTypes, onAdd }) {
  return (
    <nav className="flex w-52 shrink-0 flex-col gap-1 overflow-y-auto rounded-box border border-base-300 bg-base-100 p-2" aria-label="Add a node">
      <h2 className="px-1 pb-1 text-xs font-semibold uppercase tracking-wide text-base-content/60">Add a node</h2>
      {nodeTypes
        .filter((entry) => entry.can_add)
        .map((entry) => (
          <button
            key={entry.type}
            type="button"
            draggable
            className="group flex items-start gap-2 rounded-field px-2 py-1.5 text-left hover:bg-base-200 focus-visible:bg-base-200"
            onDragStart={(event) => {
              event.dataTransfer.setData(DRAG_TYPE, entry.type);
              event.dataTransfer.effectAllowed = "move";
            }}
            onClick={() => onAdd(entry.type)}
            title={`${entry.description} Drag onto the canvas, or press Enter to add.`}
            data-testid={`palette-${entry.type}`}
          >
            <Icon name={entry.icon} className="mt-0.5 size-4 text-base-content/70 group-hover:text-primary" />
            <span className="min-w-0">
              <span className="block text-sm font-medium leading-tight">{entry.label}</span>
              <span className="line-clamp-2 text-xs text-base-content/60">{entry.description}</span>
            </span>
          </button>
        ))}
    </nav>
  );
}

function Toolbar({ state, dispatch, readOnly, saving, onSave, onFit, revision, config, hasSelection }) {
  const status = readOnly ? null : saving ? "Saving…" : state.dirty ? "Unsaved changes" : "All changes saved";
  return (
    <div className="flex flex-wrap items-center gap-1.5" role="toolbar" aria-label="Pipeline editor">
      {readOnly ? (
        <span className="badge badge-neutral gap-1" data-testid="read-only-badge">
          {config.version ? `Version ${config.version.number} · read-only` : "Read-only"}
        </span>
      ) : (
        <>
          <button type="button" className="btn btn-primary btn-sm" onClick={onSave} disabled={saving || !state.dirty} title={`Save (${MOD}+S)`} data-testid="save">
            {saving ? <span className="loading loading-spinner loading-xs" /> : <Icon name="save" />} Save
          </button>
          <div className="join">
            <button type="button" className="btn btn-sm join-item" onClick={() => dispatch({ type: "undo" })} disabled={!state.past.length} aria-label="Undo" title={`Undo (${MOD}+Z)`}>
              <Icon name="undo" />
            </button>
            <button type="button" className="btn btn-sm join-item" onClick={() => dispatch({ type: "redo" })} disabled={!state.future.length} aria-label="Redo" title={`Redo (${MOD}+Shift+Z)`}>
              <Icon name="redo" />
            </button>
          </div>
          <button type="button" className="btn btn-sm" onClick={() => dispatch({ type: "duplicate" })} disabled={!hasSelection} title={`Duplicate the selection (${MOD}+D)`}>
            <Icon name="copy" /> Duplicate
          </button>
          <button type="button" className="btn btn-sm" onClick={() => dispatch({ type: "delete" })} disabled={!hasSelection} title="Delete the selection (Delete)">
            <Icon name="trash" /> Delete
          </button>
        </>
      )}
      <button type="button" className="btn btn-sm btn-ghost" onClick={onFit} title="Fit the pipeline in view">
        <Icon name="expand" /> Fit view
      </button>
      <span className="ml-auto flex items-center gap-2 text-sm">
        {status && (
          <span className="flex items-center gap-1.5 text-base-content/80" role="status">
            <span className={`status ${state.dirty ? "status-warning" : "status-success"}`} aria-hidden="true" />
            <span data-testid="save-status">{status}</span>
          </span>
        )}
        {config.version && (
          <a className="btn btn-sm btn-ghost" href={config.urls.editor}>
            Open the working copy
          </a>
        )}
        {!config.version && revision ? <span className="text-xs text-base-content/70" title="Saved revision">rev {revision}</span> : null}
      </span>
    </div>
  );
}

function Problems({ errors, nodes, onSelect, dirty }) {
  const stale = dirty ? <p className="mb-2 text-xs text-base-content/70">As of the last save: save to check your changes.</p> : null;
  if (!errors.length) {
    return (
      <>
        {stale}
        <p className="text-sm text-base-content/70" data-testid="no-problems">No problems: the pipeline can run and be published.</p>
      </>
    );
  }
  const name = (id) => nodes.find((node) => node.id === id)?.data.label || id;
  return (
    <ul className="space-y-1" data-testid="problems">
      {stale && <li>{stale}</li>}
      {errors.map((error, index) => (
        // biome-ignore lint: server order
        <li key={index}>
          <button type="button" className="flex w-full items-start gap-2 rounded-field p-1.5 text-left text-sm hover:bg-base-200" onClick={() => error.node_id && onSelect(error.node_id)} disabled={!error.node_id}>
            <Icon name="warning" className="mt-0.5 size-4 text-error" />
            <span>
              {error.node_id && !error.message.includes(name(error.node_id)) && <span className="font-medium">{name(error.node_id)}: </span>}
              {error.field && <span className="text-base-content/60">{error.field} — </span>}
              {error.message}
            </span>
          </button>
        </li>
      ))}
    </ul>
  );
}

function Notice({ notice, onClose }) {
  useEffect(() => {
    if (!notice || notice.kind === "error") return undefined;
    const timer = setTimeout(onClose, 5000);
    return () => clearTimeout(timer);
  }, [notice, onClose]);
  if (!notice) return null;
  const tone = { error: "alert-error", warning: "alert-warning", success: "alert-success" }[notice.kind] || "alert-info";
  return (
    <div className={`alert ${tone} pointer-events-auto absolute left-1/2 top-3 z-10 w-auto max-w-xl -translate-x-1/2 px-3 py-2 text-sm shadow-lg`} role={notice.kind === "error" ? "alert" : "status"} data-testid="notice">
      <span>{notice.text}</span>
      <button type="button" className="btn btn-ghost btn-xs" onClick={onClose} aria-label="Dismiss">
        <Icon name="x" className="size-3" />
      </button>
    </div>
  );
}

function Editor({ config }) {
  const flow = useReactFlow();
  const colorMode = useColorMode();
  const canvas = useRef(null);
  const [state, dispatch] = useReducer(editorReducer, undefined, () => initialState());
  const [catalog, setCatalog] = useState(null);
  const [options, setOptions] = useState(null);
  const [meta, setMeta] = useState({ revision: null, errors: [], frozen: false, name: "" });
  const [loadError, setLoadError] = useState(null);
  const [conflict, setConflict] = useState(null);
  const [saving, setSaving] = useState(false);
  const [tab, setTab] = useState("node");
  const [trace, setTrace] = useState(null);
  const readOnly = Boolean(config.read_only || meta.frozen);
  const transport = useMemo(() => createTestTransport({ sendUrl: config.urls.test_send }), [config.urls.test_send]);
  const stateRef = useRef(state);
  stateRef.current = state;
  const [loads, setLoads] = useState(0); // each load fits the pipeline in view again

  // bench/editor_load.py reads this mark: the editor is on screen with the pipeline and its forms usable.
  useEffect(() => {
    if (catalog && !performance.getEntriesByName("pipeline-editor-ready").length) performance.mark("pipeline-editor-ready");
  }, [catalog]);

  const loadPipeline = useCallback(async () => {
    const pipeline = await request(config.pipeline_url);
    setMeta({ revision: pipeline.edit_revision, errors: pipeline.errors, frozen: pipeline.is_frozen, name: pipeline.name });
    return pipeline;
  }, [config.pipeline_url]);

  useEffect(() => {
    let cancelled = false;
    Promise.all([request(config.urls.node_types), request(config.urls.node_options), loadPipeline()])
      .then(([types, nodeOptions, pipeline]) => {
        if (cancelled) return;
        setCatalog(types);
        setOptions(nodeOptions);
        dispatch({ type: "load", graph: pipeline.graph, types: typeIndex(types.node_types) });
      })
      .catch((error) => !cancelled && setLoadError(error.message));
    return () => {
      cancelled = true;
    };
  }, [config.urls.node_types, config.urls.node_options, loadPipeline]);

  // Leaving with unsaved work asks first (the browser's own dialog).
  useEffect(() => {
    const warn = (event) => {
      if (!stateRef.current.dirty) return;
      event.preventDefault();
      event.returnValue = "";
    };
    window.addEventListener("beforeunload", warn);
    return () => window.removeEventListener("beforeunload", warn);
  }, []);

  const save = useCallback(async () => {
    const current = stateRef.current;
    if (readOnly) return false;
    if (!current.dirty) return true;
    setSaving(true);
    const sent = { nodes: current.nodes, edges: current.edges };
    try {
      const saved = await request(config.pipeline_url, {
        method: "PUT",
        body: { graph: fromFlow(sent), base_revision: meta.revision },
      });
      setMeta((previous) => ({ ...previous, revision: saved.edit_revision, errors: saved.errors }));
      setConflict(null);
      dispatch({ type: "saved", sent });
      dispatch({
        type: "notice",
        notice: saved.errors.length
          ? { kind: "warning", text: `Saved, with ${saved.errors.length} ${saved.errors.length === 1 ? "problem" : "problems"} to fix before it can run.` }
          : { kind: "success", text: "Saved." },
      });
      if (saved.errors.length) setTab("problems");
      return saved.errors.length === 0;
    } catch (error) {
      if (error instanceof ApiError && error.code === "pipeline.conflict") {
        setConflict(error.message);
      } else {
        dispatch({ type: "notice", notice: { kind: "error", text: `Not saved: ${error.message}` } });
      }
      return false;
    } finally {
      setSaving(false);
    }
  }, [config.pipeline_url, meta.revision, readOnly]);

  const reload = useCallback(async () => {
    if (stateRef.current.dirty && !window.confirm("Reload the pipeline? Your unsaved changes will be lost.")) return;
    try {
      const pipeline = await loadPipeline();
      dispatch({ type: "load", graph: pipeline.graph });
      setConflict(null);
      setTrace(null);
      setLoads((count) => count + 1);
    } catch (error) {
      dispatch({ type: "notice", notice: { kind: "error", text: error.message } });
    }
  }, [loadPipeline]);

  const addNode = useCallback(
    (nodeType, position) => {
      const entry = catalog?.node_types.find((item) => item.type === nodeType);
      if (!entry) return;
      let at = position;
      if (!at) {
        // From the keyboard: in view, near the middle, where it covers no other node.
        const box = canvas.current.getBoundingClientRect();
        at = freePosition(stateRef.current.nodes, flow.screenToFlowPosition({ x: box.left + box.width / 2 - 120, y: box.top + box.height / 4 }));
      }
      dispatch({ type: "addNode", nodeType, position: at, prefill: prefillFor(entry.schema, options) });
      setTab("node");
    },
    [catalog, options, flow],
  );

  // Focus the node just added (keyboard users continue from it: Enter selects, arrows move, Delete removes).
  useEffect(() => {
    if (!state.lastAdded) return undefined;
    let frame = 0;
    let tries = 0;
    const focus = () => {
      const element = document.querySelector(`.react-flow__node[data-id="${CSS.escape(state.lastAdded)}"]`);
      element?.focus();
      // A new node is shown once React Flow has measured it: try again for a few frames until it takes focus.
      if (document.activeElement !== element && (tries += 1) < 30) frame = requestAnimationFrame(focus);
    };
    frame = requestAnimationFrame(focus);
    return () => cancelAnimationFrame(frame);
  }, [state.lastAdded]);

  const selectNode = useCallback(
    (id) => {
      dispatch({ type: "select", ids: [id] });
      setTab("node");
      const node = stateRef.current.nodes.find((item) => item.id === id);
      if (node) flow.fitView({ nodes: [{ id }], padding: 1.2, maxZoom: 1.2, duration: 300 });
    },
    [flow],
  );

  useEffect(() => {
    const onKey = (event) => {
      const mod = event.ctrlKey || event.metaKey;
      if (!mod) return;
      const key = event.key.toLowerCase();
      if (key === "s") {
        event.preventDefault();
        save();
        return;
      }
      if (typingIn(event.target) || readOnly) return;
      if (key === "z" && !event.shiftKey) {
        event.preventDefault();
        dispatch({ type: "undo" });
      } else if ((key === "z" && event.shiftKey) || key === "y") {
        event.preventDefault();
        dispatch({ type: "redo" });
      } else if (key === "d") {
        event.preventDefault();
        dispatch({ type: "duplicate" });
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [save, readOnly]);

  const errorsByNode = useMemo(() => {
    const map = new Map();
    for (const error of meta.errors) if (error.node_id) map.set(error.node_id, [...(map.get(error.node_id) || []), error]);
    return map;
  }, [meta.errors]);

  const run = useMemo(() => {
    if (!trace) return null;
    const nodes = new Map(trace.nodes.map((node) => [node.node_id, node]));
    const routes = Object.fromEntries(trace.nodes.filter((node) => node.route).map((node) => [node.node_id, node.route]));
    return { nodes, errorNode: trace.error_node_id || null, edges: pathEdges(state.edges, trace.node_path, routes) };
  }, [trace, state.edges]);

  const edges = useMemo(
    () =>
      run
        ? state.edges.map((edge) => (run.edges.has(edge.id) ? { ...edge, animated: true, className: "edge-ran" } : edge))
        : state.edges,
    [state.edges, run],
  );

  const context = useMemo(
    () => ({ types: state.types, errorsByNode, run, diff: null, readOnly }),
    [state.types, errorsByNode, run, readOnly],
  );

  if (loadError) {
    return (
      <div className="alert alert-error" role="alert">
        The pipeline could not be loaded: {loadError}
        <button type="button" className="btn btn-sm" onClick={() => window.location.reload()}>
          Try again
        </button>
      </div>
    );
  }
  if (!catalog) {
    return (
      <div className="flex h-full items-center justify-center gap-3 rounded-box bg-base-100 text-base-content/70" role="status">
        <span className="loading loading-spinner loading-md" /> Loading the pipeline…
      </div>
    );
  }

  const selected = state.nodes.filter((node) => node.selected);
  const hasSelection = selected.length > 0 || state.edges.some((edge) => edge.selected);
  const current = selected.length === 1 ? selected[0] : null;
  const tabs = [
    ["node", "Node"],
    ...(config.version ? [] : [["test", "Test"]]),
    ["problems", `Problems${meta.errors.length ? ` (${meta.errors.length})` : ""}`],
  ];

  return (
    <EditorContext.Provider value={context}>
      <div className="flex h-full min-h-0 flex-col gap-2" data-testid="pipeline-editor" data-ready="true">
        <Toolbar state={state} dispatch={dispatch} readOnly={readOnly} saving={saving} onSave={save} onFit={() => flow.fitView({ ...FIT, duration: 300 })} revision={meta.revision} config={config} hasSelection={hasSelection} />
        {conflict && (
          <div className="alert alert-warning" role="alert" data-testid="conflict">
            <Icon name="warning" className="size-5" />
            <span>{conflict} Your changes are still here, unsaved.</span>
            <button type="button" className="btn btn-sm" onClick={reload}>
              Reload their version
            </button>
          </div>
        )}
        <div className="flex min-h-0 flex-1 gap-2">
          {!readOnly && <Palette nodeTypes={catalog.node_types} onAdd={(type) => addNode(type)} />}
          <section
            ref={canvas}
            className="relative min-w-0 flex-1 overflow-hidden rounded-box border border-base-300 bg-base-100"
            aria-label="Pipeline canvas"
            onDragOver={(event) => {
              if (event.dataTransfer.types.includes(DRAG_TYPE)) {
                event.preventDefault();
                event.dataTransfer.dropEffect = "move";
              }
            }}
            onDrop={(event) => {
              const type = event.dataTransfer.getData(DRAG_TYPE);
              if (!type || readOnly) return;
              event.preventDefault();
              const position = flow.screenToFlowPosition({ x: event.clientX, y: event.clientY });
              addNode(type, { x: position.x - 120, y: position.y - 30 });
            }}
          >
            <Notice notice={state.notice} onClose={() => dispatch({ type: "notice", notice: null })} />
            <ReactFlow
              nodes={state.nodes}
              edges={edges}
              nodeTypes={NODE_TYPES}
              onNodesChange={(changes) => dispatch({ type: "nodesChange", changes })}
              onEdgesChange={(changes) => dispatch({ type: "edgesChange", changes })}
              onConnect={(connection) => dispatch({ type: "connect", connection })}
              onNodeDragStart={() => dispatch({ type: "dragStart" })}
              onNodeClick={() => setTab("node")}
              nodesDraggable={!readOnly}
              nodesConnectable={!readOnly}
              edgesReconnectable={false}
              deleteKeyCode={readOnly ? null : ["Delete", "Backspace"]}
              multiSelectionKeyCode={["Shift", "Meta", "Control"]}
              colorMode={colorMode}
              minZoom={0.2}
              maxZoom={2}
              defaultEdgeOptions={{ type: "smoothstep" }}
              proOptions={{ hideAttribution: true }}
              ariaLabelConfig={{ "node.a11yDescription.default": "Press Enter or Space to select this node. Arrow keys move it, Delete removes it. Connect it from the form on the right." }}
            >
              <FitWhenMeasured key={loads} />
              <Background gap={20} size={1} />
              <Controls showInteractive={false} showFitView={false} aria-label="Zoom" />
              <MiniMap pannable zoomable ariaLabel="Mini map of the pipeline" style={{ width: 160, height: 110 }} nodeStrokeWidth={3} />
            </ReactFlow>
          </section>
          <aside className="flex w-96 shrink-0 flex-col rounded-box border border-base-300 bg-base-100" aria-label="Details">
            <div role="tablist" className="tabs tabs-border px-2 pt-1">
              {tabs.map(([key, label]) => (
                <button key={key} type="button" role="tab" aria-selected={tab === key} aria-controls={`panel-${key}`} id={`tab-${key}`} className={`tab ${tab === key ? "tab-active" : "text-base-content/75"}`} onClick={() => setTab(key)} data-testid={`tab-${key}`}>
                  {label}
                </button>
              ))}
            </div>
            <div role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`} className="min-h-0 flex-1 overflow-y-auto p-3">
              {tab === "node" &&
                (current ? (
                  <>
                    <h2 className="mb-1 text-base font-semibold">{current.data.label || current.id}</h2>
                    <Inspector key={current.id} node={current} nodes={state.nodes} edges={state.edges} types={state.types} options={options} variables={catalog.variables} errors={errorsByNode.get(current.id)} dispatch={dispatch} readOnly={readOnly} />
                  </>
                ) : (
                  <div className="space-y-3 text-sm text-base-content/70">
                    <p>{selected.length > 1 ? `${selected.length} nodes selected.` : "Select a node to edit it."}</p>
                    {!readOnly && (
                      <ul className="list-disc space-y-1 pl-5 text-xs">
                        <li>Drag a node from the palette, or focus it and press Enter.</li>
                        <li>Connect an output (right) to an input (left), or use Connections in a node's form.</li>
                        <li>
                          Tab to a node, Enter selects it, arrow keys move it, Delete removes it. {MOD}+D duplicates, {MOD}+Z undoes, {MOD}+S saves.
                        </li>
                      </ul>
                    )}
                  </div>
                ))}
              {tab === "test" && (
                <TestPanel transport={transport} dirty={state.dirty} problems={meta.errors.length} onSave={save} onTrace={setTrace} onSelectNode={selectNode} canTest={config.can_edit && !config.version} />
              )}
              {tab === "problems" && <Problems errors={meta.errors} nodes={state.nodes} onSelect={selectNode} dirty={state.dirty} />}
            </div>
          </aside>
        </div>
      </div>
    </EditorContext.Provider>
  );
}

export default function EditorApp({ config }) {
  return (
    <ReactFlowProvider>
      <Editor config={config} />
    </ReactFlowProvider>
  );
}

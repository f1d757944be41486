// How a node looks on the canvas: icon, label, type, a one-line summary, its handles (one per route for
// routers), and badges for errors, the last test run and the diff.
import { Handle, Position, useUpdateNodeInternals } from "@xyflow/react";
import { memo, useContext, useEffect } from "react";

import { inputHandles, outputHandles } from "../state/graph.js";
import { EditorContext } from "./context.js";
import { Icon } from "./icons.jsx";

const ACCENT = {
  start: "bg-success/15 text-success",
  end: "bg-neutral/15 text-base-content",
  llm: "bg-primary/15 text-primary",
  llm_router: "bg-secondary/15 text-secondary",
  static_router: "bg-secondary/15 text-secondary",
  code: "bg-accent/15 text-accent",
};

function summary(data, options) {
  const params = data.params || {};
  if (params.llm_model) return params.llm_model;
  if (params.code) return "Python";
  if (params.template_string) return params.template_string.split("\n")[0];
  if (params.url) return `${params.method || "GET"} ${params.url}`;
  if (params.subject) return `“${params.subject}”`;
  if (params.route_key) return `${params.data_source}.${params.route_key}`;
  return options?.description || "";
}

function formatMs(ms) {
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}

function PipelineNode({ id, data, selected }) {
  const { types, errorsByNode, run, diff } = useContext(EditorContext);
  const entry = types.get(data.nodeType);
  const outputs = outputHandles(entry, data.params);
  const inputs = inputHandles(entry);
  const errors = errorsByNode.get(id) || [];
  const traced = run?.nodes.get(id);
  const failed = run?.errorNode === id;
  const status = diff?.get(id);
  const isRouter = entry?.outputs?.kind === "keywords";
  const updateInternals = useUpdateNodeInternals();
  const handleKey = outputs.map((handle) => handle.id).join(",");

  useEffect(() => {
    updateInternals(id);
  }, [id, handleKey, updateInternals]);

  const ring = failed
    ? "border-error ring-2 ring-error/40"
    : status === "added"
      ? "border-success ring-2 ring-success/40"
      : status === "removed"
        ? "border-error ring-2 ring-error/40 opacity-80"
        : status === "changed"
          ? "border-warning ring-2 ring-warning/40"
          : traced
            ? "border-success ring-2 ring-success/40"
            : errors.length
              ? "border-error/70"
              : selected
                ? "border-primary ring-2 ring-primary/30"
                : "border-base-300";
  const label = data.label || entry?.label || id;
  return (
    <div
      className={`pipeline-node w-60 rounded-box border bg-base-100 text-base-content shadow-sm transition-shadow ${ring} ${selected ? "shadow-md" : ""}`}
      data-testid={`node-${id}`}
      data-node-type={data.nodeType}
      data-ran={traced ? "true" : undefined}
    >
      {inputs.map((handle) => (
        <Handle
          key={handle.id}
          type="target"
          position={Position.Left}
          id={handle.id}
          className="pipeline-handle"
          data-testid={`handle-${id}-${handle.id}`}
        />
      ))}
      <div className="flex items-center gap-2 px-3 pt-2.5">
        <span className={`grid size-7 place-items-center rounded-field ${ACCENT[data.nodeType] || "bg-base-200 text-base-content"}`}>
          <Icon name={entry?.icon} />
        </span>
        <div className="min-w-0 flex-1">
          <div className="truncate text-sm font-semibold leading-tight">{label}</div>
          {label !== entry?.label && <div className="truncate text-xs text-base-content/60">{entry?.label || data.nodeType}</div>}
        </div>
        {errors.length > 0 && (
          <span className="badge badge-error badge-sm gap-1" title={errors.map((error) => error.message).join("\n")}>
            <Icon name="warning" className="size-3" />
            {errors.length}
            <span className="sr-only"> {errors.length === 1 ? "problem" : "problems"}</span>
          </span>
        )}
        {status && <span className={`badge badge-sm ${status === "added" ? "badge-success" : status === "removed" ? "badge-error" : "badge-warning"}`}>{status}</span>}
      </div>
      <div className="truncate px-3 pb-2.5 pt-1 text-xs text-base-content/70" title={summary(data, entry)}>
        {summary(data, entry) || "\u00a0"}
      </div>
      {traced && (
        <div className="flex items-center gap-1 border-t border-base-300 px-3 py-1 text-xs text-success" data-testid={`ran-${id}`}>
          <Icon name="clock" className="size-3" /> {formatMs(traced.duration_ms)}
          {traced.route_keyword && <span className="badge badge-success badge-xs ml-auto">{traced.route_keyword}</span>}
        </div>
      )}
      {isRouter ? (
        <ul className="border-t border-base-300 py-1" aria-label={`Routes of ${label}`}>
          {outputs.map((handle) => (
            <li key={handle.id} className="relative py-1 pl-3 pr-5 text-right text-xs font-medium">
              <span className="truncate">{handle.label}</span>
              <Handle
                type="source"
                position={Position.Right}
                id={handle.id}
                className="pipeline-handle"
                data-testid={`handle-${id}-${handle.id}`}
              />
            </li>
          ))}
          {outputs.length === 0 && <li className="px-3 py-1 text-xs text-warning">Add routes in the form</li>}
        </ul>
      ) : (
        outputs.map((handle) => (
          <Handle
            key={handle.id}
            type="source"
            position={Position.Right}
            id={handle.id}
            className="pipeline-handle"
            data-testid={`handle-${id}-${handle.id}`}
          />
        ))
      )}
    </div>
  );
}

export const NodeCard = memo(PipelineNode);
export { formatMs };

// The selected node's form (from its JSON Schema), its connections (the keyboard way to connect), and actions.
import { useMemo, useState } from "react";

import { inputHandles, outputHandles } from "../state/graph.js";
import { errorsByField, fieldsFor, isVisible } from "../state/schemaForm.js";
import { Field } from "./fields.jsx";
import { Icon } from "./icons.jsx";

function Connections({ node, nodes, edges, types, dispatch, readOnly }) {
  const entry = types.get(node.data.nodeType);
  const outputs = outputHandles(entry, node.data.params);
  const targets = nodes.filter((item) => item.id !== node.id && inputHandles(types.get(item.data.nodeType)).length);
  const [handle, setHandle] = useState(outputs[0]?.id || "");
  const [target, setTarget] = useState("");
  const name = (id) => {
    const item = nodes.find((candidate) => candidate.id === id);
    return item?.data.label || id;
  };
  const outgoing = edges.filter((edge) => edge.source === node.id);
  const incoming = edges.filter((edge) => edge.target === node.id);
  const handleLabel = (id) => outputs.find((item) => item.id === id)?.label;
  const chosenHandle = outputs.some((item) => item.id === handle) ? handle : outputs[0]?.id;
  return (
    <section className="space-y-2" aria-labelledby="connections-title">
      <h3 id="connections-title" className="text-xs font-semibold uppercase tracking-wide text-base-content/60">
        Connections
      </h3>
      <ul className="space-y-1 text-sm">
        {incoming.map((edge) => (
          <li key={edge.id} className="flex items-center gap-2">
            <span className="badge badge-ghost badge-sm">from</span>
            <span className="flex-1 truncate">{name(edge.source)}</span>
            {!readOnly && (
              <button type="button" className="btn btn-ghost btn-xs" onClick={() => dispatch({ type: "delete", nodeIds: [], edgeIds: [edge.id] })} aria-label={`Disconnect ${name(edge.source)} from ${name(node.id)}`}>
                <Icon name="x" className="size-3" />
              </button>
            )}
          </li>
        ))}
        {outgoing.map((edge) => (
          <li key={edge.id} className="flex items-center gap-2">
            <span className="badge badge-ghost badge-sm">to</span>
            <span className="flex-1 truncate">
              {handleLabel(edge.sourceHandle) ? <span className="font-medium">{handleLabel(edge.sourceHandle)} → </span> : null}
              {name(edge.target)}
            </span>
            {!readOnly && (
              <button type="button" className="btn btn-ghost btn-xs" onClick={() => dispatch({ type: "delete", nodeIds: [], edgeIds: [edge.id] })} aria-label={`Disconnect ${name(node.id)} from ${name(edge.target)}`}>
                <Icon name="x" className="size-3" />
              </button>
            )}
          </li>
        ))}
        {!incoming.length && !outgoing.length && <li className="text-base-content/60">Not connected yet.</li>}
      </ul>
      {!readOnly && outputs.length > 0 && (
        <form
          className="flex flex-wrap items-end gap-1"
          aria-label="Connect to another node"
          onSubmit={(event) => {
            event.preventDefault();
            if (!target) return;
            dispatch({
              type: "connect",
              connection: { source: node.id, sourceHandle: chosenHandle, target, targetHandle: "input" },
              announce: `Connected ${name(node.id)} to ${name(target)}.`,
            });
          }}
        >
          {outputs.length > 1 && (
            <select className="select select-xs w-28" value={chosenHandle} onChange={(event) => setHandle(event.target.value)} aria-label="From output">
              {outputs.map((item) => (
                <option key={item.id} value={item.id}>
                  {item.label || item.id}
                </option>
              ))}
            </select>
          )}
          <select className="select select-xs min-w-0 flex-1" value={target} onChange={(event) => setTarget(event.target.value)} aria-label="Connect to">
            <option value="">Connect to…</option>
            {targets.map((item) => (
              <option key={item.id} value={item.id}>
                {item.data.label || item.id}
              </option>
            ))}
          </select>
          <button type="submit" className="btn btn-xs" disabled={!target}>
            <Icon name="link" className="size-3" /> Connect
          </button>
        </form>
      )}
    </section>
  );
}

export function Inspector({ node, nodes, edges, types, options, variables, errors, dispatch, readOnly }) {
  const entry = types.get(node.data.nodeType);
  const fields = useMemo(() => fieldsFor(entry?.schema), [entry]);
  const byField = errorsByField(errors);
  const params = node.data.params || {};
  const locked = readOnly;
  const onParams = (patch, key) =>
    dispatch({ type: "updateNode", id: node.id, params: patch, coalesce: `${node.id}.${key || Object.keys(patch).join(",")}` });
  return (
    <div className="space-y-4" data-testid="inspector">
      <div>
        <p className="text-xs text-base-content/60">{entry?.description}</p>
      </div>
      <div>
        <label htmlFor={`label-${node.id}`} className="mb-1 block text-xs font-medium text-base-content/80">
          Name
        </label>
        <input
          id={`label-${node.id}`}
          className="input input-sm w-full"
          value={node.data.label}
          maxLength={200}
          readOnly={locked}
          onChange={(event) => dispatch({ type: "updateNode", id: node.id, label: event.target.value, coalesce: `${node.id}.label` })}
        />
        <p className="mt-1 text-xs text-base-content/70">
          Id <code>{node.id}</code> (shown in traces)
        </p>
      </div>
      {byField._node.length > 0 && (
        <div className="alert alert-error alert-soft px-3 py-2 text-sm" role="alert">
          <ul>
            {byField._node.map((message) => (
              <li key={message}>{message}</li>
            ))}
          </ul>
        </div>
      )}
      <fieldset className="space-y-3" disabled={locked} aria-label={`${entry?.label || "Node"} settings`}>
        {fields.length === 0 && <p className="text-sm text-base-content/60">This node has no settings.</p>}
        {fields
          .filter((field) => isVisible(field, params))
          .map((field) => (
            <Field
              key={field.name}
              nodeId={node.id}
              field={field}
              params={params}
              errors={[...(byField[field.name] || []), ...(field.widget === "llm_provider_model" ? byField.llm_model || [] : [])]}
              readOnly={locked}
              options={options}
              variables={variables}
              onParams={(patch) => onParams(patch, field.name)}
              onRemoveRoute={(index) => dispatch({ type: "removeRoute", id: node.id, index })}
            />
          ))}
      </fieldset>
      <div className="divider my-0" />
      <Connections node={node} nodes={nodes} edges={edges} types={types} dispatch={dispatch} readOnly={locked} />
      {!locked && (
        <div className="flex gap-2">
          {entry?.can_add !== false && (
            <button type="button" className="btn btn-sm" onClick={() => dispatch({ type: "duplicate", ids: [node.id] })}>
              <Icon name="copy" /> Duplicate
            </button>
          )}
          {entry?.can_delete !== false && (
            <button type="button" className="btn btn-sm" onClick={() => dispatch({ type: "delete", nodeIds: [node.id], edgeIds: [] })}>
              <Icon name="trash" /> Delete node
            </button>
          )}
        </div>
      )}
    </div>
  );
}

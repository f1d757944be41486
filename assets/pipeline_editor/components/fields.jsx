// One form control per widget, generated from the node type's JSON Schema (state/schemaForm.js).
import { lazy, Suspense, useId, useRef } from "react";

import { coerce } from "../state/schemaForm.js";
import { Icon } from "./icons.jsx";

const CodeField = lazy(() => import("./CodeField.jsx"));

function Help({ id, text, errors }) {
  return (
    <>
      {text && (
        <p id={`${id}-help`} className="mt-1 text-xs text-base-content/60">
          {text}
        </p>
      )}
      {errors?.map((message) => (
        <p key={message} className="mt-1 text-xs text-error" role="alert">
          {message}
        </p>
      ))}
    </>
  );
}

function describedBy(id, field) {
  return field.help ? `${id}-help` : undefined;
}

function VariableChips({ variables, onInsert, disabled, label }) {
  if (!variables?.length) return null;
  return (
    <div className="mt-1.5 flex flex-wrap gap-1" role="group" aria-label={`Insert a variable into ${label.toLowerCase()}`}>
      {variables.map((variable) => (
        <button
          key={variable.insert}
          type="button"
          className="badge badge-outline badge-sm cursor-pointer font-mono hover:badge-primary"
          title={`${variable.help} — inserts ${variable.insert}`}
          onClick={() => onInsert(variable.insert)}
          disabled={disabled}
        >
          {variable.label}
        </button>
      ))}
    </div>
  );
}

function TextWithVariables({ id, field, value, onChange, readOnly, variables, multiline, errors }) {
  const ref = useRef(null);
  const insert = (text) => {
    const element = ref.current;
    const current = value || "";
    const start = element?.selectionStart ?? current.length;
    const end = element?.selectionEnd ?? current.length;
    onChange(current.slice(0, start) + text + current.slice(end));
    requestAnimationFrame(() => {
      element?.focus();
      element?.setSelectionRange(start + text.length, start + text.length);
    });
  };
  const common = {
    id,
    ref,
    value: value ?? "",
    readOnly,
    "aria-describedby": describedBy(id, field),
    "aria-invalid": errors?.length ? true : undefined,
    onChange: (event) => onChange(event.target.value),
  };
  return (
    <>
      {multiline ? (
        <textarea {...common} rows={field.widget === "prompt_editor" ? 7 : 5} className={`textarea textarea-sm w-full font-mono text-[13px] leading-snug ${errors?.length ? "textarea-error" : ""}`} />
      ) : (
        <input {...common} type="text" className={`input input-sm w-full font-mono ${errors?.length ? "input-error" : ""}`} />
      )}
      <VariableChips variables={variables} onInsert={insert} disabled={readOnly} label={field.label} />
    </>
  );
}

function KeywordsField({ id, value, onChange, onRemove, readOnly, field, errors }) {
  const keywords = Array.isArray(value) ? value : [];
  const max = field.maxItems ?? 20;
  return (
    <div className="space-y-1.5" role="group" aria-labelledby={`${id}-label`}>
      {keywords.map((keyword, index) => (
        // biome-ignore lint: position is the route's identity (handles are output_<index>)
        <div key={index} className="join w-full">
          <span className="join-item grid w-8 place-items-center border border-base-300 bg-base-200 text-xs">{index + 1}</span>
          <input
            type="text"
            className="input input-sm join-item w-full"
            value={keyword}
            readOnly={readOnly}
            aria-label={`Route ${index + 1}`}
            maxLength={100}
            onChange={(event) => onChange(keywords.map((item, i) => (i === index ? event.target.value : item)))}
          />
          {!readOnly && (
            <button type="button" className="btn btn-sm join-item" onClick={() => onRemove(index)} aria-label={`Remove route ${keyword || index + 1}`} disabled={keywords.length <= 1}>
              <Icon name="x" />
            </button>
          )}
        </div>
      ))}
      {!readOnly && (
        <button
          type="button"
          className="btn btn-ghost btn-sm"
          onClick={() => onChange([...keywords, ""])}
          disabled={keywords.length >= max}
          data-testid={`${id}-add`}
        >
          <Icon name="plus" /> Add route
        </button>
      )}
      <Help id={id} text="Each route is an output on the node: connect it to what should run next." errors={errors} />
    </div>
  );
}

function ProviderModelField({ id, params, onParams, options, readOnly, errors }) {
  const providers = options?.llm_providers || [];
  const provider = providers.find((item) => item.id === params.llm_provider_id);
  const models = provider?.models || [];
  const knownModel = models.some((model) => model.name === params.llm_model);
  if (!providers.length) {
    return (
      <div className="alert alert-warning py-2 text-sm" role="status">
        No LLM provider yet. <a className="link" href="/providers/">Add one</a>, then come back.
      </div>
    );
  }
  return (
    <div className="grid gap-2">
      <select
        id={id}
        className={`select select-sm w-full ${errors?.length ? "select-error" : ""}`}
        value={params.llm_provider_id ?? ""}
        disabled={readOnly}
        onChange={(event) => {
          const next = providers.find((item) => String(item.id) === event.target.value);
          const model = next?.models.find((item) => item.is_default && !item.deprecated) || next?.models[0];
          onParams({ llm_provider_id: next ? next.id : undefined, llm_model: model?.name ?? "" });
        }}
      >
        <option value="">Choose a provider…</option>
        {providers.map((item) => (
          <option key={item.id} value={item.id}>
            {item.name}
          </option>
        ))}
      </select>
      <label className="text-xs font-medium text-base-content/70" htmlFor={`${id}-model`}>
        Model
      </label>
      {models.length ? (
        <select id={`${id}-model`} className="select select-sm w-full" value={knownModel ? params.llm_model : ""} disabled={readOnly || !provider} onChange={(event) => onParams({ llm_model: event.target.value })}>
          {!knownModel && <option value="">{params.llm_model ? `${params.llm_model} (not offered)` : "Choose a model…"}</option>}
          {models.map((model) => (
            <option key={model.name} value={model.name}>
              {model.label || model.name}
              {model.deprecated ? " (deprecated)" : ""}
            </option>
          ))}
        </select>
      ) : (
        <input id={`${id}-model`} className="input input-sm w-full" value={params.llm_model || ""} readOnly={readOnly} placeholder="Model name" onChange={(event) => onParams({ llm_model: event.target.value })} />
      )}
      <Help id={id} errors={errors} />
    </div>
  );
}

function KeyValueField({ id, value, onChange, readOnly, errors, keyLabel = "Name", valueLabel = "Value" }) {
  const entries = Object.entries(value && typeof value === "object" ? value : {});
  const set = (list) => onChange(Object.fromEntries(list));
  return (
    <div className="space-y-1.5" role="group" aria-labelledby={`${id}-label`}>
      {entries.map(([key, item], index) => (
        // biome-ignore lint: rows are positional while a key is being typed
        <div key={index} className="flex gap-1">
          <input className="input input-sm w-2/5" aria-label={`${keyLabel} ${index + 1}`} value={key} readOnly={readOnly} onChange={(event) => set(entries.map((entry, i) => (i === index ? [event.target.value, entry[1]] : entry)))} />
          <input className="input input-sm flex-1" aria-label={`${valueLabel} ${index + 1}`} value={typeof item === "string" ? item : JSON.stringify(item)} readOnly={readOnly} onChange={(event) => set(entries.map((entry, i) => (i === index ? [entry[0], event.target.value] : entry)))} />
          {!readOnly && (
            <button type="button" className="btn btn-ghost btn-sm btn-square" aria-label={`Remove ${key || `row ${index + 1}`}`} onClick={() => set(entries.filter((_, i) => i !== index))}>
              <Icon name="x" />
            </button>
          )}
        </div>
      ))}
      {!readOnly && (
        <button type="button" className="btn btn-ghost btn-sm" onClick={() => set([...entries, [`field_${entries.length + 1}`, ""]])}>
          <Icon name="plus" /> Add
        </button>
      )}
      <Help id={id} errors={errors} />
    </div>
  );
}

/** One field of a node's form. ``params`` is the whole params object (pickers set two keys at once). */
export function Field({ field, params, errors, readOnly, options, variables, onParams, onRemoveRoute, nodeId }) {
  const id = `field-${nodeId}-${field.name}`.replace(/[^A-Za-z0-9_-]/g, "_");
  const reactId = useId();
  const value = params[field.name] ?? field.default; // a missing param shows what the server will use
  const set = (raw) => {
    const next = coerce(field, raw);
    if (next !== undefined || field.widget === "number") onParams({ [field.name]: next });
  };
  const invalid = errors?.length ? true : undefined;
  const labelText = (
    <>
      {field.label}
      {field.required && <span className="text-error" aria-hidden="true"> *</span>}
    </>
  );
  const label = (
    <label id={`${id}-label`} htmlFor={id} className="mb-1 block text-xs font-medium text-base-content/80">
      {labelText}
    </label>
  );

  switch (field.widget) {
    case "toggle":
      return (
        <div>
          <label className="flex cursor-pointer items-center justify-between gap-3 py-1 text-sm">
            <span>{field.label}</span>
            <input id={id} type="checkbox" className="toggle toggle-primary toggle-sm" checked={Boolean(value)} disabled={readOnly} onChange={(event) => set(event.target.checked)} aria-describedby={describedBy(id, field)} />
          </label>
          <Help id={id} text={field.help} errors={errors} />
        </div>
      );
    case "select":
      return (
        <div>
          {label}
          <select id={id} className={`select select-sm w-full ${invalid ? "select-error" : ""}`} value={value ?? ""} disabled={readOnly} onChange={(event) => set(event.target.value)} aria-describedby={describedBy(id, field)} aria-invalid={invalid}>
            {(field.options || []).map((option) => (
              <option key={String(option.value)} value={option.value}>
                {option.label}
              </option>
            ))}
          </select>
          <Help id={id} text={field.help} errors={errors} />
        </div>
      );
    case "multiselect": {
      const chosen = Array.isArray(value) ? value : [];
      return (
        <fieldset>
          <legend className="mb-1 text-xs font-medium text-base-content/80">{field.label}</legend>
          {(field.options || []).map((option) => (
            <label key={option.value} className="flex cursor-pointer items-center gap-2 py-0.5 text-sm">
              <input
                type="checkbox"
                className="checkbox checkbox-sm"
                checked={chosen.includes(option.value)}
                disabled={readOnly}
                onChange={(event) => onParams({ [field.name]: event.target.checked ? [...chosen, option.value] : chosen.filter((item) => item !== option.value) })}
              />
              {option.label}
            </label>
          ))}
          <Help id={id} text={field.help} errors={errors} />
        </fieldset>
      );
    }
    case "number":
      return (
        <div>
          {label}
          <input id={id} type="number" inputMode="decimal" className={`input input-sm w-full ${invalid ? "input-error" : ""}`} value={value ?? ""} min={field.min ?? undefined} max={field.max ?? undefined} step={field.type === "integer" ? 1 : "any"} readOnly={readOnly} placeholder={field.nullable ? "Provider default" : undefined} onChange={(event) => set(event.target.value)} aria-describedby={describedBy(id, field)} aria-invalid={invalid} />
          <Help id={id} text={field.help} errors={errors} />
        </div>
      );
    case "llm_provider_model":
      return (
        <div>
          {label}
          <ProviderModelField id={id} params={params} onParams={onParams} options={options} readOnly={readOnly} errors={errors} />
        </div>
      );
    case "prompt_editor":
    case "template":
    case "template_line":
      return (
        <div>
          {label}
          <TextWithVariables id={id} field={field} value={value} onChange={set} readOnly={readOnly} errors={errors} multiline={field.widget !== "template_line"} variables={variables?.[field.widget === "prompt_editor" ? "prompt_editor" : "jinja_template"]} />
          <Help id={id} text={field.help} errors={errors} />
        </div>
      );
    case "code":
      return (
        <div>
          {label}
          <Suspense fallback={<div className="skeleton h-40 w-full" aria-label="Loading the code editor" />}>
            <CodeField key={nodeId} id={id} label={field.label} value={value} onChange={set} readOnly={readOnly} describedBy={describedBy(id, field)} />
          </Suspense>
          <Help id={id} text={field.help} errors={errors} />
        </div>
      );
    case "keywords":
      return (
        <div>
          <span id={`${id}-label`} className="mb-1 block text-xs font-medium text-base-content/80">
            {labelText}
          </span>
          <KeywordsField id={id} field={field} value={value} onChange={set} onRemove={onRemoveRoute} readOnly={readOnly} errors={errors} />
        </div>
      );
    case "keyword_index": {
      const keywords = Array.isArray(params.keywords) ? params.keywords : [];
      return (
        <div>
          {label}
          <select id={id} className="select select-sm w-full" value={value ?? 0} disabled={readOnly} onChange={(event) => onParams({ [field.name]: Number(event.target.value) })} aria-describedby={`${reactId}-h`}>
            {keywords.map((keyword, index) => (
              // biome-ignore lint: routes are positional
              <option key={index} value={index}>
                {keyword || `Route ${index + 1}`}
              </option>
            ))}
          </select>
          <p id={`${reactId}-h`} className="mt-1 text-xs text-base-content/60">
            Taken when the answer matches no route.
          </p>
          <Help id={id} errors={errors} />
        </div>
      );
    }
    case "key_value":
    case "json_schema_fields":
      return (
        <div>
          <span id={`${id}-label`} className="mb-1 block text-xs font-medium text-base-content/80">
            {labelText}
          </span>
          <KeyValueField id={id} value={value} onChange={(next) => onParams({ [field.name]: next })} readOnly={readOnly} errors={errors} keyLabel={field.widget === "json_schema_fields" ? "Field" : "Header"} valueLabel={field.widget === "json_schema_fields" ? "Description" : "Value"} />
          {field.help && <p className="mt-1 text-xs text-base-content/60">{field.help}</p>}
        </div>
      );
    case "textarea":
      return (
        <div>
          {label}
          <textarea id={id} rows={4} className={`textarea textarea-sm w-full ${invalid ? "textarea-error" : ""}`} value={value ?? ""} readOnly={readOnly} onChange={(event) => set(event.target.value)} aria-describedby={describedBy(id, field)} aria-invalid={invalid} />
          <Help id={id} text={field.help} errors={errors} />
        </div>
      );
    default:
      return (
        <div>
          {label}
          <input id={id} type="text" className={`input input-sm w-full ${invalid ? "input-error" : ""}`} value={typeof value === "string" || typeof value === "number" ? value : ""} maxLength={field.maxLength ?? undefined} readOnly={readOnly} onChange={(event) => set(event.target.value)} aria-describedby={describedBy(id, field)} aria-invalid={invalid} />
          <Help id={id} text={field.help} errors={errors} />
        </div>
      );
  }
}

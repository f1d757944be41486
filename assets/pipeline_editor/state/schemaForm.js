// From a node type's params JSON Schema (Pydantic's, with ``ui:*`` hints) to the fields of its form.
//
// Hints read: ui:label, ui:widget, ui:order, ui:help, ui:optionsSource, ui:visibleWhen ({field, equals |
// not_equals | in}), ui:enumLabels. Without a widget hint the JSON type decides: boolean → toggle, enum → select,
// integer/number → number, string → text (textarea when long), array of enum → multiselect.

const LONG_TEXT = 500; // strings allowed to be longer than this get a textarea

function nonNull(prop) {
  if (!Array.isArray(prop.anyOf)) return { schema: prop, nullable: false };
  const options = prop.anyOf.filter((option) => option.type !== "null");
  return { schema: { ...options[0], ...prop, anyOf: undefined }, nullable: options.length < prop.anyOf.length };
}

function enumOptions(values, labels) {
  return values.map((value) => ({ value, label: labels?.[value] ?? String(value) }));
}

export function widgetFor(prop) {
  const { schema } = nonNull(prop);
  const hint = prop["ui:widget"];
  if (hint) {
    if (hint === "history") return "select";
    if (hint === "jinja_template") return (schema.maxLength ?? Infinity) > 5000 ? "template" : "template_line";
    return hint;
  }
  if (schema.type === "boolean") return "toggle";
  if (Array.isArray(schema.enum)) return "select";
  if (schema.type === "integer" || schema.type === "number") return "number";
  if (schema.type === "array" && Array.isArray(schema.items?.enum)) return "multiselect";
  if (schema.type === "object") return "key_value";
  if (schema.type === "string") return (schema.maxLength ?? Infinity) > LONG_TEXT ? "textarea" : "text";
  return "json";
}

/** The form fields of a params schema, in ``ui:order`` (fields without an order last, in schema order). */
export function fieldsFor(schema) {
  const required = new Set(schema?.required || []);
  const entries = Object.entries(schema?.properties || {});
  const fields = entries.map(([name, prop], position) => {
    const { schema: inner, nullable } = nonNull(prop);
    const widget = widgetFor(prop);
    const labels = prop["ui:enumLabels"];
    let options = null;
    if (Array.isArray(inner.enum)) options = enumOptions(inner.enum, labels);
    else if (Array.isArray(inner.items?.enum)) options = enumOptions(inner.items.enum, labels);
    return {
      name,
      label: prop["ui:label"] || prop.title || name,
      widget,
      help: prop["ui:help"] || prop.description || "",
      order: prop["ui:order"] ?? 1000 + position,
      required: required.has(name),
      nullable,
      type: inner.type,
      options,
      optionsSource: prop["ui:optionsSource"] || null,
      visibleWhen: prop["ui:visibleWhen"] || null,
      min: inner.minimum ?? null,
      max: inner.maximum ?? null,
      maxLength: inner.maxLength ?? null,
      maxItems: inner.maxItems ?? null,
      pattern: inner.pattern ?? null,
      default: prop.default,
    };
  });
  return fields.filter((field) => field.widget !== "hidden").sort((a, b) => a.order - b.order);
}

/** Whether a field shows, given the node's current params (``ui:visibleWhen``). */
export function isVisible(field, params) {
  const rule = field.visibleWhen;
  if (!rule) return true;
  const value = params?.[rule.field];
  if ("equals" in rule) return value === rule.equals;
  if ("not_equals" in rule) return value !== rule.not_equals;
  if ("in" in rule) return Array.isArray(rule.in) && rule.in.includes(value);
  return true;
}

/** The params value for what the builder typed in a field: numbers parsed, blank optional numbers null. */
export function coerce(field, raw) {
  if (field.widget === "number") {
    if (raw === "" || raw === null || raw === undefined) return field.nullable ? null : undefined;
    const number = Number(raw);
    if (Number.isNaN(number)) return undefined;
    return field.type === "integer" ? Math.trunc(number) : number;
  }
  if (field.widget === "toggle") return Boolean(raw);
  if (field.widget === "select" && field.options) {
    const option = field.options.find((item) => String(item.value) === String(raw));
    return option ? option.value : raw;
  }
  return raw;
}

/** Starting values for fields that pick from the team's options: the first provider and its default model. */
export function prefillFor(schema, options) {
  const fields = Object.entries(schema?.properties || {});
  const picker = fields.find(([, prop]) => prop["ui:widget"] === "llm_provider_model");
  const provider = options?.llm_providers?.[0];
  if (!picker || !provider) return {};
  const model = provider.models.find((item) => item.is_default && !item.deprecated) || provider.models[0];
  return { [picker[0]]: provider.id, ...(model ? { llm_model: model.name } : {}) };
}

/** The server's errors for one node, by field (``field`` is a params path such as ``keywords.1``). */
export function errorsByField(errors) {
  const byField = { _node: [] };
  for (const error of errors || []) {
    const name = error.field ? String(error.field).split(".")[0] : "_node";
    (byField[name] ||= []).push(error.message);
  }
  return byField;
}

// A node-type catalog shaped like GET /pipelines/node-types/ (trimmed to what the editor reads).
import { typeIndex } from "../../../assets/pipeline_editor/state/graph.js";

const MODEL = {
  llm_provider_id: { type: "integer", minimum: 1, "ui:label": "Provider", "ui:widget": "llm_provider_model", "ui:optionsSource": "llm_providers", "ui:order": 0 },
  llm_model: { type: "string", minLength: 1, "ui:label": "Model", "ui:widget": "hidden" },
  prompt: { type: "string", default: "", maxLength: 50000, "ui:label": "Prompt", "ui:widget": "prompt_editor", "ui:order": 10 },
  temperature: { anyOf: [{ type: "number", minimum: 0, maximum: 2 }, { type: "null" }], default: null, "ui:label": "Temperature", "ui:order": 90 },
};

export const NODE_TYPES = [
  { type: "start", label: "Start", can_add: false, can_delete: false, inputs: [], outputs: { kind: "static", handles: ["output"] }, schema: { properties: {} }, defaults: {} },
  { type: "end", label: "End", can_add: false, can_delete: false, inputs: ["input"], outputs: { kind: "static", handles: [] }, schema: { properties: {} }, defaults: {} },
  {
    type: "llm", label: "LLM", can_add: true, can_delete: true, inputs: ["input"], outputs: { kind: "static", handles: ["output"] },
    schema: {
      required: ["llm_provider_id", "llm_model"],
      properties: {
        ...MODEL,
        history_type: { type: "string", enum: ["none", "global", "named"], default: "global", "ui:widget": "history", "ui:label": "History", "ui:order": 50, "ui:enumLabels": { none: "No history", global: "The conversation", named: "A named history" } },
        history_name: { type: "string", default: "", maxLength: 100, "ui:label": "History name", "ui:order": 51, "ui:visibleWhen": { field: "history_type", equals: "named" } },
        max_history_length: { type: "integer", default: 10, minimum: 0, "ui:order": 54, "ui:visibleWhen": { field: "history_type", in: ["global", "named"] } },
        tools: { type: "array", items: { type: "string", enum: ["end_session", "set_session_state"] }, "ui:widget": "multiselect", "ui:order": 60, "ui:enumLabels": { end_session: "End the session" } },
        tag: { type: "string", default: "", maxLength: 100, "ui:label": "Tag the reply with", "ui:order": 70 },
      },
    },
    defaults: { prompt: "", history_type: "global", history_name: "", max_history_length: 10, tools: [], tag: "", temperature: null },
  },
  {
    type: "llm_router", label: "LLM router", can_add: true, can_delete: true, is_router: true, inputs: ["input"],
    outputs: { kind: "keywords", param: "keywords", handle_prefix: "output_" },
    schema: {
      required: ["llm_provider_id", "llm_model", "keywords"],
      properties: {
        ...MODEL,
        keywords: { type: "array", items: { type: "string" }, minItems: 1, maxItems: 20, "ui:widget": "keywords", "ui:label": "Routes", "ui:order": 20 },
        default_keyword_index: { type: "integer", default: 0, minimum: 0, "ui:widget": "keyword_index", "ui:order": 21 },
        tag_output_message: { type: "boolean", default: false, "ui:widget": "toggle", "ui:order": 22 },
      },
    },
    defaults: { prompt: "", default_keyword_index: 0, tag_output_message: false, temperature: null },
  },
  { type: "code", label: "Python code", can_add: true, can_delete: true, inputs: ["input"], outputs: { kind: "static", handles: ["output"] }, schema: { properties: { code: { type: "string", maxLength: 50000, "ui:widget": "code" } } }, defaults: { code: "def main(input: str, **kwargs) -> str:\n    return input\n" } },
];

export const TYPES = typeIndex(NODE_TYPES);

export const OPTIONS = {
  llm_providers: [
    { id: 7, name: "OpenAI", type: "openai", models: [{ name: "old", deprecated: true, is_default: false }, { name: "gpt-x", deprecated: false, is_default: true }] },
  ],
};

export function graph(...middle) {
  const ids = ["start", ...middle.map((node) => node.id), "end"];
  return {
    nodes: [
      { id: "start", type: "start", label: "Start", params: {}, position: { x: 0, y: 0 } },
      ...middle,
      { id: "end", type: "end", label: "End", params: {}, position: { x: 900, y: 0 } },
    ],
    edges: ids.slice(1).map((target, index) => ({
      id: `e${index}`, source: ids[index], target, source_handle: "output", target_handle: "input",
    })),
  };
}

export function llmNode(id = "llm", params = {}) {
  return { id, type: "llm", label: "Answer", params: { llm_provider_id: 7, llm_model: "gpt-x", prompt: "Hi", ...params }, position: { x: 300, y: 0 } };
}

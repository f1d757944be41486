import { describe, expect, it } from "vitest";

import { coerce, errorsByField, fieldsFor, isVisible, prefillFor, widgetFor } from "../../../assets/pipeline_editor/state/schemaForm.js";
import { OPTIONS, TYPES } from "./fixtures.js";

const llmFields = () => fieldsFor(TYPES.get("llm").schema);

describe("schema to form", () => {
  it("orders fields by ui:order and hides hidden ones", () => {
    expect(llmFields().map((field) => field.name)).toEqual([
      "llm_provider_id", "prompt", "history_type", "history_name", "max_history_length", "tools", "tag", "temperature",
    ]);
  });

  it.each([
    [{ type: "boolean" }, "toggle"],
    [{ type: "string", enum: ["a", "b"] }, "select"],
    [{ type: "integer" }, "number"],
    [{ anyOf: [{ type: "number" }, { type: "null" }] }, "number"],
    [{ type: "string", maxLength: 100 }, "text"],
    [{ type: "string", maxLength: 5000 }, "textarea"],
    [{ type: "array", items: { enum: ["x"] } }, "multiselect"],
    [{ type: "object", additionalProperties: { type: "string" } }, "key_value"],
    [{ type: "string", "ui:widget": "code" }, "code"],
    [{ type: "string", "ui:widget": "history", enum: ["a"] }, "select"],
    [{ type: "string", maxLength: 2000, "ui:widget": "jinja_template" }, "template_line"],
    [{ type: "string", maxLength: 50000, "ui:widget": "jinja_template" }, "template"],
  ])("maps %o to the %s widget", (prop, widget) => {
    expect(widgetFor(prop)).toBe(widget);
  });

  it("labels select options from ui:enumLabels and carries hints", () => {
    const history = llmFields().find((field) => field.name === "history_type");
    const tools = llmFields().find((field) => field.name === "tools");
    const provider = llmFields().find((field) => field.name === "llm_provider_id");

    expect(history.options).toEqual([
      { value: "none", label: "No history" },
      { value: "global", label: "The conversation" },
      { value: "named", label: "A named history" },
    ]);
    expect(tools.options[0]).toEqual({ value: "end_session", label: "End the session" });
    expect(provider).toMatchObject({ widget: "llm_provider_model", optionsSource: "llm_providers", required: true });
  });

  it("shows fields by ui:visibleWhen", () => {
    const [name, length] = ["history_name", "max_history_length"].map((key) => llmFields().find((f) => f.name === key));

    expect(isVisible(name, { history_type: "named" })).toBe(true);
    expect(isVisible(name, { history_type: "global" })).toBe(false);
    expect(isVisible(length, { history_type: "global" })).toBe(true);
    expect(isVisible(length, { history_type: "none" })).toBe(false);
    expect(isVisible({ visibleWhen: { field: "method", not_equals: "GET" } }, { method: "POST" })).toBe(true);
  });

  it("coerces typed values: numbers parsed, blank optional numbers null", () => {
    const temperature = llmFields().find((field) => field.name === "temperature");
    const length = llmFields().find((field) => field.name === "max_history_length");

    expect(coerce(temperature, "0.5")).toBe(0.5);
    expect(coerce(temperature, "")).toBeNull();
    expect(coerce(length, "12.7")).toBe(12);
    expect(coerce(length, "")).toBeUndefined();
  });

  it("prefills the team's first provider with its default, non-deprecated model", () => {
    expect(prefillFor(TYPES.get("llm").schema, OPTIONS)).toEqual({ llm_provider_id: 7, llm_model: "gpt-x" });
    expect(prefillFor(TYPES.get("code").schema, OPTIONS)).toEqual({});
    expect(prefillFor(TYPES.get("llm").schema, { llm_providers: [] })).toEqual({});
  });

  it("groups server errors by their top-level field", () => {
    const errors = [
      { message: "Routes must be unique", field: "keywords.1" },
      { message: "Field required", field: "llm_provider_id" },
      { message: "Cannot be reached", field: null },
    ];

    expect(errorsByField(errors)).toEqual({
      _node: ["Cannot be reached"],
      keywords: ["Routes must be unique"],
      llm_provider_id: ["Field required"],
    });
  });
});

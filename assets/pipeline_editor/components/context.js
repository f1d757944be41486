import { createContext } from "react";

// What node cards read besides their own data: node types, server errors, the last test run, diff status.
export const EditorContext = createContext({
  types: new Map(),
  errorsByNode: new Map(),
  run: null, // {nodes: Map(node_id -> trace node), path: Set, errorNode}
  diff: null, // Map(node_id -> "added" | "removed" | "changed")
  readOnly: false,
});

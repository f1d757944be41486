// Slot for the pipeline editor (React + @xyflow/react). Mounted on an element with data-pipeline-editor.
// The editor itself is built in its own issue; this keeps the bundle, the build step and the mount point alive.
import { createRoot } from "react-dom/client";

export function mount(element) {
  const root = createRoot(element);
  root.render(<p className="opacity-70">The pipeline editor loads here.</p>);
  return root;
}

document.querySelectorAll("[data-pipeline-editor]").forEach((element) => mount(element));

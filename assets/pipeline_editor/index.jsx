// Entry of the pipeline editor, loaded only by the editor pages (templates/chatbots/pipeline_edit.html).
// It stays tiny: React, @xyflow/react and the editor (or the diff view) come as chunks on demand.
import { setCsrfToken } from "./api.js";

async function mount(element) {
  const config = JSON.parse(document.getElementById(element.dataset.config).textContent);
  setCsrfToken(element.dataset.csrf);
  const [{ createRoot }, { createElement }, view] = await Promise.all([
    import("react-dom/client"),
    import("react"),
    config.mode === "diff" ? import("./components/DiffView.jsx") : import("./components/Editor.jsx"),
  ]);
  createRoot(element).render(createElement(view.default, { config }));
}

document.querySelectorAll("[data-pipeline-editor]").forEach((element) => {
  mount(element).catch((error) => {
    element.innerHTML = "";
    const alert = document.createElement("div");
    alert.className = "alert alert-error";
    alert.setAttribute("role", "alert");
    alert.textContent = `The editor could not start (${error.message}). Reload the page to try again.`;
    element.appendChild(alert);
  });
});

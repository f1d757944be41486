// htmx + Alpine.js for server-rendered pages. Bundled by esbuild into static/build/app.js.
import htmx from "htmx.org";
import Alpine from "alpinejs";

window.htmx = htmx;
window.Alpine = Alpine;

Alpine.store("theme", {
  name: document.documentElement.getAttribute("data-theme") || "light",
  toggle() {
    this.name = this.name === "light" ? "dark" : "light";
    document.documentElement.setAttribute("data-theme", this.name);
    localStorage.setItem("theme", this.name);
  },
});

// Confirm destructive htmx actions with the browser's dialog unless a page provides its own modal.
document.addEventListener("htmx:confirm", (event) => {
  const question = event.detail.question;
  if (!question) return;
  event.preventDefault();
  if (window.confirm(question)) {
    event.detail.issueRequest(true);
  } else if (event.detail.elt instanceof HTMLSelectElement) {
    // A cancelled change on a <select> goes back to the value the server rendered.
    const selected = event.detail.elt.querySelector("option[selected]");
    if (selected) event.detail.elt.value = selected.value;
  }
});

// Show server errors from htmx requests as a toast instead of failing silently.
document.addEventListener("htmx:responseError", (event) => {
  const toasts = document.getElementById("toasts");
  if (!toasts) return;
  const div = document.createElement("div");
  div.className = "alert alert-error shadow-lg";
  div.setAttribute("role", "alert");
  div.textContent = `Request failed (${event.detail.xhr.status}). Please try again.`;
  toasts.appendChild(div);
  setTimeout(() => div.remove(), 8000);
});

Alpine.start();

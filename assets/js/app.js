// htmx + Alpine.js for server-rendered pages. Bundled by esbuild into static/build/app.js.
import htmx from "htmx.org";
import Alpine from "alpinejs";

window.htmx = htmx;
window.Alpine = Alpine;

// A 429 carries a message for the page (e.g. the public chat's "please wait"): swap it in like a success.
htmx.config.responseHandling = [
  { code: "204", swap: false },
  { code: "[23]..", swap: true },
  { code: "429", swap: true, error: false },
  { code: "[45]..", swap: false, error: true },
  { code: "...", swap: false },
];

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

// The chat composer (data-chat-composer): its send waits for the bot's answer, so the participant's message moves
// from the box into a bubble at once, with a typing indicator, and both are replaced by what the server sends back.
// If the send fails they are removed and the text goes back into the box.
document.addEventListener("htmx:beforeRequest", (event) => {
  const form = event.detail.elt;
  if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-chat-composer")) return;
  document.getElementById("empty-hint")?.remove();
  const box = form.elements.message;
  const text = box?.value.trim() ?? "";
  if (box) {
    form.dataset.sending = box.value; // the request already holds the form's values
    box.value = "";
  }
  const files = form.elements.files?.files?.length ?? 0;
  if (!text && !files) return; // nothing to show: the server answers with what is missing
  const mine = document.createElement("div");
  mine.className = "chat chat-end";
  mine.dataset.optimistic = "";
  const bubble = document.createElement("div");
  bubble.className = "chat-bubble chat-bubble-primary prose-chat max-w-[80%] whitespace-pre-line";
  bubble.textContent = text || `${files} file${files === 1 ? "" : "s"}`;
  mine.appendChild(bubble);
  const typing = document.createElement("div");
  typing.className = "chat chat-start";
  typing.dataset.optimistic = "";
  typing.innerHTML =
    '<div class="chat-bubble"><span class="loading loading-dots loading-sm" aria-label="The bot is typing"></span></div>';
  document.getElementById("messages")?.append(mine, typing);
});
document.addEventListener("htmx:afterRequest", (event) => {
  const form = event.detail.elt;
  if (!form.hasAttribute?.("data-chat-composer")) return;
  document.querySelectorAll("#messages [data-optimistic]").forEach((element) => element.remove());
  const failed = !event.detail.successful || event.detail.xhr.getResponseHeader("HX-Retarget");
  const box = form.elements.message;
  if (failed && box && !box.value) box.value = form.dataset.sending ?? "";
  delete form.dataset.sending;
});

Alpine.start();

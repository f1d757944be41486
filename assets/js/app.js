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

// The chat composer (data-chat-composer): the participant's message moves from the box into a bubble at once, with
// a typing indicator, and both are replaced by what the server sends back. Text typed while a send is in flight stays
// in the box (Enter queues it: htmx sends it when the current request ends). If the send fails, its text goes back
// into the box, before anything typed since.
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
  const sent = form.dataset.sending ?? "";
  if (failed && box && sent) box.value = box.value ? `${sent}\n${box.value}` : sent;
  else if (!failed && form.elements.files) form.elements.files.value = "";
  delete form.dataset.sending;
});

// A public link's first message starts its session: later sends go to the session's own address (also a send that
// was queued while the first was in flight: its path is fixed when it is issued). The form is not re-processed:
// htmx.process on a changed element forgets its queued request, and the message typed meanwhile would be lost.
function sessionSendPath(form) {
  const query = (form.getAttribute("hx-post") || "").split("?")[1] || "";
  const params = new URLSearchParams(query);
  params.delete("new");
  return `${form.dataset.sessionBase}send/?${params}`;
}
document.addEventListener("chat-session", (event) => {
  const form = document.querySelector("form[data-chat-composer]");
  if (form && event.detail?.base) form.dataset.sessionBase = event.detail.base;
});
document.addEventListener("htmx:configRequest", (event) => {
  const form = event.detail.elt;
  if (form instanceof HTMLFormElement && form.dataset.sessionBase && !event.detail.path.includes("/s/")) {
    event.detail.path = sessionSendPath(form);
  }
});

// Streaming replies (data-stream, ADR 0095): tokens from the stream server as they come, then the stored reply,
// sanitised, when it is done. A dropped connection reconnects and resumes (EventSource sends Last-Event-ID); if it
// cannot, or the stream ends without the reply, the bubble falls back to the long poll of the whole reply. Stop and
// leaving the page stop the generation.
const liveStreams = new Set();
window.addEventListener("pagehide", () => {
  liveStreams.forEach((url) => navigator.sendBeacon(`${url}cancel/`));
});

function scrollToEnd() {
  const box = document.getElementById("messages");
  if (box && box.scrollHeight - box.scrollTop - box.clientHeight < 120) box.scrollTop = box.scrollHeight;
}

function streamReply(element) {
  if (element.dataset.streaming || typeof EventSource === "undefined") {
    if (!element.dataset.streaming) pollReply(element);
    return;
  }
  element.dataset.streaming = "1";
  const url = element.dataset.stream;
  const text = element.querySelector("[data-stream-text]");
  const status = element.querySelector("[data-stream-status]");
  const bubble = element.querySelector(".chat-bubble");
  let finished = false;
  let failures = 0;
  const source = new EventSource(url);
  liveStreams.add(url);
  const end = () => {
    finished = true;
    source.close();
    liveStreams.delete(url);
  };
  const fallback = () => {
    if (finished) return;
    end();
    pollReply(element);
  };
  source.addEventListener("token", (event) => {
    failures = 0;
    element.querySelector("[data-stream-typing]")?.remove();
    if (status) status.textContent = "";
    text.textContent += JSON.parse(event.data).d;
    scrollToEnd();
  });
  source.addEventListener("status", (event) => {
    const data = JSON.parse(event.data);
    if (status) status.textContent = data.s === "running" ? "" : data.detail || "Waiting…";
  });
  source.addEventListener("reset", () => {
    text.textContent = "";
  });
  source.addEventListener("timeout", fallback);
  source.addEventListener("done", (event) => {
    const data = JSON.parse(event.data);
    end();
    if (element.hasAttribute("data-debug") || typeof data.html !== "string") {
      pollReply(element); // the app's reply also carries the turn's trace
      return;
    }
    bubble.innerHTML = data.html; // rendered by the server's markdown sanitiser
    bubble.removeAttribute("aria-busy");
    if (data.ok === false) bubble.classList.add("chat-bubble-error");
    bubble.dataset.testid = "bubble-assistant";
    element.id = `message-${data.id}`;
    element.dataset.role = "assistant";
    element.removeAttribute("data-stream");
    element.removeAttribute("data-testid");
    element.querySelector(".chat-footer")?.remove();
    scrollToEnd();
  });
  source.onerror = () => {
    if (finished) return;
    failures += 1;
    if (source.readyState === EventSource.CLOSED || failures > 3) fallback();
  };
  element.querySelector("[data-stream-stop]")?.addEventListener("click", (event) => {
    event.currentTarget.disabled = true;
    fetch(`${url}cancel/`, { method: "POST", mode: "cors" }).catch(() => {});
  });
}

function pollReply(element) {
  htmx.ajax("GET", `${element.dataset.replyUrl}?wait=20`, { target: element, swap: "outerHTML" });
}

htmx.onLoad((root) => {
  const found = root.matches?.("[data-stream]") ? [root] : [...(root.querySelectorAll?.("[data-stream]") ?? [])];
  found.forEach(streamReply);
});

Alpine.start();

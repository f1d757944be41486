// <chat-studio-widget>: our embeddable chat (issue 11 point 3). One <script> and one element on any site:
//
//   <script src="https://acme.example.com/static/build/chat-widget.js" defer></script>
//   <chat-studio-widget api-base-url="https://acme.example.com" chatbot-id="<public id>" embed-key="<key>">
//   </chat-studio-widget>
//
// It speaks the Open Chat Studio widget's chat API (start, message, task poll, upload: real-clients §1) and streams
// replies from the stream URL the message call returns (ADR 0095): tokens as plain text while they come, then the
// reply as the server's sanitised HTML. The session and transcript stay in localStorage across page loads.
// Accessibility (WCAG 2.1 AA): a labelled launcher with aria-expanded, a labelled dialog that takes focus and closes on
// Escape, a log region announcing replies, labelled controls, visible focus, contrast ≥ 4.5:1.

const STYLE = `
:host{--csw-accent:#1d4ed8;--csw-text:#111827;--csw-muted:#4b5563;--csw-bg:#fff;--csw-bot:#f3f4f6;position:fixed;
bottom:20px;right:20px;z-index:2147483000;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--csw-text)}
:host([position=left]){right:auto;left:20px}
*{box-sizing:border-box}
button{font:inherit;cursor:pointer}
:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}
.launcher{background:var(--csw-accent);color:#fff;border:0;border-radius:999px;padding:12px 20px;box-shadow:0 4px 14px #0003}
.panel{position:absolute;bottom:60px;right:0;width:min(380px,calc(100vw - 40px));height:min(560px,calc(100vh - 100px));
background:var(--csw-bg);border-radius:14px;box-shadow:0 10px 40px #0004;display:flex;flex-direction:column;overflow:hidden}
:host([position=left]) .panel{right:auto;left:0}
.panel[hidden]{display:none}
header{display:flex;align-items:center;gap:8px;padding:12px 14px;background:var(--csw-accent);color:#fff}
header h2{flex:1;margin:0;font-size:16px}
header button{background:transparent;color:#fff;border:0;padding:4px 8px;border-radius:6px}
.log{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:8px}
.msg{max-width:85%;padding:8px 12px;border-radius:12px;word-wrap:break-word}
.user{align-self:flex-end;background:var(--csw-accent);color:#fff;white-space:pre-wrap}
.assistant{align-self:flex-start;background:var(--csw-bot)}
.assistant p{margin:0 0 .5em}.assistant p:last-child{margin:0}
.assistant a{color:#1e40af}
.assistant pre{overflow-x:auto;background:#e5e7eb;padding:6px;border-radius:6px}
.streaming{white-space:pre-wrap}
.error{align-self:center;background:#fee2e2;color:#7f1d1d;font-size:14px}
.status{min-height:1.2em;padding:0 14px;color:var(--csw-muted);font-size:13px}
form{display:flex;gap:8px;padding:10px;border-top:1px solid #e5e7eb;align-items:flex-end}
textarea{flex:1;resize:none;font:inherit;padding:8px;border:1px solid #6b7280;border-radius:8px;color:var(--csw-text);background:#fff}
.send{background:var(--csw-accent);color:#fff;border:0;border-radius:8px;padding:8px 14px}
.send:disabled{background:#6b7280}
.attach{background:transparent;border:1px solid #6b7280;border-radius:8px;padding:8px 10px;color:var(--csw-text)}
.files{padding:0 12px;font-size:13px;color:var(--csw-muted)}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
`;

const MAX_POLLS = 30;
let counter = 0;

function el(tag, attrs = {}, text = "") {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  if (text) node.textContent = text;
  return node;
}

class ChatStudioWidget extends HTMLElement {
  connectedCallback() {
    if (this.shadowRoot) return;
    const id = `csw${(counter += 1)}`;
    this.key = this.getAttribute("chatbot-id") || "";
    this.base = (this.getAttribute("api-base-url") || "").replace(/\/$/, "");
    this.store = `chat-studio-widget:${this.base}:${this.key}`;
    this.state = this.load();
    const root = this.attachShadow({ mode: "open" });
    root.append(el("style", {}, STYLE));
    const title = this.getAttribute("header-text") || "Chat";
    this.launcher = el("button", { class: "launcher", type: "button", "aria-expanded": "false", "aria-controls": `${id}-panel` },
      this.getAttribute("button-text") || "Chat with us");
    this.panel = el("section", { class: "panel", id: `${id}-panel`, role: "dialog", "aria-labelledby": `${id}-title`, hidden: "" });
    const header = el("header");
    header.append(el("h2", { id: `${id}-title` }, title));
    const fresh = el("button", { type: "button", "aria-label": "Start a new conversation" }, "New");
    const close = el("button", { type: "button", "aria-label": "Close chat" }, "✕");
    header.append(fresh, close);
    this.log = el("div", { class: "log", role: "log", "aria-live": "polite", "aria-label": "Conversation", tabindex: "0" });
    this.status = el("div", { class: "status", role: "status" });
    this.form = el("form");
    const label = el("label", { for: `${id}-text`, class: "sr" }, "Message");
    this.text = el("textarea", { id: `${id}-text`, rows: "2", maxlength: "20000", placeholder: "Type a message…" });
    this.sendButton = el("button", { class: "send", type: "submit" }, "Send");
    this.form.append(label, this.text);
    this.fileNames = el("div", { class: "files", "aria-live": "polite" });
    if (this.hasAttribute("allow-attachments")) {
      this.fileInput = el("input", { type: "file", multiple: "", id: `${id}-file`, class: "sr", tabindex: "-1" });
      const attach = el("button", { class: "attach", type: "button", "aria-label": "Attach files" }, "📎");
      attach.addEventListener("click", () => this.fileInput.click());
      this.fileInput.addEventListener("change", () => {
        this.fileNames.textContent = [...this.fileInput.files].map((file) => file.name).join(", ");
      });
      this.form.append(this.fileInput, attach);
    }
    this.form.append(this.sendButton);
    this.panel.append(header, this.log, this.status, this.fileNames, this.form);
    root.append(this.panel, this.launcher);

    this.launcher.addEventListener("click", () => this.toggle());
    close.addEventListener("click", () => this.toggle(false));
    fresh.addEventListener("click", () => this.reset());
    this.panel.addEventListener("keydown", (event) => {
      if (event.key === "Escape") this.toggle(false);
    });
    this.text.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        this.form.requestSubmit();
      }
    });
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
    this.state.messages.forEach((message) => this.render(message));
    if (this.state.pending) this.follow(this.state.pending);
    if (this.getAttribute("visible") === "true") this.toggle(true);
  }

  // -- state ----------------------------------------------------------------------------------------------------
  load() {
    try {
      const saved = JSON.parse(localStorage.getItem(this.store) || "null");
      if (saved && Array.isArray(saved.messages)) return saved;
    } catch {
      /* a broken entry starts over */
    }
    return { session: null, token: null, messages: [], pending: null };
  }
  save() {
    try {
      this.state.messages = this.state.messages.slice(-100);
      localStorage.setItem(this.store, JSON.stringify(this.state));
    } catch {
      /* storage full or blocked: the conversation still works on this page */
    }
  }
  participant() {
    let id = localStorage.getItem("chat-studio-widget:user");
    if (!id) {
      id = `csw:${Date.now()}_${Math.random().toString(36).slice(2, 11)}`;
      localStorage.setItem("chat-studio-widget:user", id);
    }
    return this.getAttribute("user-id") || id;
  }
  reset() {
    this.state = { session: null, token: null, messages: [], pending: null };
    this.save();
    this.log.replaceChildren();
    this.text.focus();
  }

  // -- view -----------------------------------------------------------------------------------------------------
  toggle(open = this.panel.hidden) {
    this.panel.hidden = !open;
    this.launcher.setAttribute("aria-expanded", String(open));
    if (open) {
      this.text.focus();
      this.log.scrollTop = this.log.scrollHeight;
    } else {
      this.launcher.focus();
    }
  }
  render(message) {
    const bubble = el("div", { class: `msg ${message.role}` });
    if (message.role === "assistant" && message.html != null) bubble.innerHTML = message.html; // sanitised server-side
    else bubble.textContent = message.text;
    if (message.role === "assistant") bubble.setAttribute("aria-label", "Reply");
    this.log.append(bubble);
    this.log.scrollTop = this.log.scrollHeight;
    return bubble;
  }
  add(message) {
    this.state.messages.push(message);
    this.save();
    return this.render(message);
  }
  busy(text) {
    this.status.textContent = text;
    this.sendButton.disabled = Boolean(text) && text !== "";
  }

  // -- API ------------------------------------------------------------------------------------------------------
  async call(path, { method = "GET", body, form } = {}) {
    const headers = { "x-ocs-widget-version": "chat-studio-1" };
    const key = this.getAttribute("embed-key");
    if (key) headers["X-Embed-Key"] = key;
    if (this.state.token) headers["X-Session-Token"] = this.state.token;
    if (body) headers["Content-Type"] = "application/json";
    const response = await fetch(`${this.base}/api/chat/${path}`, {
      method,
      headers,
      body: form || (body ? JSON.stringify(body) : undefined),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.message || data.error || `The chat is unavailable (${response.status}).`);
    return data;
  }
  async start() {
    const data = await this.call("start/", {
      method: "POST",
      body: {
        chatbot_id: this.key,
        session_data: { source: "widget", page_url: location.href },
        participant_remote_id: this.participant(),
        ...(this.getAttribute("user-name") ? { participant_name: this.getAttribute("user-name") } : {}),
      },
    });
    this.state.session = data.session_id;
    this.state.token = data.session_token || null;
    this.save();
  }
  async submit() {
    const text = this.text.value.trim();
    const files = this.fileInput ? [...this.fileInput.files] : [];
    if ((!text && !files.length) || this.sendButton.disabled) return;
    this.busy("Sending…");
    try {
      if (!this.state.session) await this.start();
      let ids = [];
      if (files.length) {
        const form = new FormData();
        files.forEach((file) => form.append("files", file));
        form.append("participant_remote_id", this.participant());
        ids = (await this.call(`${this.state.session}/upload/`, { method: "POST", form })).files.map((file) => file.id);
      }
      const sent = await this.call(`${this.state.session}/message/`, {
        method: "POST",
        body: { message: text || "(files)", ...(ids.length ? { attachment_ids: ids } : {}) },
      });
      this.text.value = "";
      if (this.fileInput) this.fileInput.value = "";
      this.fileNames.textContent = "";
      this.add({ role: "user", text: text || files.map((file) => file.name).join(", ") });
      this.state.pending = { task: sent.task_id, stream: sent.stream_url || null };
      this.save();
      await this.follow(this.state.pending);
    } catch (problem) {
      this.busy("");
      this.render({ role: "error", text: problem.message });
      if (/session|ended|403/i.test(problem.message)) this.state.session = null;
    }
  }

  // The reply: streamed when the server gave a stream URL, else (or when the stream fails) the task poll.
  async follow(pending) {
    this.busy("Typing…");
    const bubble = this.render({ role: "assistant", text: "" });
    bubble.classList.add("streaming");
    bubble.setAttribute("aria-busy", "true");
    let reply = pending.stream ? await this.stream(pending.stream, bubble) : null;
    if (!reply) reply = await this.poll(pending.task);
    bubble.remove();
    this.state.pending = null;
    this.busy("");
    if (reply) this.add({ role: "assistant", html: reply.html, text: reply.text });
    else this.render({ role: "error", text: "No reply came. Please try again." });
  }
  stream(url, bubble) {
    return new Promise((resolve) => {
      let errors = 0;
      const source = new EventSource(url);
      const finish = (value) => {
        source.close();
        resolve(value);
      };
      source.addEventListener("token", (event) => {
        errors = 0;
        this.status.textContent = "";
        bubble.textContent += JSON.parse(event.data).d;
        this.log.scrollTop = this.log.scrollHeight;
      });
      source.addEventListener("reset", () => {
        bubble.textContent = "";
      });
      source.addEventListener("status", (event) => {
        const data = JSON.parse(event.data);
        this.status.textContent = data.s === "running" ? "Typing…" : data.detail || "Waiting…";
      });
      source.addEventListener("done", (event) => {
        const data = JSON.parse(event.data);
        finish(typeof data.html === "string" ? { html: data.html } : null);
      });
      source.addEventListener("timeout", () => finish(null));
      source.onerror = () => {
        errors += 1;
        if (source.readyState === 2 || errors > 3) finish(null);
      };
    });
  }
  async poll(task) {
    for (let polls = 0; polls < MAX_POLLS; polls += 1) {
      try {
        const data = await this.call(`${this.state.session}/${task}/poll/?wait=20`);
        if (data.status === "complete" && data.message) return { text: data.message.content };
      } catch {
        return null;
      }
    }
    return null;
  }
}

if (!customElements.get("chat-studio-widget")) customElements.define("chat-studio-widget", ChatStudioWidget);

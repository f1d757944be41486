import { describe, expect, it } from "vitest";

import { createTestTransport } from "../../../assets/pipeline_editor/testTransport.js";

// A stand-in for the browser's EventSource: the test emits the stream server's events by hand.
class FakeStream {
  constructor(url) {
    this.url = url;
    this.listeners = {};
    this.readyState = 1;
    this.closed = false;
    FakeStream.last = this;
  }
  addEventListener(type, listener) {
    (this.listeners[type] ??= []).push(listener);
  }
  emit(type, data = {}) {
    (this.listeners[type] ?? []).forEach((listener) => listener({ data: JSON.stringify(data) }));
  }
  fail(closed) {
    if (closed) this.readyState = 2;
    this.onerror?.();
  }
  close() {
    this.closed = true;
    this.readyState = 2;
  }
}

const openStream = (url) => new FakeStream(url);
const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

function scripted(answers) {
  const calls = [];
  const fetchJson = async (url, options = {}) => {
    calls.push({ url, ...options });
    return answers.shift();
  };
  return { calls, fetchJson };
}

async function collect(iterator) {
  const events = [];
  for await (const event of iterator) events.push(event);
  return events;
}

describe("test panel transport", () => {
  it("yields done with the reply and trace when the send answers at once", async () => {
    const { calls, fetchJson } = scripted([
      { status: "complete", session_id: "s1", reply: { content: "Hi" }, trace: { node_path: ["start", "end"] } },
    ]);
    const transport = createTestTransport({ sendUrl: "/send/", fetchJson, openStream: null });

    const events = await collect(transport.send("hello"));

    expect(events).toEqual([{ type: "done", reply: { content: "Hi" }, trace: { node_path: ["start", "end"] } }]);
    expect(calls[0]).toMatchObject({ url: "/send/", method: "POST", body: { message: "hello", session_id: null } });
    expect(transport.sessionId).toBe("s1");
  });

  it("long-polls the reply URL while the turn is pending, and keeps the session", async () => {
    const { calls, fetchJson } = scripted([
      { status: "pending", session_id: "s1", reply_url: "/r/1/" },
      { status: "pending", session_id: "s1", reply_url: "/r/1/" },
      { status: "complete", session_id: "s1", reply: { content: "Late" }, trace: null },
      { status: "complete", session_id: "s1", reply: { content: "Again" }, trace: null },
    ]);
    const transport = createTestTransport({ sendUrl: "/send/", fetchJson, openStream: null });

    const first = await collect(transport.send("one"));
    await collect(transport.send("two"));

    expect(first.at(-1).reply.content).toBe("Late");
    expect(calls.map((call) => call.url)).toEqual(["/send/", "/r/1/?wait=20", "/r/1/?wait=20", "/send/"]);
    expect(calls[3].body.session_id).toBe("s1");
  });

  it("starts a new conversation after reset", async () => {
    const { calls, fetchJson } = scripted([
      { status: "complete", session_id: "s1", reply: {}, trace: null },
      { status: "complete", session_id: "s2", reply: {}, trace: null },
    ]);
    const transport = createTestTransport({ sendUrl: "/send/", fetchJson, openStream: null });

    await collect(transport.send("one"));
    transport.reset();
    await collect(transport.send("two"));

    expect(calls[1].body.session_id).toBeNull();
  });

  it("asks for a stream, yields its tokens, then the stored reply and trace", async () => {
    const { calls, fetchJson } = scripted([
      { status: "pending", session_id: "s1", reply_url: "/r/1/", stream_url: "http://h:8001/stream/turn/t/" },
      { status: "complete", session_id: "s1", reply: { content: "Hello world" }, trace: { id: 3 } },
    ]);
    const transport = createTestTransport({ sendUrl: "/send/", fetchJson, openStream });
    const events = [];
    const done = (async () => {
      for await (const event of transport.send("hi")) events.push(event);
    })();
    await tick();
    const stream = FakeStream.last;
    stream.emit("status", { s: "running", detail: "" });
    stream.emit("token", { d: "Hello" });
    stream.emit("reset");
    stream.emit("token", { d: "Hello" });
    stream.emit("token", { d: " world" });
    stream.emit("done", { id: 9, ok: true, html: "<p>Hello world</p>" });
    await done;

    expect(calls[0].body).toMatchObject({ message: "hi", stream: true });
    expect(stream.url).toBe("http://h:8001/stream/turn/t/");
    expect(events).toEqual([
      { type: "status", s: "running", detail: "" },
      { type: "token", text: "Hello" },
      { type: "reset" },
      { type: "token", text: "Hello" },
      { type: "token", text: " world" },
      { type: "done", reply: { content: "Hello world" }, trace: { id: 3 } },
    ]);
    expect(calls.map((call) => call.url)).toEqual(["/send/", "/r/1/?wait=20"]);
    expect(stream.closed).toBe(true);
  });

  it("falls back to the long poll when the stream cannot be read", async () => {
    const { calls, fetchJson } = scripted([
      { status: "pending", session_id: "s1", reply_url: "/r/1/", stream_url: "/stream/turn/t/" },
      { status: "pending", session_id: "s1", reply_url: "/r/1/" },
      { status: "complete", session_id: "s1", reply: { content: "Whole" }, trace: null },
    ]);
    const transport = createTestTransport({ sendUrl: "/send/", fetchJson, openStream });
    const events = [];
    const done = (async () => {
      for await (const event of transport.send("hi")) events.push(event);
    })();
    await tick();
    FakeStream.last.emit("token", { d: "Wh" });
    FakeStream.last.fail(true); // e.g. a 503 from a busy stream server: the browser does not reconnect
    await done;

    expect(events.map((event) => event.type)).toEqual(["token", "done"]);
    expect(events.at(-1).reply.content).toBe("Whole");
    expect(calls.map((call) => call.url)).toEqual(["/send/", "/r/1/?wait=20", "/r/1/?wait=20"]);
  });

  it("keeps the long poll when the browser has no EventSource", async () => {
    const { calls, fetchJson } = scripted([{ status: "complete", session_id: "s1", reply: { content: "Hi" }, trace: null }]);
    const transport = createTestTransport({ sendUrl: "/send/", fetchJson, openStream: null });

    await collect(transport.send("hello"));

    expect(calls[0].body.stream).toBeUndefined();
  });
});

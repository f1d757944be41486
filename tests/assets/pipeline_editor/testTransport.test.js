import { describe, expect, it } from "vitest";

import { createTestTransport } from "../../../assets/pipeline_editor/testTransport.js";

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
    const transport = createTestTransport({ sendUrl: "/send/", fetchJson });

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
    const transport = createTestTransport({ sendUrl: "/send/", fetchJson });

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
    const transport = createTestTransport({ sendUrl: "/send/", fetchJson });

    await collect(transport.send("one"));
    transport.reset();
    await collect(transport.send("two"));

    expect(calls[1].body.session_id).toBeNull();
  });
});

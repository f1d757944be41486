// How the test panel talks to the server: ``send(message)`` yields events until the turn is done.
//
//   {type: "token", text}               a piece of the reply as it streams in
//   {type: "reset"}                     the text streamed so far is void (the turn runs again)
//   {type: "status", s, detail}         queued / running / waiting (a rate-limited provider)
//   {type: "done", reply, trace}        the stored reply and the turn's trace
//
// The send asks for a stream (ADR 0095): it answers at once with ``stream_url`` (Server-Sent Events from the stream
// server), whose tokens are yielded as they come; at the stream's end the stored reply and its trace are read from
// ``reply_url``. Without a stream (no EventSource, streaming off, the stream fails) the reply is long-polled.

import { request } from "./api.js";

const SEND_WAIT_SECONDS = 20;
const POLL_WAIT_SECONDS = 20;
const MAX_POLLS = 30; // ~10 minutes of long polls: a turn has a hard time limit well below that
const MAX_STREAM_ERRORS = 3; // reconnects (which resume by Last-Event-ID) before falling back to the long poll

const browserStream = typeof EventSource === "undefined" ? null : (url) => new EventSource(url);

export function createTestTransport({ sendUrl, fetchJson = request, openStream = browserStream }) {
  let sessionId = null;
  return {
    get sessionId() {
      return sessionId;
    },
    reset() {
      sessionId = null;
    },
    async *send(message, { signal } = {}) {
      const body = { message, session_id: sessionId, wait: SEND_WAIT_SECONDS };
      if (openStream) body.stream = true;
      let turn = await fetchJson(sendUrl, { method: "POST", body, signal });
      sessionId = turn.session_id;
      if (turn.status !== "complete" && turn.stream_url && openStream) {
        for await (const event of streamEvents(openStream(turn.stream_url), signal)) {
          if (event.type === "done" || event.type === "end") break;
          yield event;
        }
        turn = await fetchJson(`${turn.reply_url}?wait=${POLL_WAIT_SECONDS}`, { signal });
      }
      for (let polls = 0; turn.status !== "complete"; polls += 1) {
        if (polls >= MAX_POLLS) throw new Error("No reply came: the worker may be down. Try again later.");
        turn = await fetchJson(`${turn.reply_url}?wait=${POLL_WAIT_SECONDS}`, { signal });
      }
      yield { type: "done", reply: turn.reply, trace: turn.trace };
    },
  };
}

// An EventSource (or anything with addEventListener/close/readyState/onerror) as an async iterator of events,
// ending with "done" (the reply is stored) or "end" (the stream gave up: timeout, errors, abort).
export function streamEvents(source, signal) {
  const queue = [];
  let wake = null;
  let errors = 0;
  const push = (event) => {
    queue.push(event);
    if (wake) wake();
  };
  source.addEventListener("token", (event) => {
    errors = 0;
    push({ type: "token", text: JSON.parse(event.data).d });
  });
  source.addEventListener("reset", () => push({ type: "reset" }));
  source.addEventListener("status", (event) => push({ type: "status", ...JSON.parse(event.data) }));
  source.addEventListener("done", () => push({ type: "done" }));
  source.addEventListener("timeout", () => push({ type: "end" }));
  source.onerror = () => {
    errors += 1;
    if (source.readyState === 2 || errors > MAX_STREAM_ERRORS) push({ type: "end" });
  };
  signal?.addEventListener("abort", () => push({ type: "end" }));
  return (async function* events() {
    try {
      for (;;) {
        while (queue.length) {
          const event = queue.shift();
          yield event;
          if (event.type === "done" || event.type === "end") return;
        }
        await new Promise((resolve) => {
          wake = resolve;
        });
        wake = null;
      }
    } finally {
      source.close();
    }
  })();
}

// How the test panel talks to the server: ``send(message)`` yields events until the turn is done.
//
//   {type: "token", text}               a piece of the reply as it streams in (not sent by this transport yet)
//   {type: "done", reply, trace}        the stored reply and the turn's trace
//
// Today the send waits for the reply (long poll) and, for a slow turn, polls ``reply_url``. When replies stream
// over Server-Sent Events, only this module changes: subscribe, yield "token" events, then "done".

import { request } from "./api.js";

const SEND_WAIT_SECONDS = 20;
const POLL_WAIT_SECONDS = 20;
const MAX_POLLS = 30; // ~10 minutes of long polls: a turn has a hard time limit well below that

export function createTestTransport({ sendUrl, fetchJson = request }) {
  let sessionId = null;
  return {
    get sessionId() {
      return sessionId;
    },
    reset() {
      sessionId = null;
    },
    async *send(message, { signal } = {}) {
      let turn = await fetchJson(sendUrl, {
        method: "POST",
        body: { message, session_id: sessionId, wait: SEND_WAIT_SECONDS },
        signal,
      });
      sessionId = turn.session_id;
      for (let polls = 0; turn.status !== "complete"; polls += 1) {
        if (polls >= MAX_POLLS) throw new Error("No reply came: the worker may be down. Try again later.");
        turn = await fetchJson(`${turn.reply_url}?wait=${POLL_WAIT_SECONDS}`, { signal });
      }
      yield { type: "done", reply: turn.reply, trace: turn.trace };
    },
  };
}

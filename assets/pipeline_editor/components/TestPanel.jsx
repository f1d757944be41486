// Send a message through the saved working copy and watch the reply come in; the trace lights up the canvas.
import { useEffect, useRef, useState } from "react";

import { formatMs } from "./NodeCard.jsx";
import { Icon } from "./icons.jsx";

function TraceNodes({ trace, onSelectNode }) {
  return (
    <ol className="mt-2 space-y-1" aria-label="Nodes this message went through" data-testid="trace-nodes">
      {trace.nodes.map((node, index) => (
        <li key={`${node.node_id}-${index}`}>
          <details className={`rounded-field border ${node.error ? "border-error/50" : "border-base-300"} bg-base-100`}>
            <summary className="flex cursor-pointer items-center gap-2 px-2 py-1 text-xs">
              <span className="font-medium">{node.label || node.node_id}</span>
              {node.route_keyword && <span className="badge badge-secondary badge-xs">{node.route_keyword}</span>}
              {node.error && <span className="badge badge-error badge-xs">failed</span>}
              <span className="ml-auto tabular-nums text-base-content/60">{formatMs(node.duration_ms)}</span>
            </summary>
            <div className="space-y-1 border-t border-base-300 px-2 py-1.5 text-xs">
              <div>
                <span className="font-semibold">Input</span>
                <pre className="mt-0.5 max-h-32 overflow-auto whitespace-pre-wrap break-words rounded bg-base-200 p-1.5">{node.input || "—"}</pre>
              </div>
              <div>
                <span className="font-semibold">Output</span>
                <pre className="mt-0.5 max-h-32 overflow-auto whitespace-pre-wrap break-words rounded bg-base-200 p-1.5">{node.error ? node.error.message : node.output ?? "—"}</pre>
              </div>
              {node.model && <div className="text-base-content/60">Model {node.model}</div>}
              <button type="button" className="link text-xs" onClick={() => onSelectNode(node.node_id)}>
                Show on the canvas
              </button>
            </div>
          </details>
        </li>
      ))}
    </ol>
  );
}

export function TestPanel({ transport, dirty, problems, onSave, onTrace, onSelectNode, canTest }) {
  const [turns, setTurns] = useState([]);
  const [text, setText] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const end = useRef(null);

  useEffect(() => {
    end.current?.scrollIntoView({ block: "nearest" });
  }, [turns]);

  const send = async (event) => {
    event.preventDefault();
    const message = text.trim();
    if (!message || busy) return;
    setError(null);
    const saved = dirty ? await onSave() : problems === 0;
    if (!saved) {
      setError("The test runs the saved working copy: save it and fix its problems first (see Problems).");
      return;
    }
    setBusy(true);
    setText("");
    setTurns((list) => [...list, { message, reply: "", trace: null, pending: true }]);
    const update = (patch) => setTurns((list) => list.map((turn, i) => (i === list.length - 1 ? { ...turn, ...patch } : turn)));
    try {
      for await (const item of transport.send(message)) {
        if (item.type === "token") {
          setTurns((list) => list.map((turn, i) => (i === list.length - 1 ? { ...turn, reply: turn.reply + item.text } : turn)));
        } else if (item.type === "reset") {
          update({ reply: "" });
        } else if (item.type === "done") {
          update({ reply: item.reply?.content ?? "", failed: item.reply?.error, trace: item.trace, pending: false });
          onTrace(item.trace);
        }
      }
    } catch (problem) {
      update({ pending: false, failed: true, reply: "" });
      setError(problem.message);
    } finally {
      setBusy(false);
    }
  };

  if (!canTest) {
    return <p className="text-sm text-base-content/70">Testing needs the editor role on a chatbot that is not archived.</p>;
  }

  return (
    <div className="flex h-full min-h-0 flex-col gap-2" data-testid="test-panel">
      <div className="flex items-center justify-between">
        <p className="text-xs text-base-content/60">Runs the saved working copy{dirty ? " (your changes are saved first)" : ""}.</p>
        <button
          type="button"
          className="btn btn-ghost btn-xs"
          onClick={() => {
            transport.reset();
            setTurns([]);
            onTrace(null);
          }}
          disabled={busy || !turns.length}
        >
          New conversation
        </button>
      </div>
      <div className="min-h-0 flex-1 space-y-3 overflow-y-auto" aria-live="polite" aria-busy={busy}>
        {turns.length === 0 && <p className="py-6 text-center text-sm text-base-content/60">Send a message to see which way it goes.</p>}
        {turns.map((turn, index) => (
          // biome-ignore lint: turns only grow
          <div key={index} className="space-y-1.5">
            <div className="chat chat-end">
              <div className="chat-bubble chat-bubble-primary text-sm">{turn.message}</div>
            </div>
            <div className="chat chat-start">
              <div className={`chat-bubble text-sm ${turn.failed ? "chat-bubble-error" : ""}`} data-testid="test-reply">
                {turn.pending && !turn.reply ? <span className="loading loading-dots loading-sm" aria-label="Waiting for the reply" /> : turn.reply}
              </div>
            </div>
            {turn.trace && (
              <div className="rounded-box bg-base-200 p-2" data-testid="test-trace">
                <div className="flex items-center gap-2 text-xs">
                  <span className={`badge badge-sm ${turn.trace.status === "success" ? "badge-success" : "badge-error"}`}>{turn.trace.status}</span>
                  <span className="tabular-nums">{formatMs(turn.trace.duration_ms)}</span>
                  <a className="link ml-auto" href={turn.trace.url} target="_blank" rel="noreferrer">
                    Full trace
                  </a>
                </div>
                {turn.trace.error && <p className="mt-1 text-xs text-error">{turn.trace.error}</p>}
                <TraceNodes trace={turn.trace} onSelectNode={onSelectNode} />
              </div>
            )}
          </div>
        ))}
        <div ref={end} />
      </div>
      {error && (
        <div className="alert alert-error alert-soft px-3 py-2 text-sm" role="alert">
          {error}
        </div>
      )}
      <form className="join w-full" onSubmit={send}>
        <label htmlFor="test-message" className="sr-only">
          Test message
        </label>
        <input id="test-message" className="input input-sm join-item w-full" placeholder="Type a message…" value={text} onChange={(event) => setText(event.target.value)} maxLength={20000} autoComplete="off" />
        <button type="submit" className="btn btn-primary btn-sm join-item" disabled={busy || !text.trim()}>
          <Icon name="send" /> Send
        </button>
      </form>
    </div>
  );
}

"""Sessions, inbound messages and turns: every channel goes through these (ARCHITECTURE §4, ADR 0003).

The path of one turn:
1. ``ingress`` takes the participant's message from any channel: it resolves or starts the session, stores the
   message with its files in one transaction (idempotent on the platform's message id) and, once that commits,
   enqueues ``turn_process_task`` on the ``chat`` queue.
2. ``turns.turn_process`` (in the worker) claims the message with one conditional UPDATE, runs the pipeline outside
   any transaction, then writes the reply, the trace, the message's turn status and the session's activity as one
   statement. Participant data, histories and tags join that statement in a transaction only when the turn
   changed them. The reply is one-to-one with the message, so a redelivered task can never add a second reply.
3. The reply is then handed to its channel (``delivery.deliver``): published for waiting pages, sent by the
   platform's sender.

Every statement of that path is in ``turn_sql`` (ADR 0040). ``services`` holds participants, session lifecycle and
review; ``selectors`` the reads; ``views`` the pages by audience (in-app chat, public link, review).
"""

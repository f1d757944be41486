"""Pages on the team host, one module per audience. Adapters only: parse, call one service or selector, render.

- ``member_chat``: team members chat in the app with the working copy or any version, and see each turn's trace.
- ``public_link``: anyone with the link of a chatbot marked public chats with its published version.
- ``review``: sessions list, transcript with tags/comments/traces, traces, files, CSV export.
- ``chat``: what both chat audiences share (the page, the send, the reply long poll, file downloads).
"""

"""Channels: where a chatbot meets its participants (embedded widget, custom API; platforms next). A channel
verifies and parses what comes in, hands it to ``conversations.ingress``, and sends replies out through its sender
(``senders``). See docs/adr/0100-channels.md."""

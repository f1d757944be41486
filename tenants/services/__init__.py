"""Writes to teams, domains, memberships, invitations and exports, one module per concern. Views, commands and
tasks call these; nothing else writes.

- ``teams``: create, rename, status, deletion request, setup retry
- ``members``: role changes, removal, leaving
- ``invitations``: invite, resend, revoke, accept
- ``exports``: ask for an archive of the team's data
- ``guards``: the role checks and the team-row lock they share

Services enqueue tasks (after commit); the work the tasks do lives in ``tenants.lifecycle`` (build and drop a
team's schema) and ``tenants.exports`` (write an archive), which never enqueue, so services and tasks never
import each other in a loop.
"""

"""Storage: the partner directory, invitations with their audit trail, and the decision log.

Modules, one purpose each:

- `db`: engines, sessions and Alembic migrations (`upgrade`, `current_revision`).
- `models`: the SQLAlchemy tables.
- `lifecycle`: invitation states and allowed transitions (pure data, no I/O).
- `directory`: importing and querying partner organizations.
- `invitations`: creating and moving invitations, with an audit event for every change.
- `access`: who sees which invitation and who may act on it.
- `export`: invitations with their audit trail as CSV or JSON.
- `decisions`: the decision log.

(`mcbot db|partners|invitations ...` are in bot/cli/store.py.)

Transactions belong to the caller: service functions take a `Session`, flush, and never
commit, so one Slack action (record the decision, create the invitation, remember its message)
is one transaction: `with session_factory.begin() as session: ...`.
"""

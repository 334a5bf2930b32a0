"""Notifications delivered exactly once: Partner Center events in a durable inbox, Slack side
effects in a durable outbox, a worker that claims both under a lease (docs/webhooks.md).

- `queue`: the tables' operations (insert once, record outcomes); `claims`: claiming;
- `inbox`: from a webhook event to the right invitation (matching, transition);
- `notify`: the Slack side effects of an invitation's change, as outbox rows;
- `sender`: one outbox row against the Slack Web API, errors classified;
- `worker`: the asyncio task that drains both tables (`recorder`: outcomes in batches;
  `locks`: one SQLite writer at a time, first come first served);
- `actions`: linking an unmatched acceptance, requesting delegated admin (GDAP);
- `options`: settings as data.

Elsewhere: `mcbot outbox` and `mcbot webhook register` in bot/cli/outbox.py; the wiring for
`mcbot serve` in bot/bootstrap/notify.py; the test kit in bot/testkit/notify.py.
"""

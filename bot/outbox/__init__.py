"""Notifications delivered exactly once: Partner Center events in a durable inbox, Slack side
effects in a durable outbox, a worker that claims both under a lease (docs/webhooks.md).

- `queue`: the tables' operations (insert once, record outcomes); `claims`: claiming;
- `inbox`: from a webhook event to the right invitation (matching, transition);
- `notify`: the Slack side effects of an invitation's change, as outbox rows;
- `sender`: one outbox row against the Slack Web API, errors classified;
- `worker`: the asyncio task that drains both tables (`recorder`: outcomes in batches;
  `locks`: one SQLite writer at a time, first come first served);
- `actions`: linking an unmatched acceptance, requesting delegated admin (GDAP);
- `cli`: `mcbot outbox`, `mcbot webhook register`;
- `setup`: wiring for `mcbot serve`; `options`: settings as data; `testkit`: for tests and
  bench/notify.py.
"""

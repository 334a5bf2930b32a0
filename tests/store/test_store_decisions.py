"""bot.core.store.decisions: every decision is logged and can be listed per user."""

from __future__ import annotations

from datetime import timedelta

from bot.core.store.decisions import get_decision, recent_decisions, record_decision
from bot.core.store.testing import Database, FakeClock


def test_record_and_list_recent(partners: Database, clock: FakeClock) -> None:
    fabrikam = partners.orgs["fabrikam"]
    facts = {"role": "indirect_reseller", "subscriptions": [{"source": "ea", "kind": "usage"}]}
    with partners.factory.begin() as session:
        for number in range(4):
            clock.advance(timedelta(minutes=1))
            record_decision(
                session, decision_id=f"dec-{number}", user_id="U0RESUSER",
                team_id="T0RESELLER", org_id=fabrikam.id, customer_name="Litware",
                policy_edition="2017-03", outcome="not_supported", facts=facts,
                steps=["azure_no_migration", "create_new_subscription"], clock=clock,
            )  # fmt: skip
        record_decision(
            session, decision_id="dec-other", user_id="U0SOMEONE", team_id="T0PROVIDER",
            policy_edition="2017-03", outcome="supported", facts={}, steps=[], clock=clock,
        )  # fmt: skip
    with partners.factory() as session:
        recent = recent_decisions(session, "U0RESUSER", limit=3)
        assert [record.decision_id for record in recent] == ["dec-3", "dec-2", "dec-1"]
        stored = get_decision(session, "dec-0")
        assert stored is not None
        assert stored.facts == facts
        assert stored.steps == ["azure_no_migration", "create_new_subscription"]
        assert stored.at == clock.now - timedelta(minutes=3)
        assert (stored.org_id, stored.customer_name) == (fabrikam.id, "Litware")
        assert get_decision(session, "dec-missing") is None


def test_record_many_in_one_batch(partners: Database, clock: FakeClock) -> None:
    """The bot's batched decision log (bot/core/services.py): one executemany, same rows as one by
    one, on SQLite and PostgreSQL."""
    from bot.core.store.decisions import record_decisions

    fabrikam = partners.orgs["fabrikam"]
    facts = {"role": "direct", "subscriptions": [{"source": "open", "kind": "usage"}]}
    rows = [
        {
            "decision_id": f"batch-{n:03d}",
            "at": clock.now + timedelta(seconds=n),
            "user_id": "U0BATCH01",
            "team_id": "T0RESELLER",
            "org_id": fabrikam.id,
            "customer_name": None if n % 2 else "Ñandú <Bank>",
            "policy_edition": "2017-03",
            "outcome": "supported",
            "facts": facts,
            "steps": ["check_azure_service_availability"],
        }
        for n in range(120)
    ]
    with partners.factory.begin() as session:
        record_decisions(session, rows)
        record_decisions(session, [])
    with partners.factory() as session:
        recent = recent_decisions(session, "U0BATCH01", limit=200)
        assert [r.decision_id for r in recent] == [f"batch-{n:03d}" for n in reversed(range(120))]
        newest = recent[0]
        assert newest.at == clock.now + timedelta(seconds=119)
        assert (newest.facts, newest.org_id) == (facts, fabrikam.id)
        assert recent[1].customer_name == "Ñandú <Bank>"

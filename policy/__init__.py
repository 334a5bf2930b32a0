"""Multichannel policy: decides Microsoft CSP multichannel support cases. Pure: no Slack, no I/O.

>>> from policy import Facts, Subscription, evaluate
>>> d = evaluate(Facts(role="direct", subscriptions=[Subscription(source="ea", kind="license")]))
>>> d.outcome, d.step_codes()
(<Outcome.supported: 'supported'>, ['request_relationship', 'send_invitation_to_customer'])
"""

from policy.codes import INVITATION_STEPS, NOTE_CODES, STEP_CODES
from policy.decision import Citation, Decision, Note, Outcome, Step, SubscriptionDecision
from policy.edition import (
    DEFAULT_EDITION,
    Edition,
    EditionError,
    Rule,
    available_editions,
    get_edition,
    parse_edition,
)
from policy.engine import decide, evaluate
from policy.facts import Cloud, Facts, Kind, Role, Source, Subscription

__all__ = [
    "DEFAULT_EDITION",
    "INVITATION_STEPS",
    "NOTE_CODES",
    "STEP_CODES",
    "Citation",
    "Cloud",
    "Decision",
    "Edition",
    "EditionError",
    "Facts",
    "Kind",
    "Note",
    "Outcome",
    "Role",
    "Rule",
    "Source",
    "Step",
    "Subscription",
    "SubscriptionDecision",
    "available_editions",
    "decide",
    "evaluate",
    "get_edition",
    "parse_edition",
]

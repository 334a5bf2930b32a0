"""Multichannel policy: decides Microsoft CSP multichannel support cases. Pure: no Slack, no I/O.

>>> from policy import Facts, Subscription, evaluate
>>> d = evaluate(Facts(role="direct", subscriptions=[Subscription(source="ea", kind="license")]))
>>> d.outcome, d.step_codes()
(<Outcome.supported: 'supported'>, ['request_relationship', 'send_invitation_to_customer'])
"""

from policy.codes import INVITATION_STEPS, NOTE_CODES, STEP_CODES, TREATMENTS
from policy.decision import Citation, Decision, Link, Note, Outcome, Step, SubscriptionDecision
from policy.edition import (
    CURRENT,
    DEFAULT_EDITION,
    Edition,
    EditionError,
    Rule,
    available_editions,
    edition_names,
    get_edition,
    parse_edition,
    resolve_edition,
)
from policy.engine import decide, evaluate
from policy.facts import MAX_SUBSCRIPTIONS, Cloud, Commerce, Facts, Kind, Role, Source, Subscription

__all__ = [
    "CURRENT",
    "DEFAULT_EDITION",
    "INVITATION_STEPS",
    "MAX_SUBSCRIPTIONS",
    "NOTE_CODES",
    "STEP_CODES",
    "TREATMENTS",
    "Citation",
    "Cloud",
    "Commerce",
    "Decision",
    "Edition",
    "EditionError",
    "Facts",
    "Kind",
    "Link",
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
    "edition_names",
    "evaluate",
    "get_edition",
    "parse_edition",
    "resolve_edition",
]

"""policy/ is pure: importing and using it loads nothing from bot/, Slack, HTTP or databases."""

from __future__ import annotations

import subprocess
import sys


def test_policy_imports_nothing_impure() -> None:
    code = (
        "import sys, policy, policy.links\n"
        "from policy import Facts, Subscription, evaluate\n"
        "evaluate(Facts(role='direct', subscriptions=[Subscription(source='ea', kind='usage')]))\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "{'bot', 'slack_sdk', 'slack_bolt', 'httpx', 'aiohttp', 'sqlalchemy', 'requests', "
        "'jinja2', 'starlette'}]\n"
        "print(','.join(sorted(bad)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""

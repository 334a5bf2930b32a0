"""Multichannel: the Slack bot (bot/slack, bot/http), its core (bot/core) and wiring."""

import sys

# `import httpx` imports httpx's command-line client (httpx._main) when it can: that imports
# click and pygments (~0.15 s of start-up, pygments' lexer table alone ~0.13 s) and then fails
# on rich, which is not installed (pygments comes with pytest, click with uvicorn). The bot never
# runs that client: marked absent, `import httpx` skips it (httpx's own fallback when it is not
# importable). docs/architecture.md, "Start-up".
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

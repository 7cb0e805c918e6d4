"""How a git command authenticates to GitHub: for that one command, never in a file.

The token travels as an ``http.extraheader`` in ``GIT_CONFIG_*`` environment variables
(git 2.31+). It is never part of a URL or the command line, so it does not show in
process listings or git's messages, and it is never written to ``.git/config``, where
every later step of the job could read it.
"""

from __future__ import annotations

import base64


def token_environment(token: str) -> dict[str, str]:
    """Environment variables that make one git command send ``token`` over HTTPS."""
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return {
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "http.extraheader",
        "GIT_CONFIG_VALUE_0": f"AUTHORIZATION: basic {basic}",
    }

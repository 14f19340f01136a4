"""Every masking policy in one place, each named for what it hides.

Messages, logs, platform events and alerts must never carry a secret, yet they must still say
*which* database, camera or webhook is meant. Each policy keeps as much as is safe:

* `redact_dsn`: a database address (URL or libpq key=value) keeps user, host and database,
  loses its password.
* `redact_stream_url`: a camera URL keeps everything but its userinfo password and the query
  parameters cameras use for credentials (Dahua, Axis VAPIX, tokens).
* `redact_webhook_url`: a webhook keeps scheme and host only, because its path and query
  usually *are* the secret (Slack, Teams, Discord).

All three work on text that is not a valid URL too: a malformed address is exactly what ends up
in an error message.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

MASK = "***"

# libpq takes the password in the URL userinfo, as a `password=` query parameter, or as a
# `password=` keyword (quoted or not, spaces allowed around `=`) in a key=value DSN.
_DSN_PASSWORD = re.compile(r"((?:^|[?&\s])password\s*=\s*)('(?:[^'\\]|\\.)*'|[^&\s]*)", re.IGNORECASE)
# user:password@ in the authority; greedy up to the last '@' so an unencoded '@' in a password is covered.
_USERINFO_PASSWORD = re.compile(r"(://[^:/?#@]*):[^/?#]*@")
_SECRET_QUERY_PARAM = re.compile(
    r"([?&;](?:password|passwd|pass|pwd|token|access_token|auth|key|api_key|secret|signature)=)[^&#;]*",
    re.IGNORECASE,
)


def redact_dsn(dsn: str) -> str:
    """A database DSN (URL or key=value) with its password replaced by `***`."""
    return _USERINFO_PASSWORD.sub(rf"\1:{MASK}@", _DSN_PASSWORD.sub(rf"\1{MASK}", dsn))


def redact_stream_url(url: str | int) -> str:
    """A camera URL (or webcam index) with its password and secret query parameters replaced by `***`."""
    return _SECRET_QUERY_PARAM.sub(rf"\1{MASK}", _USERINFO_PASSWORD.sub(rf"\1:{MASK}@", str(url)))


def redact_webhook_url(url: str) -> str:
    """Scheme and host only: a webhook's path and query usually carry its secret token."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:  # e.g. an invalid port or IPv6 literal
        return MASK
    return f"{parts.scheme}://{host}/{MASK}" if parts.scheme else MASK

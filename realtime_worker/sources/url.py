"""What a camera URL means: which kind of source, and how to name it without its secrets."""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from urllib.parse import unquote, urlsplit

from camcount.errors import ConfigError
from camcount.redact import redact_stream_url


class SourceKind(StrEnum):
    FILE = "file"
    RTSP = "rtsp"
    HTTP = "http"  # MJPEG (multipart/x-mixed-replace) or anything else FFmpeg reads over HTTP
    WEBCAM = "webcam"


TRANSPORTS = ("tcp", "udp")

@dataclass(frozen=True, slots=True)
class Source:
    """A parsed camera URL: what `open_capture` opens."""

    kind: SourceKind
    target: str | int  # file path, full URL (credentials included) or webcam index
    transport: str | None = None  # RTSP only: "tcp" or "udp"

    @property
    def live(self) -> bool:
        """Live sources drop old frames, timestamp by wall clock and reconnect; files do none of that."""
        return self.kind is not SourceKind.FILE

    @property
    def url(self) -> str:
        """The source as a config file writes it (credentials included: never log it; use `masked`)."""
        return f"webcam:{self.target}" if self.kind is SourceKind.WEBCAM else str(self.target)

    @property
    def masked(self) -> str:
        return redact_stream_url(self.target)

    @property
    def label(self) -> str:
        """How messages name this source, e.g. `rtsp source rtsp://admin:***@10.0.0.7/stream1`."""
        return f"{self.kind} source {self.masked}"


def parse_source(url: str | int, transport: str | None = None, relative_to: Path | None = None) -> Source:
    """Classify a camera URL: a path or file:// URL, rtsp(s)://, http(s)://, or a webcam index / `webcam:N`.

    `transport` (tcp|udp) applies to RTSP only; TCP is the default because it survives NAT,
    firewalls and packet loss, which UDP turns into smeared frames. A relative file path is
    taken relative to `relative_to` (a config file's directory) when given, else to the cwd.
    """
    if transport is not None and transport not in TRANSPORTS:
        raise ConfigError(f"source {redact_stream_url(url)}: transport must be one of {TRANSPORTS}, not {transport!r}")
    if isinstance(url, int):
        return _checked(Source(SourceKind.WEBCAM, url), transport)
    text = url.strip()
    if text.isdigit():
        return _checked(Source(SourceKind.WEBCAM, int(text)), transport)
    if text.lower().startswith("webcam:"):
        index = text.split(":", 1)[1]
        if not index.isdigit():
            raise ConfigError(f"source {text!r}: expected webcam:<device index>, e.g. webcam:0")
        return _checked(Source(SourceKind.WEBCAM, int(index)), transport)
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    if scheme in ("rtsp", "rtsps"):
        return Source(SourceKind.RTSP, text, transport or "tcp")
    if scheme in ("http", "https"):
        return _checked(Source(SourceKind.HTTP, text), transport)
    if scheme == "file":
        return _checked(Source(SourceKind.FILE, unquote(urlsplit(text).path)), transport)
    if scheme:
        raise ConfigError(
            f"source {redact_stream_url(text)}: unsupported scheme {scheme}://"
            " (use a file path, file://, rtsp://, http(s):// or webcam:N)"
        )
    path = os.path.normpath(relative_to / text) if relative_to is not None else text
    return _checked(Source(SourceKind.FILE, path), transport)


def _checked(source: Source, transport: str | None) -> Source:
    if transport is not None:
        raise ConfigError(f"source {source.masked}: transport applies to rtsp:// sources only")
    return source

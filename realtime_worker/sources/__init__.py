"""The sources stage: camera URLs in, timestamped `Frame`s out, one capture thread per camera.

    cam = CaptureThread("cam1", "rtsp://user:pw@10.0.0.7/stream1", on_event=record).start()
    while not cam.finished:
        frame = cam.get(timeout=1.0)   # None on timeout
        ...
    if cam.error:
        raise cam.error

See `capture.py` for the buffering and recovery rules and `open.py` for the OpenCV quirks.
"""

from realtime_worker.sources.capture import CaptureThread, EventCallback, SourceEvent
from realtime_worker.sources.open import open_capture
from realtime_worker.sources.retry import backoff_delay
from realtime_worker.sources.stats import SourceStats
from realtime_worker.sources.url import Source, SourceKind, parse_source

__all__ = [
    "CaptureThread",
    "EventCallback",
    "Source",
    "SourceEvent",
    "SourceKind",
    "SourceStats",
    "backoff_delay",
    "open_capture",
    "parse_source",
]

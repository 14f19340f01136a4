"""Helpers for source tests: real stream servers on loopback (RTSP in a GStreamer subprocess,
MJPEG in a thread) and a recorder for the events capture threads report.

The RTSP server runs under the system interpreter, the only one that sees GStreamer's GI
bindings (installed by scripts/install_system.sh); `rtsp_server_available()` tells tests whether
it can run here.
"""

from __future__ import annotations

import functools
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Self

import cv2

from bench.harness.net import free_port
from realtime_worker.types import PlatformEvent

SYSTEM_PYTHON = "/usr/bin/python3"
RTSP_SERVER_SCRIPT = Path(__file__).with_name("rtsp_server.py")


@functools.cache
def rtsp_server_available() -> bool:
    probe = "import gi; gi.require_version('GstRtspServer', '1.0'); from gi.repository import GstRtspServer"
    try:
        return subprocess.run([SYSTEM_PYTHON, "-c", probe], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


class _Server:
    """`with Server(...) as server:` starts it and closes it, whatever happens inside."""

    def start(self) -> Self:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class RtspServer(_Server):
    """bench/harness/rtsp_server.py on a fixed free loopback port, which `stop()` and `start()` keep.

    `stop()` kills the server outright (SIGKILL, like a crash or a power cut) and `pause()`
    freezes it (SIGSTOP: the connection stays open but no packet flows, like a hung camera).
    """

    def __init__(self, file: Path | str, *, mount: str = "/cam1", loop: bool = True) -> None:
        self.file = Path(file)
        self.mount = mount
        self.loop = loop
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None
        # A file, not a pipe: a pipe nobody reads could fill up and hang the server.
        self._log_path = Path(tempfile.gettempdir()) / f"camcount-rtsp-server-{self.port}.log"

    @property
    def url(self) -> str:
        return f"rtsp://127.0.0.1:{self.port}{self.mount}"

    def start(self, timeout: float = 15.0) -> RtspServer:
        """Launch the server and return once it accepts connections."""
        command = [SYSTEM_PYTHON, str(RTSP_SERVER_SCRIPT), "--file", str(self.file), "--port", str(self.port)]
        command += ["--mount", self.mount] + (["--loop"] if self.loop else [])
        with open(self._log_path, "wb") as log:
            self._process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                error = self._log_path.read_text(errors="replace").strip()
                raise RuntimeError(f"rtsp_server.py exited with {self._process.returncode}: {error}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"rtsp_server.py did not listen on port {self.port} within {timeout} s")

    def stop(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None

    def pause(self) -> None:
        self._signal(signal.SIGSTOP)

    def resume(self) -> None:
        self._signal(signal.SIGCONT)

    def _signal(self, signum: int) -> None:
        if self._process is None:
            raise RuntimeError("the RTSP server is not running")
        os.kill(self._process.pid, signum)

    def close(self) -> None:
        self.stop()
        self._log_path.unlink(missing_ok=True)


class MjpegServer(_Server):
    """Serves a video file as an endless MJPEG stream (multipart/x-mixed-replace) at its frame rate.

    Each client gets its own pass over the file from the start, looping at the end, as an IP
    camera's snapshot stream would.
    """

    def __init__(self, file: Path | str, *, path: str = "/video.mjpg") -> None:
        self.file = Path(file)
        self.path = path
        self.stopping = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _MjpegHandler)
        self._httpd.daemon_threads = True
        self._httpd.mjpeg = self  # type: ignore[attr-defined]  # how handlers reach their server
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="mjpeg-server", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}{self.path}"

    def start(self) -> MjpegServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def close(self) -> None:
        self.stop()


class _MjpegHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        server: MjpegServer = self.server.mjpeg  # type: ignore[attr-defined]
        if self.path != server.path:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        cap = cv2.VideoCapture(str(server.file))
        interval = 1 / (cap.get(cv2.CAP_PROP_FPS) or 10)
        next_at = time.monotonic()
        try:
            while not server.stopping.is_set():
                ok, image = cap.read()
                if not ok:
                    cap.release()
                    cap = cv2.VideoCapture(str(server.file))
                    continue
                jpeg = cv2.imencode(".jpg", image)[1].tobytes()
                part = b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(jpeg)
                self.wfile.write(part + jpeg + b"\r\n")
                next_at += interval
                server.stopping.wait(next_at - time.monotonic())
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client hung up
        finally:
            cap.release()

    def log_message(self, format: str, *args: object) -> None:
        """Silence the per-request access log."""


class EventLog:
    """An `on_event` callback that remembers every event, with a way to wait for one."""

    def __init__(self) -> None:
        self.events: list[PlatformEvent] = []
        self._cond = threading.Condition()

    def __call__(self, event: PlatformEvent) -> None:
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()

    def kinds(self) -> list[str]:
        with self._cond:
            return [event.kind for event in self.events]

    def wait_for(self, kind: str, timeout: float, after: int = 0) -> PlatformEvent:
        """The first `kind` event at or after position `after`; fails the test after `timeout` s."""
        with self._cond:
            found = self._cond.wait_for(lambda: self._find(kind, after) is not None, timeout)
            assert found, f"no {kind} event within {timeout} s; got {self.kinds()}"
            return self._find(kind, after)  # type: ignore[return-value]

    def _find(self, kind: str, after: int) -> PlatformEvent | None:
        return next((event for event in self.events[after:] if event.kind == kind), None)

"""A real RTSP server (GStreamer's gst-rtsp-server) that streams a video file as H.264.

Run it with the system interpreter, which sees the GI bindings the venv lacks:

    /usr/bin/python3 tests/rtsp_server.py --file data/vtest.avi --port 8554 --mount /cam1 [--loop]

The media is shared, so every client sees the same live stream, as with a real camera.
"""

from __future__ import annotations

import argparse
import os
import signal

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

LAUNCH = (
    '( filesrc location="{path}" ! decodebin ! videoconvert'
    " ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=10"
    " ! rtph264pay name=pay0 pt=96 )"
)


class LoopingMedia(GstRtspServer.RTSPMedia):
    """Seeks back to the start at end of stream, so a short clip behaves like an endless camera."""

    def do_handle_message(self, message: Gst.Message) -> bool:
        if message.type == Gst.MessageType.EOS:
            pipeline = self.get_element().get_parent()
            pipeline.seek_simple(Gst.Format.TIME, Gst.SeekFlags.FLUSH | Gst.SeekFlags.KEY_UNIT, 0)
            return True
        return GstRtspServer.RTSPMedia.do_handle_message(self, message)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", required=True)
    parser.add_argument("--port", type=int, default=8554)
    parser.add_argument("--mount", default="/cam1")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--loop", action="store_true", help="restart the clip at its end")
    args = parser.parse_args()

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address(args.host)
    server.set_service(str(args.port))
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(LAUNCH.format(path=os.path.abspath(args.file)))
    factory.set_shared(True)
    if args.loop:
        factory.set_media_gtype(LoopingMedia)
    server.get_mount_points().add_factory(args.mount, factory)
    if server.attach(None) == 0:
        raise SystemExit(f"rtsp_server: cannot listen on {args.host}:{args.port}")

    loop = GLib.MainLoop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, loop.quit)
    print(f"rtsp://{args.host}:{args.port}{args.mount}", flush=True)
    loop.run()


if __name__ == "__main__":
    main()

"""A real RTSP server (GStreamer's gst-rtsp-server) that streams a video file as H.264.

Run it with the system interpreter, which sees the GI bindings the venv lacks:

    /usr/bin/python3 bench/harness/rtsp_server.py --file data/vtest.avi --port 8554 --mount /cam1 [--loop]

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


def loop_at_eos(factory: GstRtspServer.RTSPMediaFactory, media: GstRtspServer.RTSPMedia) -> None:
    """Seek back to the start instead of letting EOS reach the payloader.

    EOS at the payloader makes the RTP session send BYE and clients hang up, so the event is
    dropped before it gets there and a flushing seek (from the main loop: not allowed on the
    streaming thread) restarts the clip.
    """
    pay = media.get_element().get_by_name("pay0")

    def restart() -> bool:
        pay.send_event(
            Gst.Event.new_seek(1.0, Gst.Format.TIME, Gst.SeekFlags.FLUSH, Gst.SeekType.SET, 0, Gst.SeekType.NONE, 0)
        )
        return False

    def on_event(pad: Gst.Pad, info: Gst.PadProbeInfo) -> Gst.PadProbeReturn:
        if info.get_event().type != Gst.EventType.EOS:
            return Gst.PadProbeReturn.OK
        GLib.idle_add(restart)
        return Gst.PadProbeReturn.DROP

    pay.get_static_pad("sink").add_probe(Gst.PadProbeType.EVENT_DOWNSTREAM, on_event)


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
        factory.connect("media-configure", loop_at_eos)
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

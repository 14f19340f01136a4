"""What benches and tests both build on: worker configs for the sample clip, realistic data, stream
servers (RTSP, MJPEG) and free ports. Product code never imports it; tests and benches do."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

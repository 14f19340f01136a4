"""Network endpoints listen on 127.0.0.1 unless the operator says otherwise: the worker's
/metrics (checked on the real listening socket) and the Dagster UI the demo launches."""

from __future__ import annotations

import threading
from pathlib import Path

from dagster_webserver.cli import DEFAULT_WEBSERVER_HOST

from bench.harness.worker_configs import camera, write_config
from camcount_cli.demo import UI_ADDRESS
from realtime_worker.config import HealthConfig, load_config
from realtime_worker.runner import Worker

LOOPBACK = "127.0.0.1"


def listening_addresses(port: int) -> set[str]:
    """Local addresses of this machine's TCP sockets listening on `port`, from the kernel's tables."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.rsplit(":", 1)
            if state == "0A" and int(port_hex, 16) == port:  # 0A: LISTEN
                found.add(_ip(address))
    return found


def _ip(hex_address: str) -> str:
    if len(hex_address) == 8:  # IPv4, little-endian
        return ".".join(str(b) for b in reversed(bytes.fromhex(hex_address)))
    return "ipv6:" + hex_address


def test_metrics_listen_on_loopback_only_by_default(database_url: str, tiny_clip: Path, tmp_path: Path) -> None:
    assert HealthConfig().metrics_host == LOOPBACK
    path = write_config(tmp_path / "w.yaml", [camera("metrics-bind", tiny_clip, playback="native")],
                        health={"metrics_port": 0})  # default host, any free port
    worker = Worker(load_config(path), database_url=database_url, home=tmp_path)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,))
    thread.start()
    try:
        while worker.metrics_port is None and thread.is_alive():
            stop.wait(0.05)
        addresses = listening_addresses(worker.metrics_port)
    finally:
        stop.set()
        thread.join(30)
    assert addresses == {LOOPBACK}


def test_dagster_ui_listens_on_loopback() -> None:
    """The demo passes the host explicitly; a bare `dagster dev` falls back to the webserver's
    default, which must stay loopback too (a dagster upgrade that changed it would fail here)."""
    assert UI_ADDRESS[UI_ADDRESS.index("--host") + 1] == LOOPBACK
    assert DEFAULT_WEBSERVER_HOST == LOOPBACK

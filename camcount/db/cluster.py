"""The embedded TimescaleDB cluster under `$CAMCOUNT_HOME/db`.

It is what runs when the user gives no `CAMCOUNT_DATABASE_URL`: a private PostgreSQL cluster
with `timescaledb` preloaded and telemetry off, on a unix socket plus 127.0.0.1 at a
non-default port. `initdb` refuses root, so as root the cluster runs as the system user
`camcount`, which is created on first use.

Authentication is `trust` on loopback and the socket: it is a single-machine development and
edge-box database. Anything shared should use its own server via `CAMCOUNT_DATABASE_URL`.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from camcount.db.dsn import DAGSTER_DB, DATA_DB, EMBEDDED_USER, database_url, embedded_port
from camcount.errors import DatabaseError, Interrupted
from camcount.settings import camcount_home

CLUSTER_OS_USER = "camcount"

SERVER_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "shared_preload_libraries": "'timescaledb'",
    "timescaledb.telemetry_level": "off",
    # Each database with the extension gets a background worker; tests create several.
    "max_worker_processes": "64",
    "timescaledb.max_background_workers": "32",
    "max_connections": "200",
    "shared_buffers": "256MB",
    # JIT compiles plans that touch many chunks for ~2 s to save milliseconds: off, as for OLTP.
    "jit": "off",
    "log_min_messages": "warning",
}


@dataclass(frozen=True)
class Cluster:
    """Paths and identity of one embedded cluster."""

    root: Path
    port: int

    @classmethod
    def default(cls) -> Cluster:
        return cls(root=camcount_home() / "db", port=embedded_port())

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "run"

    @property
    def log_file(self) -> Path:
        return self.root / "postgres.log"

    def url(self, database: str = DATA_DB) -> str:
        return f"postgresql://{EMBEDDED_USER}@127.0.0.1:{self.port}/{database}"

    def is_running(self) -> bool:
        if not (self.data_dir / "PG_VERSION").exists():
            return False
        return self._pg_ctl("status", check=False).returncode == 0

    def start(self) -> None:
        """Create (first time), start and provision the cluster. Safe to call when running.

        Ctrl-C meanwhile lets the step under way (initdb, pg_ctl) finish, stops the server again
        and raises `Interrupted` saying so: no server is left half-started without a word.
        """
        if self.is_running():
            self._check_running_port()
            self._create_databases()
            return
        self._check_port_free()
        self._prepare_dirs()
        try:
            if not (self.data_dir / "PG_VERSION").exists():
                self._initdb()
            self._write_settings()
            result = self._pg_ctl("start", "-w", "-t", "60", "-l", str(self.log_file), check=False)
            if result.returncode != 0:
                raise DatabaseError(
                    f"the embedded database did not start (see {self.log_file}): {_last_log_line(self.log_file)}"
                )
            self._create_databases()
        except KeyboardInterrupt:
            raise self._undo_start() from None

    def _undo_start(self) -> Interrupted:
        with _sigint_ignored():
            self.stop()
            running = self.is_running()
        if running:
            return Interrupted(f"interrupted while the embedded database was starting; it may still run from "
                               f"{self.data_dir}: `camcount db status` tells, `camcount db stop` stops it")
        return Interrupted("interrupted: the embedded database was stopped again; `camcount db start` starts it")

    def recreate_database(self, name: str) -> str:
        """Drop (disconnecting its sessions) and create database `name`; returns its URL. For tests
        and benchmarks, which need a database of their own."""
        with psycopg.connect(self.url("postgres"), autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def drop_database(self, name: str) -> None:
        with psycopg.connect(self.url("postgres"), autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def stop(self) -> None:
        if self.is_running():
            self._pg_ctl("stop", "-m", "fast", "-w")

    # -- steps of start() -------------------------------------------------------------------

    def _check_running_port(self) -> None:
        """The server already running from this data directory listens on our port: one started
        with another CAMCOUNT_DB_PORT would otherwise be 'running' yet refuse every connection."""
        running = _running_port(self.data_dir)
        if running is not None and running != self.port:
            raise DatabaseError(
                f"the embedded database in {self.data_dir} already runs on port {running}, not {self.port}: "
                f"set CAMCOUNT_DB_PORT={running}, or stop it (`CAMCOUNT_DB_PORT={running} camcount db stop`)"
            )

    def _check_port_free(self) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as postgres does: TIME_WAIT is no conflict
            try:
                probe.bind(("127.0.0.1", self.port))
            except OSError:
                raise DatabaseError(
                    f"port {self.port} on 127.0.0.1 is already in use by another program; "
                    "set CAMCOUNT_DB_PORT to a free port (or CAMCOUNT_DATABASE_URL to use that server)"
                ) from None

    def _prepare_dirs(self) -> None:
        user = _cluster_user()
        try:
            for directory in (self.root, self.data_dir, self.socket_dir):
                directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabaseError(
                f"cannot create {exc.filename or self.root}: {exc.strerror}; "
                "set CAMCOUNT_HOME to a directory you can write"
            ) from None
        if os.geteuid() == 0:
            # The unprivileged cluster user must own its directories and traverse their parents.
            for directory in (self.root, self.data_dir, self.socket_dir):
                shutil.chown(directory, user.pw_name, user.pw_gid)
            _grant_traverse(self.root.parent, user.pw_name)
        elif os.stat(self.data_dir).st_uid != os.geteuid():
            raise DatabaseError(
                f"{self.data_dir} belongs to another user; "
                "run camcount as that user or set CAMCOUNT_HOME to a directory of your own"
            )
        os.chmod(self.data_dir, 0o700)

    def _initdb(self) -> None:
        _run_as_cluster_user(
            [_pg_bin("initdb"), "-D", str(self.data_dir), "-U", EMBEDDED_USER, "--auth=trust",
             "-E", "UTF8", "--locale=C.UTF-8"],
        )

    def _write_settings(self) -> None:
        settings = dict(SERVER_SETTINGS, port=str(self.port), unix_socket_directories=f"'{self.socket_dir}'")
        lines = ["# Written by camcount on every start; edit camcount/db/cluster.py instead."]
        lines += [f"{key} = {value}" for key, value in settings.items()]
        conf = self.data_dir / "camcount.conf"
        conf.write_text("\n".join(lines) + "\n")
        main_conf = self.data_dir / "postgresql.conf"
        include = "include_if_exists = 'camcount.conf'"
        if include not in main_conf.read_text():
            with main_conf.open("a") as fh:
                fh.write(f"\n{include}\n")
        if os.geteuid() == 0:
            user = _cluster_user()
            shutil.chown(conf, user.pw_name, user.pw_gid)

    def _create_databases(self) -> None:
        with psycopg.connect(self.url("postgres"), autocommit=True, connect_timeout=10) as conn:
            for name in (DATA_DB, DAGSTER_DB):
                exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
                if not exists:
                    conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))

    def _pg_ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return _run_as_cluster_user([_pg_bin("pg_ctl"), "-D", str(self.data_dir), *args], check=check)


def _running_port(data_dir: Path) -> int | None:
    """The port in the running server's postmaster.pid (its 4th line), None when unreadable."""
    try:
        return int((data_dir / "postmaster.pid").read_text().splitlines()[3])
    except (OSError, IndexError, ValueError):
        return None


def embedded_cluster_in_use() -> bool:
    """True when camcount talks to its own embedded cluster (no CAMCOUNT_DATABASE_URL)."""
    return database_url().startswith(f"postgresql://{EMBEDDED_USER}@127.0.0.1:{embedded_port()}/")


def _pg_bin(name: str) -> str:
    """A server binary of the newest installed PostgreSQL major (Debian layout)."""
    majors = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
    if not majors:
        raise DatabaseError("PostgreSQL is not installed; run `make setup` (or scripts/install_timescaledb.sh)")
    return str(majors[-1] / name)


def _cluster_user() -> pwd.struct_passwd:
    """The OS user that runs the cluster: ourselves, or `camcount` when we are root."""
    if os.geteuid() != 0:
        return pwd.getpwuid(os.geteuid())
    try:
        return pwd.getpwnam(CLUSTER_OS_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", CLUSTER_OS_USER],
            check=True, capture_output=True,
        )
        return pwd.getpwnam(CLUSTER_OS_USER)


def _grant_traverse(directory: Path, user: str) -> None:
    """Let `user` traverse (x only, no listing) every ancestor of the cluster directory."""
    for parent in [directory, *directory.parents]:
        if not os.access(parent, os.X_OK) or parent.stat().st_mode & 0o001:
            continue  # already world-traversable
        subprocess.run(["setfacl", "-m", f"u:{user}:--x", str(parent)], check=True, capture_output=True)


def _run_as_cluster_user(command: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a server program to its end, even through Ctrl-C (then KeyboardInterrupt is raised
    after it): a killed initdb or pg_ctl would leave a half-made cluster or a server starting
    unobserved. Its own session keeps the terminal's Ctrl-C from reaching it."""
    program = Path(command[0]).name
    if os.geteuid() == 0:
        user = _cluster_user()
        command = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups", *command]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd="/",
                          start_new_session=True) as process:
        try:
            stdout, stderr = process.communicate()
        except KeyboardInterrupt:
            with _sigint_ignored():
                process.communicate()
            raise
    result = subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
    if check and result.returncode != 0:
        raise DatabaseError(f"{program} failed: {result.stderr.strip()}")
    return result


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    """Ctrl-C is ignored inside (on the main thread, where Python handles signals)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _last_log_line(log_file: Path) -> str:
    try:
        lines = [line for line in log_file.read_text().splitlines() if line.strip()]
    except OSError:
        return "no log written"
    return lines[-1] if lines else "no log written"


"""All SQL is parameterized: hostile names go through config -> worker -> database -> registry
unchanged and harmless, and no product module builds SQL text out of values.

Camera ids are the exception that is restricted (`^[A-Za-z0-9_.:-]+$`): an id is typed on command
lines (`--camera`), names threads and Prometheus series, and appears at the start of log lines,
so a plain charset rules out shell-quoting mistakes and forged log lines. Restricting it is not
what keeps SQL safe, so everything free-text (site ids and names, camera names, line and zone
ids, side names) is tested hostile here.
"""

from __future__ import annotations

import ast
import re
import threading
from collections import Counter
from pathlib import Path

import psycopg
import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from bench.harness import REPO
from bench.harness.worker_configs import LINES, ZONES, db_totals, line_totals, write_config
from camcount.errors import ConfigError
from realtime_worker.config import load_config
from realtime_worker.registry import camera_geometry
from realtime_worker.runner import Worker

INJECTION = "'); DROP TABLE raw.crossing_events; --"
HOSTILE_SITE = "site'); DROP TABLE ops.sites; --"
SITE_NAME = "Place de l'Étoile\"; TRUNCATE ops.sites; -- 🗼"
LINE_IDS = [INJECTION, "ligne « centre » \"quoted\"; $$ %s %(x)s {0} \\ 東京 🚶‍♀️"]
ZONE_ID = "zone'; DELETE FROM ops.cameras WHERE ''='; -- ✓"
SIDES = {"left": "nörd'; --", "right": "süd\"); DROP SCHEMA raw CASCADE; --"}

PRODUCT_PACKAGES = ("camcount", "realtime_worker", "camcount_pipelines", "camcount_api")
SQL_RUNNERS = {"execute", "executemany", "copy", "stream", "SQL"}
SQL_START = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|DROP|ALTER|GRANT|REVOKE|COPY|TRUNCATE|WITH)\b", re.I)


def test_hostile_names_are_stored_verbatim_and_harmless(
    database_url: str, db: psycopg.Connection, tiny_clip: Path, tmp_path: Path, camera_id: str
) -> None:
    lines = [{**line, "id": hostile, "sides": SIDES, "in": SIDES["left"]} for line, hostile in zip(LINES, LINE_IDS,
                                                                                                   strict=True)]
    cam = {"id": camera_id, "site": HOSTILE_SITE, "name": f"caméra \"{INJECTION}\" 🎥", "source": str(tiny_clip),
           "start_at": "2026-11-25T09:00:00Z", "lines": lines, "zones": [{**ZONES[0], "id": ZONE_ID}]}
    site = {"id": HOSTILE_SITE, "name": SITE_NAME, "timezone": "Europe/London"}
    config = load_config(write_config(tmp_path / "w.yaml", [cam], sites=[site]))
    assert config.sites[0].id == HOSTILE_SITE and config.cameras[0].lines[0].id == INJECTION
    worker = Worker(config, database_url=database_url, home=tmp_path)
    summary = worker.run(threading.Event())

    assert db.execute("SELECT to_regclass('raw.crossing_events') IS NOT NULL").fetchone() == (True,)
    counted = line_totals(summary, camera_id)
    assert sum(counted.values()) > 0 and {line for line, _ in counted} <= set(LINE_IDS)
    assert db_totals(db, camera_id) == counted
    zone_rows = db.execute("SELECT transition, count(*) FROM raw.zone_events WHERE camera_id = %s AND zone_id = %s "
                           "GROUP BY 1", (camera_id, ZONE_ID)).fetchall()
    assert Counter(dict(zone_rows)) == Counter(enter=summary.zone_entries[(camera_id, ZONE_ID)],
                                               exit=summary.zone_exits[(camera_id, ZONE_ID)])
    assert db.execute("SELECT name FROM ops.sites WHERE site_id = %s", (HOSTILE_SITE,)).fetchone() == (SITE_NAME,)
    name, site, geometry = db.execute("SELECT name, site_id, geometry FROM ops.cameras WHERE camera_id = %s",
                                      (camera_id,)).fetchone()
    assert (name, site, geometry) == (cam["name"], HOSTILE_SITE, camera_geometry(config.cameras[0]))
    # Prometheus label values are escaped by the client: the hostile line ids round-trip too.
    families = text_string_to_metric_families(generate_latest(worker.metrics.registry).decode())
    labelled = {s.labels["line"] for f in families if f.name == "camcount_crossings" for s in f.samples}
    assert {line for line, _ in counted} <= labelled


def test_a_nul_character_is_a_config_error(tmp_path: Path) -> None:
    """PostgreSQL cannot store NUL in text or jsonb: accepted, one such name would fail the registry
    upsert and every sink batch carrying it, which the sink would take for an outage and spool."""
    cam = {"id": "gate", "site": "test-site", "source": "rtsp://127.0.0.1:9/x",
           "zones": [{**ZONES[0], "id": "door\x00"}]}
    with pytest.raises(ConfigError, match=r"cameras\[0\]\.zones\[0\]\.id: contains a NUL character"):
        load_config(write_config(tmp_path / "w.yaml", [cam]))


def test_no_product_module_builds_sql_from_values() -> None:
    """SQL text is constant: values go as parameters, identifiers through psycopg.sql.Identifier.
    Flags f-strings, `%` / `+` and str.format() handed to a SQL runner, and f-strings that begin
    with a SQL statement anywhere (built first, run later)."""
    found = [f"{path.relative_to(REPO)}:{node.lineno}: {ast.unparse(node)[:100]}"
             for path in product_sources() for node in ast.walk(ast.parse(path.read_text()))
             if builds_sql(node)]
    assert found == [], "build SQL with psycopg.sql and parameters instead:\n" + "\n".join(found)


@pytest.mark.parametrize(("source", "flagged"), [
    ('conn.execute(f"SELECT * FROM t WHERE id = {x}")', True),
    ('conn.execute("SELECT * FROM t WHERE id = %s" % x)', True),
    ('conn.execute("SELECT * FROM {}".format(t))', True),
    ('sql.SQL(f"SELECT {c}")', True),
    ('query = f"DELETE FROM t WHERE id = {x}"', True),
    ('conn.execute("SELECT * FROM t WHERE id = %s", (x,))', False),
    ('conn.execute(sql.SQL("SELECT * FROM {}").format(sql.Identifier(t)))', False),
    ('message = f"cannot connect to {url}"', False),
])
def test_the_sql_check_catches_what_it_should(source: str, flagged: bool) -> None:
    assert any(builds_sql(node) for node in ast.walk(ast.parse(source))) is flagged


def product_sources() -> list[Path]:
    return [path for package in PRODUCT_PACKAGES for path in sorted((REPO / package).rglob("*.py"))]


def builds_sql(node: ast.AST) -> bool:
    if isinstance(node, ast.JoinedStr):
        head = node.values[0] if node.values else None
        return isinstance(head, ast.Constant) and bool(SQL_START.match(str(head.value)))
    if not (isinstance(node, ast.Call) and node.args):
        return False
    name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
    return name in SQL_RUNNERS and is_built_string(node.args[0])


def is_built_string(node: ast.AST) -> bool:
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Mod):
        return True
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format"
            and isinstance(node.func.value, ast.Constant | ast.JoinedStr))

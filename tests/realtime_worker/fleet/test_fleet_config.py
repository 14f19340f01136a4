"""The fleet config in the database: validated as a worker config file, credentials kept as
`${VAR}` references, resolved by each worker, geometry complete, removed cameras let go."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
import yaml

from camcount.errors import ConfigError
from realtime_worker.config import load_config
from realtime_worker.fleet.config import apply_file, fleet_version, load_fleet
from tests.conftest import run_camcount
from tests.realtime_worker.fleet.conftest import fleet_file


def test_apply_stores_references_and_each_worker_resolves_them(fleet_db: psycopg.Connection, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    path = fleet_file(tmp_path / "fleet.yaml", ["c1", "c2"], detector={"backend": "motion"})
    document = yaml.safe_load(path.read_text())
    document["cameras"][0]["lines"][0].update({"hysteresis_px": 9, "in": "out", "anchor": "center"})
    document["cameras"][1]["zones"] = [{"id": "z", "polygon": [[0, 0], [50, 0], [50, 50]], "anchor": "center"}]
    document["cameras"][1]["source"] = "rtsp://viewer:${OTHER_PW}@10.9.0.9/s"
    path.write_text(yaml.safe_dump(document))
    version = apply_file(fleet_db, path).version

    stored = dict(fleet_db.execute("SELECT camera_id, source FROM ops.cameras WHERE source IS NOT NULL").fetchall())
    assert stored == {"c1": "rtsp://viewer:${CAM_PW}@10.9.0.1/s", "c2": "rtsp://viewer:${OTHER_PW}@10.9.0.9/s"}

    fleet = load_fleet(fleet_db, {"CAM_PW": "s3cret"})
    assert fleet.version == version == fleet_version(fleet_db)
    assert [camera.id for camera in fleet.config.cameras] == ["c1"]
    assert "OTHER_PW" in fleet.skipped["c2"], "a worker without the variable leaves that camera out"
    assert fleet.config.camera("c1").source.target == "rtsp://viewer:s3cret@10.9.0.1/s"
    assert fleet.config.detector.backend == "motion"

    monkeypatch.setenv("CAM_PW", "s3cret")
    monkeypatch.setenv("OTHER_PW", "x")
    from_file = load_config(path)
    from_db = load_fleet(fleet_db).config
    for camera in from_file.cameras:  # the same camera, read back from the database
        assert from_db.camera(camera.id).lines == camera.lines
        assert from_db.camera(camera.id).zones == camera.zones


def test_apply_refuses_a_password_and_validates_as_the_worker_does(fleet_db: psycopg.Connection,
                                                                  tmp_path: Path) -> None:
    path = fleet_file(tmp_path / "fleet.yaml", ["c1"])
    apply_file(fleet_db, path)
    document = yaml.safe_load(path.read_text())
    document["cameras"][0]["source"] = "rtsp://admin:hunter2@10.9.0.1/s"
    path.write_text(yaml.safe_dump(document))
    with pytest.raises(ConfigError, match=r"cameras\[0\].source: the URL holds a password"):
        apply_file(fleet_db, path)
    with pytest.raises(psycopg.errors.CheckViolation):  # and the database refuses it whoever writes
        fleet_db.execute("UPDATE ops.cameras SET source = 'rtsp://admin:hunter2@h/s' WHERE camera_id = 'c1'")

    document["cameras"][0]["source"] = "rtsp://viewer:${CAM_PW}@10.9.0.1/s"
    document["cameras"][0]["lines"][0]["points"] = [[0, 0]]
    path.write_text(yaml.safe_dump(document))
    with pytest.raises(ConfigError, match=r"cameras\.0\.lines\.0|cameras\[0\]\.lines\[0\]"):
        apply_file(fleet_db, path)


def test_reapplying_without_a_camera_removes_it_from_the_fleet(fleet_db: psycopg.Connection, tmp_path: Path) -> None:
    first = apply_file(fleet_db, fleet_file(tmp_path / "a.yaml", ["c1", "c2", "c3"]))
    second = apply_file(fleet_db, fleet_file(tmp_path / "b.yaml", ["c1", "c3"]))
    assert second.version == first.version + 1 and second.removed == ["c2"]
    assert [c.id for c in load_fleet(fleet_db, {"CAM_PW": "x"}).config.cameras] == ["c1", "c3"]
    assert fleet_db.execute("SELECT count(*) FROM ops.cameras WHERE camera_id = 'c2'").fetchone()[0] == 1, \
        "its rows still join to the registry"


def test_the_cli_applies_and_shows_the_fleet(fleet_url: str, tmp_path: Path) -> None:
    path = fleet_file(tmp_path / "fleet.yaml", ["cli-1", "cli-2"])
    env = {"CAMCOUNT_DATABASE_URL": fleet_url}
    applied = run_camcount("cameras", "apply", str(path), env=env)
    assert applied.returncode == 0, applied.stderr
    assert "2 cameras" in applied.stdout
    status = run_camcount("fleet", "status", env=env)
    assert status.returncode == 0, status.stderr
    assert "0 of 2 cameras owned; unowned: cli-1, cli-2" in " ".join(status.stdout.split())

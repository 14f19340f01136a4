"""The dbt project as Dagster assets: marts downstream of the rollups, dbt tests as asset checks.

Loading reads `dbt_project/target/manifest.json`, which `scripts/build_dbt_manifest.sh` builds
once at set-up with the runtime profile (camcount_pipelines.marts.profile): parsing at import
would cost every Dagster process seconds (FACTS.md). Each run builds in a throwaway target
directory (seeded with the set-up parse for partial parsing), so `target/` does not grow by a
megabyte per run.
"""

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import Any

import dbt.version
from dagster import AssetExecutionContext, AssetKey, AutomationCondition, Config
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliInvocation,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)
from packaging.version import Version

from camcount.errors import ConfigError
from camcount_pipelines.automation import MART_AUTOMATION
from camcount_pipelines.instance import DBT_POOL
from camcount_pipelines.marts.profile import DBT_PROJECT_DIR, dbt_env, environment
from camcount_pipelines.retries import STEP_RETRY

DBT_PROJECT = DbtProject(project_dir=DBT_PROJECT_DIR)


@contextmanager
def scratch_target() -> Iterator[Path]:
    """A temporary dbt target directory, removed afterwards. It starts from the latest parse
    (target/partial_parse.msgpack, first built at set-up) so dbt re-parses only what changed
    (seconds saved per invocation), and hands its own parse back: dbt re-parses everything for
    another profile (another database, or the demo's camcount_pipelines login), once, not every run."""
    kept = DBT_PROJECT_DIR / "target" / "partial_parse.msgpack"
    with tempfile.TemporaryDirectory(prefix="camcount-dbt-") as directory:
        target = Path(directory)
        if kept.exists():
            shutil.copy2(kept, target / kept.name)
        yield target
        parsed = target / kept.name
        if parsed.exists() and (not kept.exists() or parsed.stat().st_mtime > kept.stat().st_mtime):
            handed_back = kept.with_name(f"{kept.name}.{os.getpid()}")  # beside it: os.replace stays on one disk
            shutil.copy2(parsed, handed_back)
            os.replace(handed_back, kept)  # atomic: dbt in other processes reads it


class CamcountDbtCliResource(DbtCliResource):
    """DbtCliResource on the camcount database, without the `dbt --version` call.

    dagster-dbt runs `dbt --version` once per resource and process to learn the dbt version;
    that command also queries PyPI, which costs ~20 s where DNS drops queries (FACTS.md). dbt-core
    is installed in this interpreter, so its version is known without a subprocess.
    """

    @cached_property
    def _cli_version(self) -> Version:
        return Version(dbt.version.__version__)

    def cli(self, args: Sequence[str], **kwargs: Any) -> DbtCliInvocation:
        with environment(dbt_env()):
            return super().cli(args, **kwargs)


def dbt_resource() -> CamcountDbtCliResource:
    """The `dbt` resource for camcount's Definitions (and for tests and scripts)."""
    return CamcountDbtCliResource(
        project_dir=DBT_PROJECT,
        dbt_executable=str(Path(sys.executable).parent / "dbt"),
        global_config_flags=["--no-use-colors"],
    )


def generate_docs(directory: Path) -> Path:
    """Write the dbt docs site into `directory` and return its single-file page
    (`static_index.html`, which opens from disk without a web server)."""
    dbt_resource().cli(["docs", "generate", "--static"], target_path=directory).wait()
    return directory / "static_index.html"


class CamcountDbtTranslator(DagsterDbtTranslator):
    """Asset keys are [schema, table], so dbt sources land on the Dagster rollup and raw assets
    (["rollup", "crossings_hourly"], ...) and lineage runs rollups -> staging -> ["marts", model]."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        return AssetKey([dbt_resource_props["schema"], dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str:
        return "marts"

    def get_automation_condition(self, dbt_resource_props: Mapping[str, Any]) -> AutomationCondition:
        return MART_AUTOMATION


def _manifest_path() -> Path:
    if not DBT_PROJECT.manifest_path.exists():
        raise ConfigError(
            f"{DBT_PROJECT.manifest_path} is missing; build it with scripts/build_dbt_manifest.sh (run by `make setup`)"
        )
    return DBT_PROJECT.manifest_path


class MartsBuildConfig(Config):
    """Run config of a marts build (the launchpad's `ops: camcount_dbt_assets: config:`)."""

    full_refresh: bool = False
    """Rebuild the selected incremental marts from scratch and drop and re-create the selected
    views with everything built on them: needed once after a model changed its columns
    (dbt_project/macros/view_in_place.sql)."""


@dbt_assets(
    manifest=_manifest_path(),
    project=DBT_PROJECT,
    dagster_dbt_translator=CamcountDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True)),
    pool=DBT_POOL,  # one dbt build at a time, whoever requests it: automation sensor, backfill, UI
    retry_policy=STEP_RETRY,
)
def camcount_dbt_assets(context: AssetExecutionContext, dbt: DbtCliResource, config: MartsBuildConfig) -> Iterator[Any]:
    """`dbt build` of the selected models and seeds with their tests, which report as asset checks."""
    args = ["build", "--full-refresh"] if config.full_refresh else ["build"]
    with scratch_target() as target:
        yield from dbt.cli(args, context=context, target_path=target).stream()

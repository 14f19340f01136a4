"""Runs as alert subjects: what a run rebuilds, named alike for the run that failed and for the one
that later succeeds in its place, whoever launched either (a sensor, a schedule, a backfill, the
repair sensor, the UI): the asset group and partition grain, then the partition, e.g.
`rollups (hourly) [2026-12-01-10:00]`, `marts`; a job that builds no asset is named by itself."""

from __future__ import annotations

import dagster as dg
from dagster._core.definitions.assets.graph.base_asset_graph import BaseAssetNode
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    PARTITION_NAME_TAG,
)

from camcount_pipelines.partitions import DAILY, HOURLY, MONTHLY, WEEKLY

GRAINS = ((HOURLY, "hourly"), (DAILY, "daily"), (WEEKLY, "weekly"), (MONTHLY, "monthly"))
# A backfill run over more partitions than this is one subject, its range.
MAX_SUBJECTS = 24


def run_subjects(run: dg.DagsterRun, repository: dg.RepositoryDefinition) -> list[str]:
    """One subject per partition the run covers (its range, past MAX_SUBJECTS), or its label alone."""
    keys = run.asset_selection or (
        repository.get_job(run.job_name).asset_layer.selected_asset_keys if repository.has_job(run.job_name) else set())
    graph = repository.asset_graph
    nodes = [graph.get(key) for key in keys if graph.has(key)]
    label = " + ".join(sorted({_label(node) for node in nodes})) or run.job_name
    if PARTITION_NAME_TAG in run.tags:
        return [f"{label} [{run.tags[PARTITION_NAME_TAG]}]"]
    first, last = run.tags.get(ASSET_PARTITION_RANGE_START_TAG), run.tags.get(ASSET_PARTITION_RANGE_END_TAG)
    if first is None or last is None:
        return [label]
    partitions = next((node.partitions_def for node in nodes if node.partitions_def), None)
    covered = partitions.get_partition_keys_in_range(dg.PartitionKeyRange(first, last)) if partitions else []
    if not covered or len(covered) > MAX_SUBJECTS:
        return [f"{label} [{first}...{last}]"]
    return [f"{label} [{key}]" for key in covered]


def _label(node: BaseAssetNode) -> str:
    grain = next((name for partitions, name in GRAINS if node.partitions_def == partitions), None)
    return f"{node.group_name} ({grain})" if grain else node.group_name

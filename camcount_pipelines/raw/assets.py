"""The raw hypertables the worker writes, as external assets: Dagster never materializes them,
the observation sensors record what arrived (camcount_pipelines.raw.sensors). Their names and
descriptions are the kernel's (camcount.db.schema), defined once next to the migrations."""

from __future__ import annotations

import dagster as dg

from camcount.db.schema import RAW_TABLES


def raw_key(table: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", table])


raw_assets = [
    dg.AssetSpec(key=raw_key(table.name), description=table.description, group_name="raw", kinds={"timescaledb"})
    for table in RAW_TABLES.values()
]

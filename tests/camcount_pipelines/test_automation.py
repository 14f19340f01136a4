"""The automation conditions of the marts and the calendar rollups, evaluated by Dagster's own
evaluator on a real (ephemeral) instance: an input that changes while the previous run of the
asset is finishing is not forgotten (bench.freshness saw a crossing wait for the next 5-minute
calendar tick to reach the mart, with eager())."""

from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest

from camcount_pipelines.automation import MART_AUTOMATION, calendar_automation


def _defs(condition: dg.AutomationCondition) -> dg.Definitions:
    @dg.asset
    def rollup() -> None: ...

    @dg.asset(deps=[rollup], automation_condition=condition)
    def mart() -> None: ...

    return dg.Definitions(assets=[rollup, mart])


def _materialized(instance: dg.DagsterInstance, *names: str) -> None:
    for name in names:
        instance.report_runless_asset_event(dg.AssetMaterialization(name))


def _requested(defs: dg.Definitions, instance: dg.DagsterInstance, cursor, at: datetime):
    result = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=cursor, evaluation_time=at)
    return result.total_requested, result.cursor


@pytest.mark.parametrize("name, condition", [
    ("marts", MART_AUTOMATION), ("calendar rollups", calendar_automation("* * * * *")),
])
def test_an_input_that_races_a_run_is_caught_up(name: str, condition: dg.AutomationCondition) -> None:
    """A change right after the request (seen with the request, one evaluation later), and a
    change landing with the run's own materialization, each get one more run; then none."""
    defs = _defs(condition)
    at = datetime(2026, 12, 1, 12, 0, 30, tzinfo=UTC)
    with dg.DagsterInstance.ephemeral() as instance:
        _materialized(instance, "rollup", "mart")
        requested, cursor = _requested(defs, instance, None, at)
        assert requested == 0  # the first evaluation: nothing changed since

        _materialized(instance, "rollup")
        requested, cursor = _requested(defs, instance, cursor, at + timedelta(minutes=1))
        assert requested == 1  # the input changed: one run

        _materialized(instance, "rollup")  # again, before the next evaluation
        requested, cursor = _requested(defs, instance, cursor, at + timedelta(minutes=2))
        assert requested == 1, f"{name}: a change just after the request was forgotten"

        _materialized(instance, "mart", "rollup")  # the run's mart lands, and the input changes
        requested, cursor = _requested(defs, instance, cursor, at + timedelta(minutes=3))
        assert requested == 1, f"{name}: a change as the run finished was forgotten"

        requested, _ = _requested(defs, instance, cursor, at + timedelta(minutes=4))
        assert requested == 0  # nothing new: no more runs

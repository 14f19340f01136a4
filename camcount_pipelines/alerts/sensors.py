"""The alert sensors. `alerts_sensor` evaluates the rules every 30 s, keeps ops.alerts current,
notifies the webhook, and reports the state as the `active_alerts` check on raw/stream_health so
the UI shows alerts where operators look. The run sensors page for runs that failed for good (their
retries spent) and resolve that alert once a run rebuilding the same thing succeeds."""

import logging
from datetime import UTC, datetime

import dagster as dg
from dagster._core.storage.tags import WILL_RETRY_TAG

from camcount_pipelines.alerts import rules
from camcount_pipelines.alerts.checks import active_alerts_evaluation
from camcount_pipelines.alerts.runs import run_subjects
from camcount_pipelines.resources import TimescaleResource, skip_while_database_unavailable


@dg.sensor(
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Opens, deduplicates and resolves ops.alerts from stream health and platform events.",
)
@skip_while_database_unavailable
def alerts_sensor(
    context: dg.SensorEvaluationContext, timescale: TimescaleResource, alert_rules: rules.AlertRules
) -> dg.SensorResult | dg.SkipReason:
    with timescale.connection() as conn:
        firing, evaluated = rules.evaluate(conn, alert_rules, datetime.now(UTC))
        changes = rules.apply(conn, firing, evaluated)
        evaluation = active_alerts_evaluation(conn) if changes else None
    _report(context.log, changes)
    if evaluation is None:
        return dg.SkipReason("no alert opened or resolved")
    return dg.SensorResult(asset_events=[evaluation])


@dg.run_failure_sensor(
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Opens a `run_failed` alert (and posts it to the webhook) for a run that failed for good.",
)
def run_failure_alerts(context: dg.RunFailureSensorContext, timescale: TimescaleResource) -> None:
    run = context.dagster_run
    if run.tags.get(WILL_RETRY_TAG) == "true":
        return  # Dagster retries it (camcount_pipelines.retries); the retry fails or heals on its own
    steps = context.get_step_failure_events()
    error = steps[0].step_failure_data.error if steps else None  # why, rather than which steps
    reason = ((error.message if error else None) or context.failure_event.message or "failed").strip()
    reason = reason.splitlines()[0][:300]
    firing = [rules.Firing(rules.RUN_FAILED, subject, "error", 1, 0, f"{subject}: run {run.run_id[:8]}: {reason}")
              for subject in run_subjects(run, context.repository_def)]
    with timescale.connection() as conn:
        changes = rules.apply(conn, firing, {})
    _report(context.log, changes)


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Resolves the `run_failed` alerts of what a successful run rebuilt.",
)
def run_success_resolves(context: dg.RunStatusSensorContext, timescale: TimescaleResource) -> None:
    subjects = set(run_subjects(context.dagster_run, context.repository_def))
    with timescale.connection() as conn:
        changes = rules.apply(conn, [], {rules.RUN_FAILED: subjects})
    _report(context.log, changes)


def _report(log: logging.Logger, changes: list[rules.Transition]) -> None:
    """Log each opened or resolved alert and post it to the webhook."""
    for change in changes:
        (log.info if change.state == "resolved" else log.warning)(f"alert {change.state}: [{change.severity}] "
                                                                  f"{change.message}")
    rules.notify(changes)

"""When rollups and marts catch up with their inputs: once per change of an input, even one that
arrives just after a run of theirs was requested, or as that run finishes.

Dagster's `eager()` and `since_last_handled()` reset on the asset's own request (seen one
evaluation later) and on its own materialization. An input that changes in the same evaluation
is forgotten: trigger and reset are both true, and the reset wins. The mart then waits for some
later change, minutes away or never (bench.freshness saw a crossing reach the mart only at the
next 5-minute calendar rollup). Here a request resets only in an evaluation that saw no new
change: a change that races a run asks for one more run, which finds nothing new at worst.
"""

import dagster as dg


def since_last_request(trigger: dg.AutomationCondition) -> dg.AutomationCondition:
    """`trigger` became true at some evaluation since the asset was last requested without it."""
    requested = dg.AutomationCondition.newly_requested() & ~trigger
    return trigger.since(requested | dg.AutomationCondition.initial_evaluation()).with_label(
        f"{trigger.get_label() or trigger.name} since last request")


# Marts: once any input (rollup partition, model, seed) changed, and nothing of it is running.
# Unlike eager(), missing inputs do not block: rollups backfill old days.
MART_AUTOMATION = (
    dg.AutomationCondition.in_latest_time_window()
    & since_last_request(dg.AutomationCondition.newly_missing() | dg.AutomationCondition.any_deps_updated())
    & ~dg.AutomationCondition.any_deps_in_progress()
    & ~dg.AutomationCondition.in_progress()
).with_label("inputs changed, nothing running")


def calendar_automation(cron: str) -> dg.AutomationCondition:
    """Days, weeks and months: a period whose input partitions changed is recomputed at the next
    `cron` tick, however old it is, so late data reaches the local days the marts read."""
    return (
        since_last_request(dg.AutomationCondition.any_deps_updated())
        & since_last_request(dg.AutomationCondition.cron_tick_passed(cron))
        & ~dg.AutomationCondition.in_progress()
    ).with_label(f"inputs changed, at {cron}")

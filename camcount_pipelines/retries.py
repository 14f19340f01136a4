"""How failed rollup, mart and report runs heal before anyone is paged (issue 11).

- A failed step is retried in its run at most twice, 10 s and then 30 s later (exponential
  backoff): long enough for a database restart, short enough for the marts' 2-minute freshness.
- A run that dies without a failed step (its process killed, the database gone as it started)
  is re-executed from the failure by the daemon at most twice: the instance enables run retries
  for those (camcount_pipelines.instance) and these jobs' runs carry the tags.
- What still fails pages someone (alerts.sensors.run_failure_alerts) and is re-requested later
  (rollups.sensors.repair_sensor).
"""

import dagster as dg

MAX_RETRIES = 2
STEP_RETRY = dg.RetryPolicy(max_retries=MAX_RETRIES, delay=10, backoff=dg.Backoff.EXPONENTIAL)
RUN_RETRY_TAGS = {"dagster/max_retries": str(MAX_RETRIES), "dagster/retry_strategy": "FROM_FAILURE"}

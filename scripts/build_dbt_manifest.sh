#!/usr/bin/env bash
# Parse the dbt project once, so Dagster loads dbt_project/target/manifest.json instead of
# running `dbt parse` in every process. Rebuilt only when a dbt file changed.
set -euo pipefail
cd "$(dirname "$0")/.."
export DBT_SEND_ANONYMOUS_USAGE_STATS=false DBT_PROFILES_DIR="$PWD/dbt_project"
MANIFEST=dbt_project/target/manifest.json
if [ -f "$MANIFEST" ] && [ -z "$(find dbt_project -path dbt_project/target -prune -o -newer "$MANIFEST" -type f -print -quit)" ]; then
  exit 0
fi
# Parse with the same connection settings dbt runs with later (camcount's database), so runs
# reuse this parse instead of re-parsing because "the profile has changed".
eval "$(.venv/bin/python -c 'from camcount_pipelines.marts.profile import dbt_env; import shlex
print("\n".join(f"export {k}={shlex.quote(v)}" for k, v in dbt_env().items()))')"
.venv/bin/dbt parse --project-dir dbt_project --quiet >&2

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
.venv/bin/dbt parse --project-dir dbt_project --quiet >&2

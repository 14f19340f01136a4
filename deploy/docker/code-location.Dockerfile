# The Dagster code-location image: camcount_pipelines with its dbt project and manifest, served
# over gRPC to the Dagster webserver and daemon from the official Helm chart
# (deploy/helm/dagster-values.yaml), and the image every run's Job starts from. The same image runs
# `camcount serve` and `camcount cameras apply` (deploy/k8s: the image named `camcount`).
# Build from the repository root after `make setup` (it builds dbt_project/target/manifest.json):
#   docker build -f deploy/docker/code-location.Dockerfile -t registry.example.com/camcount/code-location:0.1.0 .

FROM python:3.11-slim-bookworm
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 DAGSTER_DISABLE_TELEMETRY=1 DBT_SEND_ANONYMOUS_USAGE_STATS=false
RUN apt-get update && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/camcount/src
COPY pyproject.toml constraints.txt README.md ./
COPY camcount camcount
COPY realtime_worker realtime_worker
COPY camcount_pipelines camcount_pipelines
COPY camcount_api camcount_api
COPY camcount_cli camcount_cli
# camcount_pipelines finds dbt_project/ beside its package: an editable install keeps that layout.
COPY dbt_project dbt_project
RUN test -f dbt_project/target/manifest.json || { echo "run make setup first: no dbt manifest" >&2; exit 1; } \
 && pip install -c constraints.txt -e . && pip install -c constraints.txt dagster-k8s==0.29.27
RUN useradd --uid 10001 --create-home camcount && mkdir -p /var/lib/camcount && chown -R camcount /var/lib/camcount /opt/camcount/src/dbt_project
USER 10001
ENV CAMCOUNT_HOME=/var/lib/camcount
EXPOSE 3030
CMD ["dagster", "api", "grpc", "--module-name", "camcount_pipelines.definitions", "--host", "0.0.0.0", "--port", "3030"]

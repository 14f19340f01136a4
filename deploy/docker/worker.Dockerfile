# The worker image: camcount's wheel on a CUDA runtime, for `camcount worker run --fleet` on a
# GPU node (ultralytics YOLO batched across cameras; SSDLite on onnxruntime still works on CPU).
# Build from the repository root:
#   docker build -f deploy/docker/worker.Dockerfile -t registry.example.com/camcount/worker:0.1.0 .

FROM python:3.11-slim-bookworm AS wheel
WORKDIR /src
COPY pyproject.toml constraints.txt README.md ./
COPY camcount camcount
COPY realtime_worker realtime_worker
COPY camcount_pipelines camcount_pipelines
COPY camcount_api camcount_api
COPY camcount_cli camcount_cli
RUN pip wheel --no-deps --wheel-dir /wheels .

FROM nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04
ENV DEBIAN_FRONTEND=noninteractive PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    YOLO_OFFLINE=1 YOLO_CONFIG_DIR=/tmp/ultralytics DAGSTER_DISABLE_TELEMETRY=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends software-properties-common \
 && add-apt-repository -y ppa:deadsnakes/ppa \
 && apt-get install -y --no-install-recommends python3.11 python3.11-venv libgl1 libglib2.0-0 ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=wheel /wheels /wheels
COPY constraints.txt /tmp/constraints.txt
# The yolo extra brings torch with its CUDA libraries; constraints.txt pins what the tests ran.
RUN python3.11 -m venv /opt/camcount \
 && /opt/camcount/bin/pip install -c /tmp/constraints.txt "$(ls /wheels/camcount-*.whl)[yolo]" \
 && rm -rf /wheels /tmp/constraints.txt
RUN useradd --uid 10001 --create-home camcount && mkdir -p /var/lib/camcount && chown camcount /var/lib/camcount
USER 10001
ENV PATH=/opt/camcount/bin:$PATH CAMCOUNT_HOME=/var/lib/camcount
EXPOSE 9464
ENTRYPOINT ["camcount"]
CMD ["worker", "run", "--fleet"]

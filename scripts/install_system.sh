#!/usr/bin/env bash
# Debian packages camcount needs: PostgreSQL (+ TimescaleDB via install_timescaledb.sh), ACL tools
# (to let the unprivileged cluster user traverse the checkout), and GStreamer's RTSP server with
# Python GI bindings (a real RTSP server for stream tests and `camcount demo --rtsp`), chromium (the
# live page's browser test, driven by Playwright), npm (bundles the page's JavaScript at set-up) and
# kubectl (renders the Kubernetes manifests in tests/deploy), and mosquitto (the MQTT broker the worker's
# MQTT tests start on a free port; installing it starts no service here).
# Idempotent: installs only what is missing.
set -euo pipefail
PACKAGES=(postgresql postgresql-contrib acl python3-gi gir1.2-gst-rtsp-server-1.0
  gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav chromium mosquitto)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
command -v npm >/dev/null || missing+=(npm)  # any npm will do (NodeSource's nodejs bundles its own)
# kubectl renders deploy/k8s offline (`kubectl kustomize`, tests/deploy); any kubectl will do.
command -v kubectl >/dev/null || missing+=(kubernetes-client)
if [ ${#missing[@]} -gt 0 ]; then
  echo "[install_system] installing: ${missing[*]}" >&2
  SUDO=$([ "$(id -u)" -eq 0 ] || echo sudo)
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

#!/usr/bin/env bash
# Install the TimescaleDB extension (Apache edition) for the local PostgreSQL major.
#   Debian 13: the binary package postgresql-17-timescaledb.
#   Debian 12: build Debian trixie's `timescaledb` source package against the installed server.
# Idempotent: when the extension is already installed it exits at once.
set -euo pipefail

log() { printf '[install_timescaledb] %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

pg_major() { ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -n 1; }

if [ -z "$(pg_major)" ] || [ ! -x "/usr/lib/postgresql/$(pg_major)/bin/postgres" ]; then
  log "PostgreSQL server not found: installing it from Debian"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql postgresql-contrib >/dev/null
fi
PG_MAJOR=$(pg_major)
PG_BIN=/usr/lib/postgresql/$PG_MAJOR/bin
PKGLIBDIR=/usr/lib/postgresql/$PG_MAJOR/lib
SHAREDIR=/usr/share/postgresql/$PG_MAJOR

if [ -f "$PKGLIBDIR/timescaledb.so" ] && ls "$SHAREDIR"/extension/timescaledb--*.sql >/dev/null 2>&1; then
  exit 0  # already installed
fi

DEBIAN_MAJOR=$(cut -d. -f1 /etc/debian_version)
if [ "$DEBIAN_MAJOR" -ge 13 ]; then
  log "Debian $DEBIAN_MAJOR: installing postgresql-$PG_MAJOR-timescaledb"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "postgresql-$PG_MAJOR-timescaledb" >/dev/null
  exit 0
fi

log "Debian $DEBIAN_MAJOR: building TimescaleDB (Apache edition) from Debian trixie's source package for PostgreSQL $PG_MAJOR"
# Pin server-dev to the running server's exact version, or apt upgrades the server under us.
PG_VERSION=$(dpkg-query -W -f='${Version}' "postgresql-$PG_MAJOR")
as_root apt-get update -qq
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
  cmake gcc make libssl-dev dpkg-dev xz-utils "postgresql-server-dev-$PG_MAJOR=$PG_VERSION" >/dev/null

WORK=$(mktemp -d /tmp/camcount-tsdb.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
# A private apt configuration, so the system's sources and lists stay untouched.
mkdir -p "$WORK/apt/lists/partial" "$WORK/apt/cache/archives/partial" "$WORK/src"
# Reuse the Debian mirror this machine is already configured with.
MIRROR=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null \
  | grep -oE '^(URIs:|deb)[[:space:]]+[^[:space:]]+' | awk '{print $2}' | grep -v security | head -n 1 || true)
echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $MIRROR trixie main" > "$WORK/apt/sources.list"
APT_OPTS=(-o "Dir::Etc::sourcelist=$WORK/apt/sources.list" -o "Dir::Etc::sourceparts=-"
  -o "Dir::State::Lists=$WORK/apt/lists" -o "Dir::Cache=$WORK/apt/cache" -o "APT::Sandbox::User=root")
apt-get "${APT_OPTS[@]}" update -qq
(cd "$WORK/src" && apt-get "${APT_OPTS[@]}" source --download-only timescaledb >/dev/null)
(cd "$WORK/src" && dpkg-source -x ./*.dsc tsdb >/dev/null)

cd "$WORK/src/tsdb"
cmake -S . -B build -DPG_CONFIG="$PG_BIN/pg_config" -DCMAKE_BUILD_TYPE=Release -DAPACHE_ONLY=ON \
  -DREGRESS_CHECKS=OFF -DTAP_CHECKS=OFF -DWARNINGS_AS_ERRORS=OFF -DUSE_TELEMETRY=OFF \
  -DGENERATE_DOWNGRADE_SCRIPT=OFF >/dev/null
make -C build -j"$(nproc)" >/dev/null
as_root make -C build install >/dev/null
log "TimescaleDB installed into $PKGLIBDIR"

#!/usr/bin/env bash
# Start dockerd when none answers: host network only, so no container address leaves 127.0.0.0/8.
set -euo pipefail
if docker version --format '{{.Server.Version}}' >/dev/null 2>&1; then
  exit 0
fi
command -v dockerd >/dev/null || { echo "conveyor: dockerd is not installed (run scripts/install.sh)" >&2; exit 1; }
log="${CONVEYOR_DOCKERD_LOG:-/var/log/conveyor-dockerd.log}"
echo "conveyor: starting dockerd (log: $log)"
setsid nohup dockerd --bridge=none --iptables=false --ip-masq=false >"$log" 2>&1 < /dev/null &
for _ in $(seq 1 60); do
  if docker version --format '{{.Server.Version}}' >/dev/null 2>&1; then
    exit 0
  fi
  sleep 1
done
echo "conveyor: dockerd did not answer within 60 s; see $log" >&2
exit 1

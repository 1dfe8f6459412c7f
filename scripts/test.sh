#!/usr/bin/env bash
# The whole test suite, from a fresh machine: install what is needed, start dockerd, then
# lint, type-check and run every test (real git, Docker, registry, Chromium).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
./scripts/install.sh
venv="${CONVEYOR_VENV:-$root/.venv}"
echo "conveyor: ruff"
"$venv/bin/ruff" check src tests services bench
echo "conveyor: mypy"
"$venv/bin/mypy"
echo "conveyor: pytest"
exec "$venv/bin/pytest" "$@"

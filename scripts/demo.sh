#!/usr/bin/env bash
# The main job on the embedded default, from a fresh machine: install, start dockerd and the
# registry, make the base image, push this monorepo to a local central repository and follow
# both services to production. `scripts/demo.sh --clean` removes what it made.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/install.sh"
exec "${CONVEYOR_VENV:-$root/.venv}/bin/conveyor" demo --repo "$root" "$@"

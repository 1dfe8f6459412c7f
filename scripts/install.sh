#!/usr/bin/env bash
# Install everything Conveyor needs on a fresh Debian machine, then make sure dockerd answers.
# Safe to run again: each step is skipped when already done.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="${CONVEYOR_VENV:-$root/.venv}"

apt_packages=(git docker.io debootstrap docker-registry kubernetes-client chromium chromium-driver
              nodejs npm default-jre-headless ca-certificates tar)
missing=()
for package in "${apt_packages[@]}"; do
  case "$package" in
    kubernetes-client) command -v kubectl >/dev/null && continue ;;
    nodejs) command -v node >/dev/null && continue ;;
    npm) command -v npm >/dev/null && continue ;;
    default-jre-headless) command -v java >/dev/null && continue ;;
  esac
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "conveyor: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if [ ! -x "$venv/bin/python" ]; then
  echo "conveyor: creating $venv"
  python3 -m venv "$venv"
fi
stamp="$venv/.conveyor-installed"
if [ ! -f "$stamp" ] || [ "$root/pyproject.toml" -nt "$stamp" ]; then
  echo "conveyor: installing Python packages"
  "$venv/bin/pip" install -q --upgrade pip
  "$venv/bin/pip" install -q -e "$root[test]"
  touch "$stamp"
fi

lint="$root/.conveyor-tools/node_modules/.bin/npm-groovy-lint"
if [ ! -x "$lint" ]; then
  echo "conveyor: installing npm-groovy-lint 15"
  mkdir -p "$root/.conveyor-tools"
  npm install --prefix "$root/.conveyor-tools" --no-save --silent npm-groovy-lint@15 >/dev/null
fi

"$root/scripts/dockerd.sh"

#!/usr/bin/env bash
# Build every published distribution (wheel + sdist) into dist/, check it as PyPI would, and
# install each artifact into its own fresh virtual environment.
#
#   bash scripts/release.sh            # dist/ is emptied first
#   DIST=/tmp/dist bash scripts/release.sh
#
# `uv build --no-sources` builds each sdist from the index alone, as PyPI users would: a
# distribution that only builds thanks to the workspace fails here. twine runs from a pinned
# tool environment, so it is no dependency of any distribution. Uploading is left to a person:
#   uv tool run --from "$TWINE" twine upload dist/*
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
UV=${UV:-$(command -v uv || echo "$ROOT/.tools/bin/uv")}
DIST=${DIST:-$ROOT/dist}
PYTHON=${PYTHON:-python3}
TWINE=${TWINE:-twine==7.0.0}
# Published in this order; examples/ are not published.
PACKAGES=(leadforge-core leadforge-scheme-leadscoring leadforge-scheme-lifecycle leadforge-recipes leadforge)
VERSION=$(awk -F'"' '/^version = / {print $2; exit}' leadforge-core/pyproject.toml)

started=$SECONDS
step() { echo "=== $* ($((SECONDS - started))s)"; }

step "build into $DIST"
rm -rf "$DIST"
mkdir -p "$DIST"
for p in "${PACKAGES[@]}"; do
  "$UV" build --no-sources --quiet --package "$p" --out-dir "$DIST"
done
ls -l "$DIST"
expected=$((2 * ${#PACKAGES[@]}))
found=$(find "$DIST" -maxdepth 1 \( -name '*.whl' -o -name '*.tar.gz' \) | wc -l)
[ "$found" -eq "$expected" ] || { echo "release: expected $expected artifacts in $DIST, found $found" >&2; exit 1; }

step "twine check ($TWINE)"
"$UV" tool run --quiet --from "$TWINE" twine check --strict "$DIST"/*

step "install each artifact into a clean venv"
SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT
# Every check runs with a clean environment, so nothing of the workspace leaks in.
clean() { env -u VIRTUAL_ENV -u PYTHONPATH -u SOURCE_DATE_EPOCH -u UV_PROJECT_ENVIRONMENT "$@"; }
for artifact in "$DIST"/*.whl "$DIST"/*.tar.gz; do
  name=$(basename "$artifact")
  venv="$SCRATCH/${name%%.tar.gz}"
  clean "$UV" venv --quiet --python "$PYTHON" "$venv"
  # --find-links: the sibling distributions of this release are not on the index yet.
  clean "$UV" pip install --quiet --python "$venv/bin/python" --find-links "$DIST" "$artifact"
  got=$(clean "$venv/bin/leadforge" --version)
  [ "$got" = "leadforge $VERSION" ] || { echo "release: $name: 'leadforge --version' said '$got'" >&2; exit 1; }
  status=$(clean "$venv/bin/leadforge" plugins --json | clean "$venv/bin/python" -c '
import json, sys
plugins = json.load(sys.stdin)["plugins"]
bad = [p["name"] + ": " + p["status"] for p in plugins if p["status"] != "ok"]
print("; ".join(bad) if bad else "ok: " + (", ".join(p["name"] for p in plugins) or "core alone"))
')
  case $status in
    ok:*) echo "  $name: leadforge $VERSION, plugins $status" ;;
    *) echo "release: $name: plugins not ok: $status" >&2; exit 1 ;;
  esac
done
step "done: $expected artifacts in $DIST"

#!/usr/bin/env bash
# Each distribution's tests with only its declared dependencies installed, then one run with
# every package (including the slow wheel matrix and scaffold-install tests).
#
# Every run gets its own environment under $DIST_TESTS_ENVS (default .tools/dist-envs), synced
# exactly from uv.lock with `uv sync --frozen --package ...` (extraneous packages are removed),
# plus pytest. The shared project .venv is never touched. A distribution whose tests folder holds
# no test yet (pytest exit 5) counts as passed and is reported as such.
#
#   bash .ci/dist-tests.sh                 # everything
#   bash .ci/dist-tests.sh core support    # only these runs (names: see RUNS below)
#   DIST_TESTS_ALL_ARGS="-m slow" bash .ci/dist-tests.sh all
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
UV=${UV:-$(command -v uv || echo "$ROOT/.tools/bin/uv")}
ENVS=${DIST_TESTS_ENVS:-$ROOT/.tools/dist-envs}
PYTEST_TOOLS=("pytest>=8" "pytest-xdist>=3")
ALL_ARGS=${DIST_TESTS_ALL_ARGS:---runslow}

# scikit-learn is a test-only tool of the scheme suites (leak probes, tier quality); pinned to uv.lock.
SKLEARN="scikit-learn==$(awk '/^name = "scikit-learn"$/ {getline; gsub(/[^0-9.]/, ""); print; exit}' uv.lock)"
# hypothesis drives core's property-based hostile-input tests; pinned to uv.lock the same way.
HYPOTHESIS="hypothesis==$(awk '/^name = "hypothesis"$/ {getline; gsub(/[^0-9.]/, ""); print; exit}' uv.lock)"

# name | packages synced into the environment | test paths | extra test tools
RUNS=(
  "core|leadforge-core|tests/core|$HYPOTHESIS"
  "recipes|leadforge-recipes|tests/recipes|"
  "leadscoring|leadforge-scheme-leadscoring leadforge-recipes|tests/leadscoring|$SKLEARN"
  "lifecycle|leadforge-scheme-lifecycle leadforge-recipes|tests/lifecycle|$SKLEARN"
  "support|leadforge-scheme-support|examples/leadforge-scheme-support/tests|"
)

declare -a SUMMARY=()
FAILED=0

wanted() {  # wanted NAME [SELECTED...]: no selection means every run
  [ "$#" -le 1 ] && return 0
  local name=$1; shift
  for w in "$@"; do [ "$w" = "$name" ] && return 0; done
  return 1
}

sync_env() {  # sync_env NAME EXTRA-TOOLS ARGS... -> prints the environment's python
  local env="$ENVS/$1" extra=$2; shift 2
  UV_PROJECT_ENVIRONMENT="$env" "$UV" sync --frozen --quiet "$@" >&2 || return 1
  # shellcheck disable=SC2086
  "$UV" pip install --quiet --python "$env/bin/python" "${PYTEST_TOOLS[@]}" $extra >&2 || return 1
  echo "$env/bin/python"
}

run() {  # run NAME PYTHON PYTEST-ARGS...
  local name=$1 python=$2; shift 2
  local started=$SECONDS code
  echo "=== $name: pytest $*"
  (cd "$ROOT" && env -u VIRTUAL_ENV "$python" -m pytest -p no:cacheprovider "$@")
  code=$?
  local took=$((SECONDS - started))
  case $code in
    0) SUMMARY+=("$name: passed (${took}s)") ;;
    5) SUMMARY+=("$name: no tests yet (${took}s)") ;;
    *) SUMMARY+=("$name: FAILED, pytest exit $code (${took}s)"); FAILED=1 ;;
  esac
}

for spec in "${RUNS[@]}"; do
  IFS='|' read -r name packages paths extra <<<"$spec"
  wanted "$name" "$@" || continue
  args=()
  for p in $packages; do args+=(--package "$p"); done
  if ! python=$(sync_env "$name" "$extra" "${args[@]}"); then
    SUMMARY+=("$name: FAILED to build its environment"); FAILED=1; continue
  fi
  # shellcheck disable=SC2086
  run "$name" "$python" -q -n auto $paths
done

if wanted all "$@"; then
  if python=$(sync_env all "" --all-packages); then
    # shellcheck disable=SC2086
    run all "$python" -q -n auto $ALL_ARGS
  else
    SUMMARY+=("all: FAILED to build its environment"); FAILED=1
  fi
fi

if [ "${#SUMMARY[@]}" -eq 0 ]; then
  echo "dist-tests: no run matches '$*' (runs: core recipes leadscoring lifecycle support all)" >&2
  exit 2
fi
echo
echo "dist-tests summary:"
printf '  %s\n' "${SUMMARY[@]}"
exit $FAILED

#!/usr/bin/env bash
# The upgrade path from leadforge 1.x (PyPI) to this release's wheels (dist/), each scenario in
# a fresh virtual environment. Needs network to PyPI for leadforge 1.0.0 and its dependencies.
# (Which wheel combinations work on their own is tests/integration/test_wheel_matrix.py.)
#
#   bash .ci/wheel-matrix.sh                                  # builds the release afresh first
#   bash scripts/release.sh && DIST=dist bash .ci/wheel-matrix.sh   # reuses what release.sh built
#
# Scenarios:
#   pip-upgrade   pip install leadforge==1.0.0, then pip install -U the umbrella wheel
#   uv-upgrade    the same with uv pip
#   side-by-side  leadforge 1.0.0, then leadforge-core and a scheme installed beside it
# After each, `leadforge --version` and `leadforge generate` + `validate` must work, either at
# once or after the one repair command that `leadforge` itself prints (run exactly as printed).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
UV=${UV:-$(command -v uv || echo "$ROOT/.tools/bin/uv")}
PYTHON=${PYTHON:-python3}
LEGACY=${LEGACY:-leadforge==1.0.0}
SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT

if [ -z "${DIST:-}" ]; then  # never a stale dist/: build this tree's artifacts afresh
  DIST=$SCRATCH/dist
  echo "=== building the release into $DIST (scripts/release.sh)"
  DIST="$DIST" bash scripts/release.sh >/dev/null || { echo "wheel-matrix: building $DIST failed" >&2; exit 1; }
fi
DIST=$(cd "$DIST" && pwd)
wheel() { ls "$DIST"/"$1"-*.whl; }
VERSION=$(awk -F'"' '/^version = / {print $2; exit}' leadforge-core/pyproject.toml)

declare -a SUMMARY=()
FAILED=0
clean() { env -u VIRTUAL_ENV -u PYTHONPATH -u SOURCE_DATE_EPOCH -u UV_PROJECT_ENVIRONMENT "$@"; }
note() { echo "  $*"; }
fail() { echo "  FAILED: $*" >&2; return 1; }

new_venv() {  # new_venv NAME -> path of a fresh venv with pip
  clean "$UV" venv --quiet --seed --python "$PYTHON" "$SCRATCH/$1" >&2 && echo "$SCRATCH/$1"
}

pip_() {  # pip_ VENV ARGS...: that venv's pip, finding this release's wheels in dist/
  local venv=$1; shift
  local links=()
  [ "$1" = install ] && links=(--find-links "$DIST")
  clean "$venv/bin/python" -m pip --quiet --disable-pip-version-check "$@" "${links[@]}" 2>&1 |
    grep -v "^WARNING: Location" >&2
  return "${PIPESTATUS[0]}"
}

leadforge_() {  # leadforge_ VENV ARGS...: the console script, or the launcher when pip removed it
  local venv=$1; shift
  if [ -x "$venv/bin/leadforge" ]; then
    clean "$venv/bin/leadforge" "$@"
  else
    clean "$venv/bin/python" -c 'import sys; from leadforge.legacy import main; sys.argv[0] = "leadforge"; main()' "$@"
  fi
}

works() {  # works VENV: version, generate and validate, with both first-party recipes if present
  local venv=$1 got
  got=$(clean "$venv/bin/leadforge" --version 2>&1) || { fail "leadforge --version: $got"; return 1; }
  [ "$got" = "leadforge $VERSION" ] || { fail "leadforge --version said '$got'"; return 1; }
  local out="$venv-bundle"
  clean "$venv/bin/leadforge" generate --recipe b2b_saas_ltv_v1 --seed 3 --n-customers 200 \
    --mode student_public --out "$out" -q >/dev/null || { fail "leadforge generate"; return 1; }
  clean "$venv/bin/leadforge" validate "$out" >/dev/null 2>&1 || { fail "leadforge validate"; return 1; }
  note "works: $got; generate + validate of b2b_saas_ltv_v1 passed"
}

repair() {  # repair VENV: the one line leadforge prints for a mixed install, then run its fix
  local venv=$1 err fix
  err=$(leadforge_ "$venv" --version 2>&1 >/dev/null)
  local code=$?
  [ "$code" -eq 2 ] || { fail "expected exit 2 with a one-line fix, got exit $code: $err"; return 1; }
  [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] || { fail "not one line: $err"; return 1; }
  case $err in *Traceback*) fail "traceback: $err"; return 1 ;; esac
  note "leadforge said: $err"
  fix=${err##*; run: }
  [ "$fix" != "$err" ] || { fail "no 'run:' command in: $err"; return 1; }
  # Run as printed, with this venv's pip and the release's wheels.
  fix=${fix//pip /pip_ $venv }
  note "running the fix: ${err##*; run: }"
  eval "$fix" || { fail "the printed fix failed"; return 1; }
}

scenario() {  # scenario NAME FUNCTION
  local name=$1 started=$SECONDS
  echo "=== $name"
  if "$2"; then
    SUMMARY+=("$name: passed ($((SECONDS - started))s)")
  else
    SUMMARY+=("$name: FAILED ($((SECONDS - started))s)"); FAILED=1
  fi
}

pip_upgrade() {
  local venv
  venv=$(new_venv pip-upgrade) || return 1
  pip_ "$venv" install "$LEGACY" || return 1
  note "installed $LEGACY: $(clean "$venv/bin/leadforge" --version)"
  pip_ "$venv" install -U "$(wheel leadforge)" || return 1
  if [ -x "$venv/bin/leadforge" ] && works "$venv" 2>/dev/null; then
    note "pip install -U leadforge worked in one step"
    return 0
  fi
  # pip installs leadforge-core before it removes 1.0.0, and removing 1.0.0 deletes the files
  # both list (leadforge/__init__.py, bin/leadforge).
  note "after pip install -U: bin/leadforge $([ -e "$venv/bin/leadforge" ] && echo present || echo missing)"
  repair "$venv" && works "$venv"
}

uv_upgrade() {
  local venv
  venv=$(new_venv uv-upgrade) || return 1
  clean "$UV" pip install --quiet --python "$venv/bin/python" "$LEGACY" || return 1
  note "installed $LEGACY: $(clean "$venv/bin/leadforge" --version)"
  clean "$UV" pip install --quiet --python "$venv/bin/python" --find-links "$DIST" -U "$(wheel leadforge)" || return 1
  works "$venv"
}

side_by_side() {
  local venv
  venv=$(new_venv side-by-side) || return 1
  pip_ "$venv" install "$LEGACY" || return 1
  pip_ "$venv" install "$(wheel leadforge_core)" "$(wheel leadforge_scheme_lifecycle)" "$(wheel leadforge_recipes)" ||
    return 1
  repair "$venv" && works "$venv"
}

scenario pip-upgrade pip_upgrade
scenario uv-upgrade uv_upgrade
scenario side-by-side side_by_side

echo
echo "wheel-matrix summary:"
printf '  %s\n' "${SUMMARY[@]}"
exit $FAILED

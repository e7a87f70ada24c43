#!/usr/bin/env bash
# Runs one GoPythonGo step for a GitHub composite action (actions/) or a
# CircleCI orb command (orb/src/scripts/run.sh is this file): the flags are
# built as an argv from the INPUT_ variables the action or command maps, never
# through eval or a shell string, so no input is ever parsed by a shell.
# Configuration reaches the step as GOPYTHONGO_ variables; empty ones count as
# unset.
#
#   run.sh STEP NAME:KIND...   KIND: value, bool, words (spaces or commas), lines
#   RUN_STEP=STEP RUN_FLAGS="NAME:KIND ..." run.sh    (the orb: includes take no arguments)
set -euo pipefail
if [ $# -eq 0 ]; then
  # No here-strings in this file: CircleCI's compiler reads two less-than signs in an
  # included script as the start of a parameter.
  read -r -a args < <(printf '%s\n' "${RUN_STEP:?run.sh: name the step} ${RUN_FLAGS:-}")
  set -- "${args[@]}"
fi
step=$1
shift
fail() {
  if [ -n "${GITHUB_ACTIONS:-}" ]; then echo "::error title=$step::$1"; else echo "$step: error: $1" >&2; fi
  exit "${2:-1}"
}
command -v "$step" >/dev/null 2>&1 ||
  fail "$step is not on PATH: install GoPythonGo first (GitHub: uses: gopythongo/gopythongo@<version>; CircleCI: the orb's install command)"
# SECRET_<NAME>=<VAR> (the orb's env_var_name parameters): the step gets the
# value of VAR as NAME, the name publish.stores refers to.
while IFS= read -r var; do
  target=${var#SECRET_}
  from=${!var}
  if [ "$from" != "$target" ] && [ -n "${!from:-}" ]; then
    export "$target=${!from}"
  fi
done < <(compgen -v SECRET_ || true)
argv=()
for spec in "$@"; do
  name=${spec%%:*}
  kind=${spec#*:}
  var=INPUT_$(printf '%s' "$name" | tr 'a-z-' 'A-Z_')
  val=${!var:-}
  [ -n "$val" ] || continue
  case $kind in
    bool)
      case $val in
        true) argv+=("--$name") ;;
        false) ;;
        *) fail "input $name must be true or false, not '$val'" 2 ;;
      esac ;;
    words)
      read -r -a words < <(printf '%s\n' "$val" | tr ',\n' '  '; echo)
      for w in "${words[@]}"; do argv+=("--$name" "$w"); done ;;
    lines)
      while IFS= read -r line; do
        [ -n "$line" ] && argv+=("--$name" "$line")
      done < <(printf '%s\n' "$val") ;;
    *) argv+=("--$name" "$val") ;;
  esac
done
exec "$step" "${argv[@]}"

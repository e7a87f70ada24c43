#!/usr/bin/env bash
# Runs one GoPythonGo step for a composite action of actions/: the flags are
# built as an argv from the INPUT_ variables the action maps, never through
# eval or a shell string, so no input is ever parsed by a shell. Configuration
# inputs reach the step as GOPYTHONGO_ variables; empty ones count as unset.
#
#   run.sh STEP NAME:KIND...   KIND: value, bool, words (spaces or commas), lines
set -euo pipefail
step=$1
shift
if ! command -v "$step" >/dev/null 2>&1; then
  echo "::error title=$step::$step is not on PATH: add the setup action (uses: gopythongo/gopythongo@<version>) to the job before this step"
  exit 1
fi
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
        *) echo "::error title=$step::input $name must be true or false, not '$val'"; exit 2 ;;
      esac ;;
    words)
      read -r -a words <<<"$(printf '%s' "$val" | tr ',\n' '  ')"
      for w in "${words[@]}"; do argv+=("--$name" "$w"); done ;;
    lines)
      while IFS= read -r line; do
        [ -n "$line" ] && argv+=("--$name" "$line")
      done <<<"$val" ;;
    *) argv+=("--$name" "$val") ;;
  esac
done
exec "$step" "${argv[@]}"

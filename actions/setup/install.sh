#!/usr/bin/env bash
# Installs the GoPythonGo binaries for the setup action (action.yml): from a
# release archive whose sha256 is written in checksums.txt beside this script,
# or built from the action's own source with the runner's Go. The binaries go
# into the tool cache ($RUNNER_TOOL_CACHE/gopythongo/<version>/<arch>) and onto
# PATH (GITHUB_PATH).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
steps=(gopythongo-version gopythongo-test gopythongo-build-venv gopythongo-package gopythongo-publish)
fail() { echo "::error title=GoPythonGo setup::$*"; exit 1; }

case ${RUNNER_OS:-$(uname -s)} in
  Linux) os=linux ;;
  macOS|Darwin) os=darwin ;;
  *) fail "runner OS ${RUNNER_OS:-$(uname -s)} is not supported: Linux and macOS are" ;;
esac
case ${RUNNER_ARCH:-$(uname -m)} in
  X64|x86_64|amd64) arch=amd64 ;;
  ARM64|aarch64|arm64) arch=arm64 ;;
  *) fail "runner architecture ${RUNNER_ARCH:-$(uname -m)} is not supported: X64 and ARM64 are" ;;
esac

version=${INPUT_VERSION:-}
version=${version#v}
sums=$here/checksums.txt
if [ -z "$version" ] && [ "${INPUT_FROM_SOURCE:-false}" != true ]; then
  # The release this action belongs to, if its sums were written.
  version=$(sed -n 's/^[0-9a-f]\{64\}  gopythongo_\(.*\)_[a-z]*_[a-z0-9]*\.tar\.gz$/\1/p' "$sums" | sed -n 1p)
fi
[ -n "$version" ] && [ "${INPUT_FROM_SOURCE:-false}" != true ] || version=source

cache=${RUNNER_TOOL_CACHE:-${RUNNER_TEMP:-/tmp}}/gopythongo/$version/$arch
if [ "$version" != source ] && [ -f "$cache.complete" ]; then
  echo "GoPythonGo $version from the tool cache: $cache"
else
  rm -rf "$cache" "$cache.complete"
  mkdir -p "$cache"
  if [ "$version" = source ]; then
    command -v go >/dev/null 2>&1 || fail "building GoPythonGo from source needs Go: add actions/setup-go before this action, or install a release (input version)"
    echo "Building GoPythonGo from $root with $(go version)"
    (cd "$root" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$cache/" ./steps/...)
  else
    archive=gopythongo_${version}_${os}_${arch}.tar.gz
    want=$(awk -v f="$archive" '$2 == f {print $1}' "$sums")
    [ -n "$want" ] || fail "no sha256 for $archive in this action's checksums.txt: use the action at that release (uses: gopythongo/gopythongo@v$version), or from-source: true"
    url=${INPUT_DOWNLOAD_URL:-https://github.com/gopythongo/gopythongo/releases/download}/v$version/$archive
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    echo "Downloading $url"
    curl -fsSL --retry 4 --retry-connrefused -o "$tmp/$archive" "$url" || fail "download of $url failed"
    if command -v sha256sum >/dev/null 2>&1; then
      got=$(sha256sum "$tmp/$archive" | cut -d' ' -f1)
    else
      got=$(shasum -a 256 "$tmp/$archive" | cut -d' ' -f1)
    fi
    [ "$got" = "$want" ] || fail "$archive has sha256 $got, but this action expects $want: refusing it"
    tar -C "$cache" -xzf "$tmp/$archive" --no-same-owner "${steps[@]}"
  fi
  for s in "${steps[@]}"; do
    [ -x "$cache/$s" ] || fail "$s is missing from the installation in $cache"
  done
  [ "$version" = source ] || touch "$cache.complete"
fi

echo "$cache" >> "${GITHUB_PATH:?GITHUB_PATH is not set: run this as a GitHub Action}"
{
  echo "version=$version"
  echo "path=$cache"
} >> "${GITHUB_OUTPUT:?}"
echo "GoPythonGo $version installed: $("$cache/gopythongo-version" --version)"

#!/usr/bin/env bash
# Installs the GoPythonGo binaries for the orb's install command into
# ~/.gopythongo/bin and puts them on PATH for later steps (BASH_ENV).
set -euo pipefail
bin=$HOME/.gopythongo/bin
mkdir -p "$bin"
if [ -n "${PARAM_VERSION:-}" ]; then
  [ -n "${PARAM_SHA256:-}" ] || { echo "install: version ${PARAM_VERSION} needs sha256, the sum of its release archive" >&2; exit 1; }
  case $(uname -m) in x86_64) arch=amd64 ;; aarch64|arm64) arch=arm64 ;; *) echo "install: $(uname -m) is not supported" >&2; exit 1 ;; esac
  os=$(uname -s | tr '[:upper:]' '[:lower:]')
  version=${PARAM_VERSION#v}
  archive=gopythongo_${version}_${os}_${arch}.tar.gz
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  curl -fsSL --retry 4 -o "$tmp/$archive" "${PARAM_DOWNLOAD_URL}/v${version}/$archive"
  echo "${PARAM_SHA256}  $tmp/$archive" | sha256sum -c - >/dev/null ||
    { echo "install: $archive does not have the sha256 ${PARAM_SHA256}: refusing it" >&2; exit 1; }
  tar -C "$bin" -xzf "$tmp/$archive" --no-same-owner
else
  command -v go >/dev/null 2>&1 || { echo "install: building from source needs Go; or give version and sha256" >&2; exit 1; }
  GOBIN=$bin go install "github.com/gopythongo/gopythongo/steps/...@${PARAM_SOURCE:-latest}"
fi
echo "export PATH=\"$bin:\$PATH\"" >> "${BASH_ENV:?BASH_ENV is not set}"
echo "GoPythonGo installed: $("$bin/gopythongo-version" --version)"

#!/usr/bin/env bash
# Makes the release archives of VERSION for every platform the setup action
# supports (or those given), reproducibly, and writes their sha256 sums into
# actions/setup/checksums.txt, so that the action at that release installs
# exactly these bytes.
#
#   scripts/release.sh 1.2.0 [OUT] [linux/amd64 ...]
set -euo pipefail
version=${1:?usage: scripts/release.sh VERSION [OUT] [OS/ARCH ...]}
version=${version#v}
root=$(cd "$(dirname "$0")/.." && pwd)
out=${2:-$root/dist/release}
shift $(( $# < 2 ? $# : 2 ))
platforms=("$@")
[ ${#platforms[@]} -gt 0 ] || platforms=(linux/amd64 linux/arm64 darwin/amd64 darwin/arm64)
epoch=$(git -C "$root" log -1 --format=%ct 2>/dev/null || echo 0)
mkdir -p "$out"
sums=()
for p in "${platforms[@]}"; do
  os=${p%/*} arch=${p#*/}
  dir=$(mktemp -d)
  (cd "$root" && CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -buildvcs=true -trimpath -ldflags "-s -w -buildid= -X github.com/gopythongo/gopythongo/internal/cli.stamp=v$version" -o "$dir/" ./steps/...)
  archive=gopythongo_${version}_${os}_${arch}.tar.gz
  (cd "$dir" && tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch" -cf - gopythongo-*) | gzip -9n > "$out/$archive"
  rm -rf "$dir"
  sums+=("$(cd "$out" && sha256sum "$archive")")
  echo "$out/$archive"
done
{
  echo "# sha256 sums of the release archives this action installs, written by"
  echo "# scripts/release.sh $version."
  printf '%s\n' "${sums[@]}"
} > "${CHECKSUMS_FILE:-$root/actions/setup/checksums.txt}"

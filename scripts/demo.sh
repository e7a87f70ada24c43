#!/usr/bin/env bash
# The main job: GoPythonGo on its example project, with local stores that need
# no server. Everything it makes lands in dist/demo/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$root/bin
demo=$root/dist/demo
rm -rf "$demo"
mkdir -p "$demo"
export GIT_AUTHOR_NAME="Demo" GIT_AUTHOR_EMAIL="demo@example.com" GIT_COMMITTER_NAME="Demo" GIT_COMMITTER_EMAIL="demo@example.com"
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
# Keep the CI's own variables out of a local demo.
unset GITHUB_ACTIONS GITLAB_CI CIRCLECI JENKINS_URL JENKINS_HOME

step() { printf '\n== %s\n' "$*"; }
started=$(date +%s%N)

step "A Git Flow history of examples/hello (dist/demo/hello)"
repo=$demo/hello
cp -a "$root/examples/hello" "$repo"
printf 'dist/\nwheels/\n' > "$repo/.gitignore"
cd "$repo"
n=0
commit() { n=$((n+1)); echo "change $n" >> CHANGES; git add -A; git commit -q -m "$1"; }
git init -q -b main
commit "hello 1.0"
git tag -a -m "release 1.0.0" v1.0.0
git checkout -q -b develop
commit "greet several people"
commit "document --where"
git checkout -q -b release/1.1.0
commit "prepare 1.1.0"
git checkout -q main
git merge -q --no-ff -m "Merge branch 'release/1.1.0'" release/1.1.0
git tag -a -m "release 1.1.0" v1.1.0
git checkout -q develop
git merge -q --no-ff -m "Merge branch 'release/1.1.0' into develop" release/1.1.0
git branch -q -d release/1.1.0
commit "start 1.2"
commit "more greetings"
git checkout -q -b feature/greeting-cards
commit "cards"
git checkout -q develop
git checkout -q -b release/1.2.0
commit "prepare 1.2.0"
git checkout -q -b hotfix/1.1.1 v1.1.0
commit "urgent fix"
git log --oneline --graph --all | sed 's/^/  /'

step "gopythongo-version on every kind of build"
printf '  %-26s %-8s %-34s %-34s %s\n' "build" "channel" "SemVer" "Debian" "OCI tag"
for b in v1.1.0 release/1.2.0 hotfix/1.1.1 develop feature/greeting-cards pr:feature/greeting-cards; do
  args=()
  case $b in
    v*) git checkout -q --detach "$b"; args=(--tag "$b") ;;
    pr:*) git checkout -q --detach "${b#pr:}"; args=(--pr 42 --pr-target develop) ;;
    *) git checkout -q --detach "$b"; args=(--branch "$b") ;;
  esac
  out=$("$bin/gopythongo-version" "${args[@]}" --format json 2>/dev/null)
  field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])" <<<"$out"; }
  printf '  %-26s %-8s %-34s %-34s %s\n' "$b" "$(field channel)" "$(field semver)" "$(field debian)" "$(field oci_tag)"
done

step "How develop's version came about (--explain)"
git checkout -q develop
"$bin/gopythongo-version" --explain 2>&1 >/dev/null | sed 's/^/  /'

step "The state file the next steps read (dist/gopythongo.json)"
sed 's/^/  /' dist/gopythongo.json

# The wheel cache lives with the demo, so that make demo leaves nothing behind.
export GOPYTHONGO_VENV_CACHE_DIR=$demo/cache
# timed runs a step, keeps its output in dist/demo/<name>.log and its duration.
timed() {
  local name=$1 s
  shift
  s=$(date +%s%N)
  if ! "$@" >"$demo/$name.out" 2>"$demo/$name.log"; then
    cat "$demo/$name.log"
    echo "demo: $name failed" >&2
    exit 1
  fi
  times+=("$(printf '%-28s %6d ms' "$name" $(( ($(date +%s%N) - s) / 1000000 )))")
}
times=()

step "The library: examples/hello-lib through version, build-venv --dist-only and publish to a pypi-dir"
lib=$demo/hello-lib
cp -a "$root/examples/hello-lib" "$lib"
rm -rf "$lib/build"
printf 'dist/\nbuild/\n*.egg-info/\n' > "$lib/.gitignore"
(
  cd "$lib"
  git init -q -b main && git add -A && git commit -q -m "hello-lib 1.2.0" && git tag -a -m "release 1.2.0" v1.2.0
  timed "lib: gopythongo-version" "$bin/gopythongo-version"
  timed "lib: gopythongo-build-venv --dist-only" "$bin/gopythongo-build-venv" --dist-only
  timed "lib: gopythongo-publish" "$bin/gopythongo-publish"
  printf '%s\n' "${times[@]}" > "$demo/lib-times"
)
mapfile -t times < "$demo/lib-times"
sed 's/^/  /' "$demo/lib: gopythongo-build-venv --dist-only.log" "$demo/lib: gopythongo-publish.log"
sed 's/^/  /' "$demo/lib: gopythongo-publish.out"
index=$lib/dist/repo/pypi/simple/

step "gopythongo-version, then gopythongo-test: the suites in a throwaway venv"
cd "$repo"
git checkout -q develop
# hello installs hello-lib from the library's pypi-dir: the loop of libraries
# built and consumed by applications, closed.
export GOPYTHONGO_VENV_INDEX_URL="file://$index" GOPYTHONGO_VENV_NO_INDEX=false GOPYTHONGO_VENV_FIND_LINKS="[]"
timed gopythongo-version "$bin/gopythongo-version"
timed gopythongo-test "$bin/gopythongo-test"
grep -E '^(suite|resolve|install|test venv)' "$demo/gopythongo-test.log" | sed 's/^/  /'
ls dist/test-results | sed 's/^/  dist\/test-results\//'

step "gopythongo-build-venv: the venv built at /opt/hello, into dist/root"
timed gopythongo-build-venv "$bin/gopythongo-build-venv"
sed 's/^/  /' "$demo/gopythongo-build-venv.log"
echo "  shebang of dist/root/opt/hello/bin/hello: $(head -1 dist/root/opt/hello/bin/hello)"
lib_info=(dist/root/opt/hello/lib/python3*/site-packages/hello_lib-*.dist-info)
echo "  hello-lib in the venv: ${lib_info[0]##*/}"
echo "  /opt/hello on this machine: $(test -e /opt/hello && echo exists || echo 'never created')"

step "The same inputs again: the warm wheel cache builds nothing and asks no index"
timed "gopythongo-build-venv (warm)" "$bin/gopythongo-build-venv"
grep -E 'resolve|check' "$demo/gopythongo-build-venv (warm).log" | sed 's/^/  /'

step "gopythongo-package: .deb, tar.gz and an OCI image layout"
fixtures=$(cd "$root" && go run ./tools/fixture -dir "$root/dist/fixtures")
base_root=$(sed -n 's/^root=//p' <<<"$fixtures")
base_image=$(sed -n 's/^image=//p' <<<"$fixtures")
export GOPYTHONGO_PACKAGE_OCI_BASE="oci-layout:$base_image:bookworm"
timed gopythongo-package "$bin/gopythongo-package" --format deb --format tar.gz --format oci
sed 's/^/  /' "$demo/gopythongo-package.log"
deb=$(ls dist/*.deb)
echo "  $(dpkg-deb --info "$deb" | grep -E '^ (Package|Version|Depends):' | tr -s ' ' | paste -sd ';')"
echo "  lintian: $(lintian --allow-root "$deb" 2>&1 | grep -vc '^running with root' || true) tag(s) raised"

step "gopythongo-publish: a signed apt repository and an OCI layout, in dist/repo"
# A throwaway signing key, made by gpg in a private home; the step reads it
# from the environment, as a CI secret.
gnupg=$(mktemp -d "$demo/gnupg.XXXXXX")
gpg --batch --homedir "$gnupg" --quiet --pinentry-mode loopback --passphrase '' --quick-gen-key "Hello Demo <demo@example.com>" ed25519 sign 1y 2>/dev/null
HELLO_REPO_KEY=$(gpg --batch --homedir "$gnupg" --armor --export-secret-keys demo@example.com)
export HELLO_REPO_KEY
agent=$(gpg-connect-agent --homedir "$gnupg" --no-autostart 'getinfo pid' /bye 2>/dev/null | sed -n 's/^D //p')
if [ -n "$agent" ]; then kill "$agent" 2>/dev/null || true; fi
rm -rf "$gnupg"
echo "  first a dry run: what each store holds and what would go there, nothing written"
"$bin/gopythongo-publish" --dry-run 2>/dev/null | sed 's/^/    /'
timed gopythongo-publish "$bin/gopythongo-publish"
sed 's/^/  /' "$demo/gopythongo-publish.log"
sed 's/^/  /' "$demo/gopythongo-publish.out"
echo "  a rerun publishes nothing: $("$bin/gopythongo-publish" 2>&1 | grep -c 'already there') of 2 stores say 'already there'"
oci_tag=$(sed -n 's/^oci_tag=//p' "$demo/gopythongo-version.out")
echo "  image layout: $(skopeo inspect "oci:dist/repo/oci:$oci_tag" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["Digest"], len(d["Layers"]), "layers")'), tags: $(python3 -c 'import json; print(" ".join(m["annotations"]["org.opencontainers.image.ref.name"] for m in json.load(open("dist/repo/oci/index.json"))["manifests"]))')"

step "pip installs hello-lib from the pypi-dir"
target=$(mktemp -d "$demo/pip-target.XXXXXX")
env -u PIP_FIND_LINKS PIP_CONFIG_FILE=/dev/null python3 -m pip install -q --no-cache-dir --disable-pip-version-check --root-user-action=ignore \
  --target "$target" --index-url "file://$index" hello-lib 2>&1 | sed 's/^/  /'
echo "  $(PYTHONPATH=$target python3 -c 'import hello_lib, importlib.metadata as m; print("hello-lib", m.version("hello-lib"), "->", hello_lib.greet("pip"))')"
rm -rf "$target"

step "apt-get installs hello from the signed apt-dir into a scratch Debian root, and runs it"
version_deb=$(sed -n 's/^debian=//p' "$demo/gopythongo-version.out")
if [ "$(id -u)" -eq 0 ]; then
  scratch=$(mktemp -d "$demo/debian-root.XXXXXX")
  tar -C "$scratch" -xf "$base_root"
  cp -a dist/repo/apt "$scratch/srv/apt"
  mkdir -p "$scratch/etc/apt/keyrings"
  cp dist/repo/apt/key.asc "$scratch/etc/apt/keyrings/hello.asc"
  echo "deb [signed-by=/etc/apt/keyrings/hello.asc] file:/srv/apt bookworm main" > "$scratch/etc/apt/hello.list"
  apt_opts=(-q -o Dir::Etc::sourcelist=/etc/apt/hello.list -o Dir::Etc::sourceparts=/nonexistent -o APT::Sandbox::User=root -o Acquire::Languages=none)
  echo "  \$ apt-get update && apt-get install hello=$version_deb   (only the demo's repository, verified with signed-by)"
  chroot "$scratch" apt-get "${apt_opts[@]}" update | sed 's/^/  /'
  if ! chroot "$scratch" apt-get "${apt_opts[@]}" install -y "hello=$version_deb" >"$demo/apt-get.log" 2>&1; then
    cat "$demo/apt-get.log"; echo "demo: apt-get install failed" >&2; exit 1
  fi
  grep -E '^(Get|Unpacking|Setting up)' "$demo/apt-get.log" | sed 's/^/  /'
  echo "  \$ /opt/hello/bin/hello Debian"
  chroot "$scratch" /opt/hello/bin/hello Debian | sed 's/^/  /'
  rm -rf "$scratch"
else
  echo "  (needs root for chroot; skipped)"
fi

step "Summary"
elapsed=$(( ($(date +%s%N) - started) / 1000000 ))
echo "  version: 6 builds versioned from one Git Flow history"
echo "  library: $(cd "$lib/dist" && ls python | paste -sd ' ') in $lib/dist/repo/pypi (PEP 503/691)"
echo "  test:    JUnit XML in $repo/dist/test-results"
echo "  venv:    $repo/dist/root/opt/hello, recorded in $repo/dist/gopythongo.json"
echo "  package: $(cd dist && ls *.deb *.tar.gz | paste -sd ' '), dist/oci (an OCI layout); SHA256SUMS and SBOMs beside them"
echo "  publish: $repo/dist/repo/apt (signed apt repository), $repo/dist/repo/oci (OCI layout, every tag)"
echo "  step times:"
printf '    %s\n' "${times[@]}"
echo "  the demo took ${elapsed} ms"

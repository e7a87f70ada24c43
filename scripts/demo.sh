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

step "Summary"
elapsed=$(( ($(date +%s%N) - started) / 1000000 ))
echo "  version: 6 builds versioned from one Git Flow history; state file in $repo/dist/gopythongo.json"
echo "  the demo took ${elapsed} ms"

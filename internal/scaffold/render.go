package scaffold

import (
	"fmt"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// SchemaURL is the JSON Schema of .gopythongo.yaml as the repository
// publishes it, for editors (yaml-language-server).
const SchemaURL = "https://raw.githubusercontent.com/gopythongo/gopythongo/main/docs/gopythongo.schema.json"

// q quotes a value for YAML where it needs it.
func q(s string) string {
	b, err := yaml.Marshal(s)
	if err != nil {
		return fmt.Sprintf("%q", s)
	}
	return strings.TrimSuffix(string(b), "\n")
}

func list(items []string) string {
	var qs []string
	for _, i := range items {
		qs = append(qs, q(i))
	}
	return "[" + strings.Join(qs, ", ") + "]"
}

// Config is the .gopythongo.yaml for the project: every value it sets is
// one the project needs as it stands, the rest are comments naming the keys
// a user reaches for next.
func Config(p *Project) []byte {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("# yaml-language-server: $schema=%s\n", SchemaURL)
	w("# GoPythonGo's configuration of %s, written by gopythongo-version --init from what\n", p.Name)
	w("# the project says. Every key: docs/config.md; check it all: gopythongo-<step> --check.\n")
	if len(p.CI) > 0 {
		w("# CI files found: %s (gopythongo-version --init --ci github|gitlab|jenkins|circleci\n# writes one that runs the five steps).\n", strings.Join(p.CI, ", "))
	}
	w("schema: 1\n\nproject:\n")
	w("  name: %s  # from %s\n", q(p.Name), p.NameFrom)
	w("  # The venv is built where it lives on the target, and cannot move from there.\n")
	w("  deploy_path: %s\n", q("/opt/"+p.Name))
	w("  # The target's interpreter; a .deb depends on the package that provides it.\n")
	w("  python: /usr/bin/python3")
	if p.RequiresPython != "" {
		w("  # requires-python %s: Debian 12 has 3.11", p.RequiresPython)
	}
	w("\n")
	if p.SourceURL != "" {
		w("  source_url: %s  # the git remote origin\n", q(p.SourceURL))
	}

	w("\nversion:\n")
	switch {
	case p.Tagged || !p.Git || p.Version == "":
		w("  # Git tags (v1.2.3) and the Git Flow branch: main at a tag is the release,\n")
		w("  # develop 1.3.0-dev.N, release/1.3.0 1.3.0-rc.N, feature/x 1.3.0-feature.x.N.\n")
		w("  source: git\n")
		if !p.Tagged {
			w("  # No version tag yet: tag the first release (git tag v0.1.0) before building main.\n")
			w("  initial: 0.1.0\n")
		}
	default:
		w("  # No version tag yet, so the version is pyproject.toml's (%s); Git Flow still\n", p.Version)
		w("  # makes develop and release builds pre-releases of it. Switch to source: git\n")
		w("  # once releases are tagged (v1.2.3).\n")
		w("  source: pyproject\n")
	}

	w("\ntest:\n")
	if p.TestExtra != "" && p.TestExtra != "test" {
		w("  extra: %s  # the extra with the test dependencies\n", q(p.TestExtra))
	}
	w("  suites:\n")
	names := make([]string, 0, len(p.Suites))
	for n := range p.Suites {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		w("    %s: {runner: %s, paths: [%s]}\n", n, p.Runner, q(p.Suites[n]))
	}
	if len(names) == 0 {
		w("    # No tests/ or test/ directory: this suite passes without tests until there are some.\n")
		w("    tests: {runner: pytest, allow_empty: true}\n")
	}

	w("\nvenv:\n")
	w("  builder: host  # a private mount namespace on the CI machine; chroot or container isolate more\n")
	if p.FixedVersion {
		w("  # The version is read from the source ([project] dynamic, no setuptools-scm):\n")
		w("  # the wheel keeps it, and the packages get the computed one. Keep the two in\n")
		w("  # step, or let setuptools-scm or hatch-vcs take the version from git.\n")
		w("  set_version: false\n")
	}
	switch {
	case p.Lock != "":
		w("  lock: %s  # installed exactly, every file checked against its hash\n", q(p.Lock))
	case len(p.Requirements) > 0:
		w("  requirements: %s\n", list(p.Requirements))
	default:
		w("  # The project's dependencies are resolved from the index; a lock file\n")
		w("  # (uv.lock, pylock.toml, poetry.lock) installs exactly: venv.lock.\n")
	}
	w("  # index_url: https://${PYPI_USER}:${PYPI_TOKEN}@pypi.example.com/simple  # credentials from the environment\n")
	if p.Compiled {
		w("  # The project compiles extensions: the build machine needs a compiler and the\n")
		w("  # headers (apt-get install gcc python3-dev); the .deb gets this machine's architecture.\n")
	}
	if p.Django {
		w("  # Django: static files collected into the venv at build time.\n")
		w("  # env: {DJANGO_SETTINGS_MODULE: %s.settings}\n", strings.ReplaceAll(p.Name, "-", "_"))
		w("  # post_build: [[-m, django, collectstatic, --noinput]]\n")
	}
	w("  # extra_files: [{src: config/app.ini, dst: etc/app.ini}]\n")

	w("\npackage:\n")
	w("  formats: [deb]  # also rpm, tar.gz, tar.zst, tar.xz, oci (oci needs package.oci.base)\n")
	w("  deb:\n")
	if p.Maintainer != "" {
		w("    maintainer: %s  # from %s\n", q(p.Maintainer), p.MaintainerFrom)
	} else {
		w("    # Nothing names a maintainer (pyproject.toml's authors, git config user.email):\n")
		w("    # replace this one.\n")
		w("    maintainer: %s\n", q(p.Name+" maintainers <root@localhost>"))
	}
	w("    # depends: [libpq5]  # what compiled dependencies link to\n")
	if len(p.Scripts) > 0 {
		w("  # A systemd unit in the .deb and .rpm, running a console script:\n")
		w("  # service: {exec: [%s]}\n", q("/opt/"+p.Name+"/bin/"+p.Scripts[0]))
		w("  # oci: {base: debian:bookworm-slim, entrypoint: [%s]}\n", q("/opt/"+p.Name+"/bin/"+p.Scripts[0]))
	} else {
		w("  # oci: {base: debian:bookworm-slim}\n")
	}

	w("\npublish:\n")
	w("  stores:\n")
	w("    # A Debian repository in dist/, to try the whole pipeline; replace it with yours.\n")
	w("    - {name: apt, type: apt-dir, path: dist/apt-repo, distribution: bookworm}\n")
	w("    # - {name: apt, type: aptly, url: https://aptly.example.com, distribution: bookworm, username: ci, password_env: APTLY_PASSWORD}\n")
	w("    # - {name: images, type: registry, repository: registry.example.com/%s, username: ci, password_env: REGISTRY_PASSWORD}\n", p.Name)
	w("    # - {name: pypi, type: pypi, url: https://upload.pypi.org/legacy/, password_env: PYPI_TOKEN}\n")
	return []byte(b.String())
}

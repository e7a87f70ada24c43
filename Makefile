# GoPythonGo. `make demo` runs the pipeline on examples/, `make test` every test.
SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(PATH)
GO ?= go
BIN := bin

# Debian packages that the tests and the demo run for real.
DEBS := git gcc python3-dev libpq-dev xz-utils dpkg-dev python3 python3-packaging python3-venv python3-setuptools python3-wheel python3-pytest python3-pip python3-pip-whl python3-setuptools-whl python3-wheel-whl groovy default-jre-headless lintian rpm skopeo podman mmdebstrap debian-archive-keyring zstd time gnupg aptly docker-registry twine apache2-utils shellcheck runc debootstrap rsync pigz

.PHONY: all build deps vet test demo bench fuzz clean

all: build

# Static, stamped binaries: --version names the release (git describe), the
# commit and the Go that built them.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
build:
	CGO_ENABLED=0 $(GO) build -buildvcs=true -trimpath -ldflags "-s -w -X github.com/gopythongo/gopythongo/internal/cli.stamp=$(VERSION)" -o $(BIN)/ ./steps/...

# dist/ holds Debian roots and podman's storage, whose files include Go
# sources (git's contrib docs); a go.mod of its own keeps it out of ./...
dist/go.mod:
	@mkdir -p dist && printf 'module gopythongo.invalid/dist\n' > dist/go.mod

deps: dist/go.mod
	@scripts/install-deps $(DEBS)
	@scripts/install-pytools
	@scripts/install-citools
	@scripts/fetch-corpus

# The longest packages first: go test runs two at a time on two cores, and
# the longest, started last, would run alone at the end (585 -> 549 s).
SLOW_TESTS := ./internal/venv ./internal/cigen ./internal/steps ./internal/pack

# vet compiles every package while deps mostly downloads and installs.
test:
	@$(MAKE) --no-print-directory -j2 deps vet
	$(GO) test -count=1 -timeout 14m $(SLOW_TESTS) ./...

vet: dist/go.mod
	$(GO) vet ./...

demo: deps build
	@scripts/demo.sh

# Benchmarks print ratios against the peers; they are not part of make test.
bench: build
	$(GO) run ./bench/version
	$(GO) run ./bench/venv
	$(GO) run ./bench/deb
	$(GO) run ./bench/chroot

# Every fuzz test for FUZZTIME (30s) each; the seed corpora run in make test anyway.
fuzz:
	@GO=$(GO) scripts/fuzz

clean:
	rm -rf $(BIN) dist

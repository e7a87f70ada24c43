# GoPythonGo. `make demo` runs the pipeline on examples/, `make test` every test.
SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(PATH)
GO ?= go
BIN := bin

# Debian packages that the tests and the demo run for real.
DEBS := git dpkg-dev python3 python3-packaging python3-venv python3-setuptools python3-wheel python3-pytest python3-pip python3-pip-whl python3-setuptools-whl python3-wheel-whl groovy default-jre-headless lintian rpm skopeo podman mmdebstrap debian-archive-keyring zstd time gnupg aptly docker-registry twine apache2-utils shellcheck runc debootstrap

.PHONY: all build deps test demo bench fuzz clean

all: build

build:
	$(GO) build -trimpath -ldflags "-s -w" -o $(BIN)/ ./steps/...

deps:
	@scripts/install-deps $(DEBS)

test: deps
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 14m ./...

demo: deps build
	@scripts/demo.sh

# Benchmarks print ratios against the peers; they are not part of make test.
bench: build
	$(GO) run ./bench/version
	$(GO) run ./bench/venv
	$(GO) run ./bench/deb
	$(GO) run ./bench/chroot

# A short run of every fuzz test; the seed corpus runs in make test anyway.
fuzz:
	@for f in $$($(GO) test -list 'Fuzz.*' ./internal/version/ | grep ^Fuzz); do \
	  $(GO) test ./internal/version/ -run XXX -fuzz "^$$f\$$" -fuzztime 20s || exit 1; done

clean:
	rm -rf $(BIN) dist

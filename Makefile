# hagent + hactl. `make test` is what CI runs (as root); see README.md.
GO        ?= go
BIN       ?= bin
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
# grpcnotrace: gRPC without x/net/trace, which pulls in html/template and its
# reflection (a quarter of the binary, resident pages for nothing we use).
TAGS      ?= grpcnotrace
# Static and stripped: no libc mapped, a smaller binary, less resident memory.
export CGO_ENABLED ?= 0
# Fuzzing budgets as execution counts (about 10 s each here), not durations: Go 1.26's
# fuzz coordinator can report a clean stop at a -fuzztime deadline as a failure
# ("context deadline exceeded", no crasher; golang/go#75804, fixed in Go 1.27), which a
# count never reaches.
FUZZ_VRRP   ?= 400000x
FUZZ_CONFIG ?= 80000x
TESTFLAGS ?= -timeout 40m
# The build tools (buf, protoc plugins, staticcheck, nfpm) are pinned in their own module.
TOOL      := $(GO) tool -modfile=tools/go.mod

.PHONY: all build test unit fuzz lint verify-unit gen gen-check package bench demo demo-down clean race

all: build

build:
	$(GO) build -trimpath -tags '$(TAGS)' -ldflags '$(LDFLAGS)' -o $(BIN)/hagent ./cmd/hagent
	$(GO) build -trimpath -tags '$(TAGS)' -ldflags '$(LDFLAGS)' -o $(BIN)/hactl ./cmd/hactl

# Every test, the lab's end-to-end ones included (they need root and network namespaces),
# then each fuzz target for a bounded time.
test: build
	$(GO) test $(TESTFLAGS) ./...
	$(MAKE) fuzz

# The tests that need neither root nor the lab.
unit:
	$(GO) test ./agent/vrrp/ ./agent/config/

# The race detector (needs cgo) over the agent's packages, and over the lab tests that
# drive reloads with a race-built agent: the lab fails a test whose agent logged a
# data race (e2e's TestMain builds that agent when HAGENT_RACE=1). Not part of `test`:
# it takes a few minutes.
RACE_E2E ?= Reload
race:
	CGO_ENABLED=1 $(GO) test -race -count=1 ./agent/...
	HAGENT_RACE=1 $(GO) test -count=1 -run '$(RACE_E2E)' ./e2e/

fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZ_VRRP) ./agent/vrrp/
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZ_CONFIG) ./agent/config/

lint: gen-check
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '^gen/')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(TOOL) staticcheck ./...
	$(TOOL) buf lint
	$(TOOL) buf format --exit-code -d
	$(MAKE) verify-unit

# systemd-analyze verify wants the unit's binaries to exist: check a copy that points at
# the one just built.
verify-unit: build
	@d=$$(mktemp -d) && sed 's|/usr/sbin/hagent|$(CURDIR)/$(BIN)/hagent|g' deploy/hagent.service > $$d/hagent.service && \
	systemd-analyze verify $$d/hagent.service; rc=$$?; rm -rf $$d; exit $$rc

# The .deb and .rpm (nfpm, pinned in tools/go.mod) of $(BIN)'s binaries:
# dist/hagent_<v>_amd64.deb and dist/hagent-<v>.x86_64.rpm. <v> is the last v* tag
# without its v (0.0.0 without one), then +git<commit> when HEAD is not that tag.
PKG_VERSION ?= $(shell d=$$(git describe --tags --match 'v[0-9]*' --long 2>/dev/null); \
	if [ -n "$$d" ]; then echo "$$d" | sed -E 's/^v//; s/-0-g[0-9a-f]+$$//; s/-([0-9]+)-g([0-9a-f]+)$$/+\1.git\2/'; \
	else echo "0.0.0+git$$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"; fi)
DIST ?= dist

package: build
	@mkdir -p $(DIST)
	@mkdir -p $(BIN)/pkg
	gzip -9n < deploy/hagent.8 > $(BIN)/pkg/hagent.8.gz
	gzip -9n < deploy/hactl.1 > $(BIN)/pkg/hactl.1.gz
	sed 's/@VERSION@/$(PKG_VERSION)/' deploy/package/changelog | gzip -9n > $(BIN)/pkg/changelog.Debian.gz
	sed 's|@BIN@|$(BIN)|g' deploy/nfpm.yaml > $(BIN)/pkg/nfpm.yaml
	PKG_VERSION=$(PKG_VERSION) $(TOOL) nfpm package -f $(BIN)/pkg/nfpm.yaml -p deb -t $(DIST)/hagent_$(PKG_VERSION)_amd64.deb
	PKG_VERSION=$(PKG_VERSION) $(TOOL) nfpm package -f $(BIN)/pkg/nfpm.yaml -p rpm -t $(DIST)/hagent-$(PKG_VERSION).x86_64.rpm

gen:
	$(TOOL) buf generate

# Fails when gen/ is not what `make gen` writes from proto/.
gen-check: gen
	@git diff --exit-code --stat -- gen/ || { echo "gen/ is stale: run make gen and commit"; exit 1; }
	@test -z "$$(git status --porcelain -- gen/)" || { git status --porcelain -- gen/; echo "gen/ has files not committed: run make gen and commit"; exit 1; }

# Side-by-side measurements with keepalived in the lab; writes lab/results/.
bench: build
	$(GO) test -run '^$$' -bench . -benchmem ./agent/vrrp/ ./agent/config/
	HAGENT=$(CURDIR)/$(BIN)/hagent lab/bench.sh

# The two-node lab with the console attached; quitting the console leaves the lab up.
demo: build
	lab/demo.sh

demo-down:
	lab/lab.sh down

clean:
	rm -rf $(BIN) $(DIST)

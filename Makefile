# Orbit. `make dev` runs everything locally; `make test` runs the test suite.
SHELL := /bin/bash
GO_FILES = $(shell git ls-files '*.go')
SQLC_VERSION := v1.31.1
TOOLS := $(or $(ORBIT_TOOLS),$(HOME)/.cache/orbit/tools)
SQLC := $(TOOLS)/sqlc-$(SQLC_VERSION)/sqlc

.PHONY: dev build test lint deps generate check-generated fuzz images

## dev: build the binaries and run `mothership dev` (NATS hub, SQLite, API, one simulated satellite)
dev: build
	bin/mothership dev

## build: build mothership, satellite and orbit into bin/
build:
	go build -o bin/ ./cmd/mothership ./cmd/satellite ./cmd/orbit

VERSION := $(shell cat VERSION)
IMAGE_REGISTRY ?= ghcr.io/orbitcp
IMAGES_DIR ?= bin/images
REVISION := $(shell git rev-parse HEAD 2>/dev/null)

## images: build the mothership and satellite images (static, non-root, reproducible) into
## $(IMAGES_DIR)/<name>.tar and the OCI layout $(IMAGES_DIR)/<name>/, without a container daemon
images:
	mkdir -p $(IMAGES_DIR)/build
	go build -o $(IMAGES_DIR)/build/imagebuild ./deploy/imagebuild
	@set -e; for b in mothership satellite; do \
		CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -buildid= -X main.version=$(VERSION)" -o $(IMAGES_DIR)/build/$$b ./cmd/$$b; \
		$(IMAGES_DIR)/build/imagebuild -binary $(IMAGES_DIR)/build/$$b -name $$b -repository $(IMAGE_REGISTRY)/$$b \
			-version $(VERSION) -revision "$(REVISION)" -out $(IMAGES_DIR); done

## test: install what the tests need (PostgreSQL, the Kubernetes binaries, helm), build the
## images, vet, check formatting, run every test with -race
test: lint images
	ORBIT_TEST_POSTGRES="$$(tests/deps.sh)" ORBIT_IMAGES="$(CURDIR)/$(IMAGES_DIR)" go test -race -timeout 40m ./...

lint:
	go vet ./...
	@unformatted="$$(gofmt -l $(GO_FILES))"; if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi

$(SQLC):
	GOBIN=$(dir $(SQLC)) go install github.com/sqlc-dev/sqlc/cmd/sqlc@$(SQLC_VERSION)

## generate: regenerate db/internal/{sqlitegen,pggen} from queries/ and the migrations, then the store's domain layer
generate: $(SQLC)
	$(SQLC) generate
	go run ./db/internal/storegen

## check-generated: fail if the committed generated code is not what sqlc produces
check-generated: $(SQLC)
	$(SQLC) diff
	go run ./db/internal/storegen -check

FUZZTIME ?= 10s
## fuzz: run every fuzz target for FUZZTIME each (CI: 10s)
fuzz:
	@for t in FuzzDecodePSC FuzzDecodeStatus FuzzDecodeSatellite FuzzParseKey; do \
		go test -run='^$$' -fuzz="^$$t\$$" -fuzztime=$(FUZZTIME) ./kv/ || exit 1; done
	go test -run='^$$' -fuzz='^FuzzValidate$$' -fuzztime=$(FUZZTIME) ./kv/kafkaconf/
	@for t in FuzzParseApply FuzzDecodeClusterSpec; do \
		go test -run='^$$' -fuzz="^$$t\$$" -fuzztime=$(FUZZTIME) ./mothership/frontend/ || exit 1; done

# Promogate developer commands. See README for details.
#
#   make build       bin/promogate and every plugin binary into bin/plugins/
#   make run         build, start the private PostgreSQL cluster if DATABASE_URL
#                    is unset, then serve on 127.0.0.1:8080 (scripts/run.sh)
#   make member-token REF=demo-anna
#                    development only: print a member token that `make run` trusts
#                    (scripts/member-token.sh)
#   make test        go vet + go test of every Go module against a private cluster (scripts/test.sh)
#   make generate    graph/ from the schema (gqlgen) and the TypeScript client's types
#   make lint        in every Go module: go.mod tidy, then golangci-lint (.golangci.yml; version pinned in tools/go.mod)
#   make console     rebuild the marketing console (ui/) into server/console/dist (needs Node.js)
#   make console-check  rebuild it and fail if the committed build or types differ
#   make pg-start    start the private development cluster (.data/pg)
#   make pg-stop     stop it
#   make clean       remove bin/
#   make clean-data  stop the private clusters and remove .data/

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

GO ?= go
BIN := bin
PLUGIN_BIN := $(BIN)/plugins
# GO_MODULES are the core module and every nested one (the plugin SDK has its own go.mod).
GO_MODULES := . $(patsubst %/go.mod,%,$(shell find plugins -name go.mod -not -path '*/node_modules/*' | sort))

.PHONY: all build build-server build-plugins run member-token test generate proto bench lint console console-check \
	pg-start pg-stop clean clean-data

all: build

build: build-server build-plugins

build-server:
	$(GO) build -o $(BIN)/promogate ./server

# Every directory plugins/*/ or plugins/examples/*/ whose package is main in the core module
# becomes bin/plugins/<directory name>. The template plugin plugins/examples/firstpurchase is a
# module of its own (as a partner's is) and is not built here: docs/partners.md builds and
# registers it, and `make run` must not register a firstpurchase 1.0.0 of its own first.
build-plugins:
	@mkdir -p $(PLUGIN_BIN)
	@for d in plugins/*/ plugins/examples/*/; do \
		[[ -d $$d ]] || continue; \
		[[ -f $${d}go.mod ]] && continue; \
		compgen -G "$$d*.go" >/dev/null || continue; \
		name=$$($(GO) list -e -f '{{.Name}}' "./$$d"); \
		[[ $$name == main ]] || continue; \
		echo "$(GO) build -o $(PLUGIN_BIN)/$$(basename $$d) ./$${d%/}"; \
		$(GO) build -o "$(PLUGIN_BIN)/$$(basename $$d)" "./$${d%/}"; \
	done

run: build
	./scripts/run.sh $(ARGS)

member-token: build-server
	./scripts/member-token.sh $(REF)

test:
	./scripts/test.sh $(ARGS)

# generate also rewrites the TypeScript client's types and documents (clients/typescript/src/gen)
# from the schema; proto also rewrites the TypeScript plugin SDK's descriptors. Both need npm.
generate:
	$(GO) tool gqlgen generate
	@$(call npm_run,clients/typescript,generate)

# The console's built files are committed (go build needs no Node.js); this rebuilds them and
# the GraphQL types generated from the schema files.
console:
	npm ci --prefix ui --no-audit --no-fund
	npm run --prefix ui codegen
	npm run --prefix ui build

# CI: the committed build and generated types must be what the sources produce.
console-check: console
	@changed=$$(git status --porcelain -- server/console/dist ui/src/gql); \
	if [[ -n $$changed ]]; then git diff --stat -- server/console/dist ui/src/gql; echo "$$changed"; \
		echo "server/console/dist or ui/src/gql differ from a fresh build of ui/: run 'make console' and commit"; exit 1; fi

proto:
	./scripts/proto.sh
	@$(call npm_run,plugins/sdk-ts,proto)

# npm_run runs `npm run $(2)` in the npm package $(1), installing its locked dependencies first
# if needed; without npm it says what it did not regenerate (make test's checks then fail if
# that was needed).
define npm_run
if command -v npm >/dev/null 2>&1; then \
	[[ -d $(1)/node_modules ]] || npm ci --prefix $(1) --no-audit --no-fund; \
	echo "npm run $(2) (in $(1))"; (cd $(1) && npm run --silent $(2)); \
else \
	echo "npm not found: $(1) not regenerated" >&2; \
fi
endef

bench:
	./scripts/bench.sh $(ARGS)

# golangci-lint is built from the version tools/go.mod pins, so a fresh clone needs only Go.
GOLANGCI_LINT := $(BIN)/golangci-lint

$(GOLANGCI_LINT): tools/go.mod tools/go.sum
	$(GO) -C tools build -o ../$(GOLANGCI_LINT) github.com/golangci/golangci-lint/v2/cmd/golangci-lint

lint: $(GOLANGCI_LINT)
	@for m in $(GO_MODULES); do \
		echo "(cd $$m && $(GO) mod tidy -diff && $(GOLANGCI_LINT) run ./...)"; \
		(cd $$m && $(GO) mod tidy -diff && $(abspath $(GOLANGCI_LINT)) run --allow-parallel-runners ./...); \
	done

pg-start:
	./scripts/pgcluster.sh start

pg-stop:
	./scripts/pgcluster.sh stop

clean:
	rm -rf $(BIN)

clean-data:
	./scripts/pgcluster.sh destroy .data/pg
	./scripts/pgcluster.sh destroy .data/pg-test
	rm -rf .data

# azvql: see README.md. `make run` then `make test` on a fresh clone.
GO      ?= go
BIN     := bin
VQL     := $(BIN)/vql
DEMO    := tests/fixtures
FUZZTIME ?= 60s

.PHONY: all build run timeline test vet fmt-check tidy-check cross bench fuzz clean

all: build

build:
	$(GO) build -o $(VQL) ./vql

# The main job on the bundled demo evidence (a Linux VM with Run Command v1,
# one with managed Run Command v2, one with the Custom Script Extension, and a
# Windows VM's C: drive): every execution found, as a table.
DEMO_TREES := linux linux-rc2 linux-cse windows
run: build
	@$(VQL) fixtures touch $(DEMO)
	@$(VQL) query --format table --env srcDir=$(CURDIR) --env Trees="$(DEMO_TREES)" \
	  "SELECT Tree AS Evidence, Started, Handler, HandlerVersion AS Version, \
	          ExtensionName AS Name, SeqNo, \
	          split(string=regex_replace(source=Command, re='^#![^\\n]*\\n', replace=''), sep='\\n')[0] AS Command, \
	          Status, ExitCode, split(string=StdOut, sep='\\n')[0] AS Output \
	   FROM foreach(row={ SELECT _value AS Tree FROM foreach(row=split(string=Trees, sep=' ')) }, \
	     query={ SELECT Tree, * FROM Artifact.Generic.Azure.Executions( \
	               Root=srcDir + '/$(DEMO)/' + Tree, source='Executions') })"

# The demo Windows VM's story on one line per event (Generic.Azure.Timeline;
# TREE=linux-rc2 for another tree).
TREE ?= windows
timeline: build
	@$(VQL) fixtures touch $(DEMO)
	@$(VQL) query --format table --env Tree=$(CURDIR)/$(DEMO)/$(TREE) \
	  "SELECT Time, TimeKind, Source, Summary FROM Artifact.Generic.Azure.Timeline(Root=Tree, source='Timeline') \
	   WHERE Source =~ 'Executions|AgentLog|GoalState|Telemetry|Processes|PowerShell'"

# Everything CI runs. The adversarial suite (184 cases, each a real vql
# process) takes 1-2 minutes alone and went past go test's default
# 10-minute limit on a machine loaded 15-20 deep: hence -timeout.
test: build
	$(GO) test -timeout 30m ./...
	$(VQL) artifacts verify

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

# go.mod and go.sum are what `go mod tidy` would write (direct
# requirements not marked indirect, nothing missing or unused).
# tools/velociraptor's go.mod is not checked here: it resolves this module
# only through the build workspace (build/go.work), which tidy ignores.
tidy-check:
	@$(GO) mod tidy -diff || { echo "go.mod/go.sum are not tidy: run go mod tidy"; exit 1; }

# The binary goes onto every endpoint of a fleet.
cross:
	GOOS=windows GOARCH=amd64 $(GO) build -o $(BIN)/vql-windows-amd64.exe ./vql
	GOOS=linux   GOARCH=arm64 $(GO) build -o $(BIN)/vql-linux-arm64 ./vql
	GOOS=darwin  GOARCH=arm64 $(GO) build -o $(BIN)/vql-darwin-arm64 ./vql
	GOOS=linux   GOARCH=amd64 $(GO) build -o $(BIN)/vql-linux-amd64 ./vql

# Go benchmarks of every parser and of the output path, then every line of
# issue 18's table (tests/integration/bench-table.sh): ours, the floor,
# stock Velociraptor when bin/velociraptor-azvql exists, ratios; pinned to
# one core and on two; medians of BENCH_RUNS. The generated log and trees
# are kept between runs (BENCH_LOG, BENCH_TREES). About 8 minutes for the
# table on an idle machine (docs/performance.md); BENCH_RUNS=1 for 2.
BENCH_RUNS   ?= 5
BENCH_EXEC_N ?= 10000
bench: build
	$(GO) test -run '^$$' -bench . -benchmem ./plugins/... ./vql/...
	BENCH_EXEC_N="$(BENCH_EXEC_N)" tests/integration/bench-table.sh $(BENCH_LOG) $(BENCH_SIZE) $(BENCH_RUNS)

# Runs every fuzz target for FUZZTIME each.
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$t"; $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

clean:
	rm -rf $(BIN)

# ---------------------------------------------------------------------------
# Velociraptor v0.75.2 with every azvql plugin compiled in (tools/velociraptor,
# its own go.mod; docs/velociraptor.md). The binary is rebuilt only when what
# it is built from changed: VR_STAMP holds a digest of those inputs and is
# rewritten (its time moves) only when the digest differs.
VR        := $(BIN)/velociraptor-azvql
VR_STAMP  := build/velociraptor.inputs
VR_INPUTS  = go.mod go.sum $(shell find plugins tools/velociraptor -type f \
               \( -name '*.go' -o -name '*.in' -o -name '*.sh' -o -name go.mod -o -name go.sum \) \
               ! -name '*_test.go' ! -path '*/testdata/*' | LC_ALL=C sort)
BENCH_SIZE ?= 200MB
BENCH_LOG  ?= /tmp/azvql-bench/waagent-$(BENCH_SIZE).log

.PHONY: velociraptor velociraptor-stock test-integration bench-compare FORCE

velociraptor: $(VR)

$(VR): $(VR_STAMP)
	tools/velociraptor/build.sh $@

$(VR_STAMP): FORCE
	@mkdir -p $(@D)
	@{ $(GO) version; echo "CGO_ENABLED=$${CGO_ENABLED:-0}"; sha256sum $(VR_INPUTS); } > $@.new
	@if cmp -s $@.new $@; then rm -f $@.new; else mv $@.new $@; fi

# Stock Velociraptor v0.75.2, built like $(VR) but without the azvql plugins
# (tools/velociraptor/build.sh --stock), for the exchange tests. Rebuilt only
# when the Go version or what the build script and workspace read changed.
VR_STOCK       := $(BIN)/velociraptor-stock
VR_STOCK_STAMP := build/velociraptor-stock.inputs

velociraptor-stock: $(VR_STOCK)

$(VR_STOCK): $(VR_STOCK_STAMP)
	tools/velociraptor/build.sh --stock $@

$(VR_STOCK_STAMP): FORCE
	@mkdir -p $(@D)
	@{ $(GO) version; echo "CGO_ENABLED=$${CGO_ENABLED:-0}"; \
	   sha256sum go.mod go.sum tools/velociraptor/go.mod tools/velociraptor/go.sum tools/velociraptor/build.sh; } > $@.new
	@if cmp -s $@.new $@; then rm -f $@.new; else mv $@.new $@; fi

# The adapter's own tests (in the build workspace), then every golden
# testcase, artifact verification, collections on the fixtures and through a
# dead-disk remapping, all under the custom Velociraptor; then, under the
# stock one and with no tools server, the exchange editions with VqlBinary and
# import_collection() (tests/exchange/run.sh), an offline collector built,
# run and imported, and a server + enrolled client collecting every Linux
# edition with only the Linux tools uploaded (tests/exchange/fleet.sh).
test-integration: build velociraptor velociraptor-stock
	cd tools/velociraptor && GOWORK=$(CURDIR)/build/go.work GONOSUMDB=www.velocidex.com $(GO) vet ./... && \
	  GOWORK=$(CURDIR)/build/go.work GONOSUMDB=www.velocidex.com $(GO) test ./...
	tests/integration/run.sh
	VELOCIRAPTOR=$(VR_STOCK) tests/exchange/run.sh
	VELOCIRAPTOR=$(VR_STOCK) tests/exchange/fleet.sh

# An offline collector (one Linux binary) holding every Linux and Generic
# exchange edition and the vql tools, built from this release's binaries
# (docs/exchange.md). COLLECTOR_ARGS: parameters for every artifact.
COLLECTOR      ?= $(BIN)/azvql-collector-linux-amd64
COLLECTOR_ARGS ?=
.PHONY: offline-collector
offline-collector: build cross velociraptor-stock
	rm -f $(COLLECTOR)
	VELOCIRAPTOR=$(VR_STOCK) VQL=$(VQL) TOOLS_DIR=$(BIN) tools/exchange/collector.sh $(COLLECTOR) $(COLLECTOR_ARGS)

# azure_waagent_log under vql against the best stock VQL under Velociraptor,
# on the same generated log (kept in BENCH_LOG between runs).
bench-compare: build velociraptor
	tests/integration/bench-compare.sh $(BENCH_LOG) $(BENCH_SIZE)

# Hark: `make run` starts the demo server (offline engines by default);
# `make test` runs every test. Both install what they need first (`make deps`).

GO        ?= go
HARK_CACHE ?= $(HOME)/.cache/hark
export HARK_CACHE
# A count, not a duration: a duration's deadline can end a run with a spurious
# "context deadline exceeded" (a race in Go's fuzz coordinator before Go 1.27).
FUZZTIME  ?= 5000x

.PHONY: deps run test check fuzz bench

deps:
	@bash .ci/deps

run: deps
	$(GO) run ./examples/server

check:
	@echo "[test] gofmt"; test -z "$$(gofmt -l .)" || { gofmt -l .; echo "gofmt needed"; exit 1; }
	@echo "[test] go vet"; $(GO) vet ./... && $(GO) vet -tags speexdsp ./vad/aec/... ./examples/bench

# The robustness package (100 concurrent sessions in real time) runs on its
# own after the rest, so other packages' tests do not starve it of CPU.
ROBUST := ./agent/internal/robustness

test: deps check
	@echo "[test] go test -race"
	$(GO) test -race -timeout 30m $$($(GO) list ./... | grep -v '/agent/internal/robustness$$')
	@echo "[test] go test -race $(ROBUST)"
	$(GO) test -race -timeout 10m $(ROBUST)
	@$(MAKE) --no-print-directory fuzz

# Short runs of every fuzz target (seed corpora run in `go test` already).
fuzz:
	@grep -rl --include='*_test.go' '^func Fuzz' . | xargs -r -n1 dirname | sort -u | while read -r pkg; do \
		for f in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$pkg/*_test.go | sed 's/func //'); do \
			echo "[fuzz] $$pkg $$f"; \
			$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
		done; \
	done

# The speexdsp tag adds speexdsp's echo canceller beside Hark's in the aec
# section (cgo, libspeexdsp-dev from deps); nothing else uses it.
bench: deps
	$(GO) run -tags speexdsp ./examples/bench

# Build, test and benchmark hijack. The README's two commands, scripts/demo
# and scripts/test, install what is missing and then use these targets.

GO ?= go
BIN := bin

.PHONY: all build test bench demo clean install

all: build

build:
	mkdir -p $(BIN)
	CGO_ENABLED=1 $(GO) build -o $(BIN)/ ./cmd/hijackd
	CGO_ENABLED=0 $(GO) build -o $(BIN)/ ./cmd/hijack-exec ./cmd/hijack-rumpserver

test:
	scripts/test

demo:
	scripts/demo

# One run of every benchmark, then the table of ratios: each pair was
# measured in the same run, since these machines are shared and noisy.
bench:
	mkdir -p $(BIN)
	$(GO) test -run '^$$' -bench . -benchtime 100000x ./test/ ./test/conformance/ \
		| tee $(BIN)/bench.txt
	@awk -f scripts/benchtable.awk $(BIN)/bench.txt

PREFIX ?= /usr/local
DESTDIR ?=

# Installs bin/ (run make build first, not as root), the systemd units and
# the group hijack; deploy/install.sh says what goes where.
install:
	PREFIX=$(PREFIX) DESTDIR=$(DESTDIR) deploy/install.sh

clean:
	rm -rf $(BIN)

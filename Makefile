# Herald — the two commands of the quick start are `make run` and `make test`.
# Both install whatever system packages are missing (quietly when nothing is), then build.

SHELL := /bin/bash
SWIFT ?= swift
SYSTEM_PACKAGES := libpq-dev libcurl4-openssl-dev libphonenumber-dev postgresql pkg-config
TEST_PACKAGES := chromium chromium-driver python3 python3-pip
PYTHON_PACKAGES := pytest requests selenium schemathesis
PYTHON ?= python3
BENCH_PACKAGES := wrk
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps test-deps bench-deps build release run test test-swift test-e2e bench clean

all: build

# Installs only what is missing; runs `apt-get update` only when something must be installed.
deps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing system packages:$$missing"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

# Browser and Python packages for the end-to-end suites.
test-deps: deps
	@missing=""; for p in $(TEST_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ] && ! { command -v chromium >/dev/null && command -v chromedriver >/dev/null && command -v $(PYTHON) >/dev/null; }; then \
	  echo "Installing system packages:$$missing"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	@$(PYTHON) -c "import pytest, requests, selenium, schemathesis" 2>/dev/null || \
	  $(PYTHON) -m pip install -q $(PYTHON_PACKAGES) 2>/dev/null || \
	  $(PYTHON) -m pip install -q --break-system-packages $(PYTHON_PACKAGES)

bench-deps:
	@missing=""; for p in $(BENCH_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

build: deps
	$(SWIFT) build --product herald

release: deps
	$(SWIFT) build -c release --product herald

# Builds and starts Herald on the embedded PostgreSQL with the outbox provider.
# It prints the dashboard URL and the first admin login. Ctrl-C stops it (and the database).
run: build
	$$($(SWIFT) build --show-bin-path)/herald serve

test: test-deps test-swift test-e2e

test-swift: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

# The real binary, its embedded PostgreSQL and headless Chromium.
test-e2e: test-deps
	$(SWIFT) build --product herald
	HERALD_BIN=$$($(SWIFT) build --show-bin-path)/herald SE_OFFLINE=true $(PYTHON) -m pytest -q tests/e2e

# Benchmarks against baselines measured in the same run (not part of `make test`).
bench: deps bench-deps
	$(SWIFT) build -c release --product herald-bench
	$$($(SWIFT) build -c release --show-bin-path)/herald-bench

clean:
	rm -rf .build

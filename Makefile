# Herald — the two commands of the quick start are `make run` and `make test`.
# Both install whatever system packages are missing (quietly when nothing is), then build.

SHELL := /bin/bash
SWIFT ?= swift
SYSTEM_PACKAGES := libpq-dev libcurl4-openssl-dev libphonenumber-dev postgresql pkg-config
TEST_PACKAGES := chromium chromium-driver
PYTHON_PACKAGES := pytest requests selenium schemathesis twilio
PYTHON ?= python3
BENCH_PACKAGES := wrk
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps test-deps bench-deps build release run check test test-swift test-e2e bench clean

all: build

# $(call install-missing,PACKAGES): installs the Debian packages that are not installed yet;
# runs `apt-get update` only when something must be installed, and is quiet otherwise.
define install-missing
	@missing=""; for p in $(1); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing system packages:$$missing"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
endef

deps:
	$(call install-missing,$(SYSTEM_PACKAGES))

# Chromium, its driver and the Python packages of the end-to-end suites.
test-deps: deps
	$(call install-missing,$(TEST_PACKAGES))
	@$(PYTHON) -m pip --version >/dev/null 2>&1 || { \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-pip >/dev/null; }
	@$(PYTHON) -c "import pytest, requests, selenium, schemathesis, twilio" 2>/dev/null || \
	  $(PYTHON) -m pip install -q $(PYTHON_PACKAGES) 2>/dev/null || \
	  $(PYTHON) -m pip install -q --break-system-packages $(PYTHON_PACKAGES)

bench-deps:
	$(call install-missing,$(BENCH_PACKAGES))

build: deps
	$(SWIFT) build --product herald

release: deps
	$(SWIFT) build -c release --product herald

# Builds and starts Herald on the embedded PostgreSQL with the outbox provider.
# It prints the dashboard URL and the first admin login. Ctrl-C stops it (and the database).
# Private networks are allowed (unless set otherwise) so providers can point at the local simulator.
run: build
	HERALD_ALLOW_PRIVATE_NETWORKS=$${HERALD_ALLOW_PRIVATE_NETWORKS:-true} $$($(SWIFT) build --show-bin-path)/herald serve

# The fast lane for day-to-day work: build, then the Swift suites (no e2e scale runs, no
# browser). `make test` is the complete run CI executes.
check: test-swift

test: test-deps test-swift test-e2e

test-swift: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

# The real binary, its embedded PostgreSQL and headless Chromium.
test-e2e: test-deps
	$(SWIFT) build --product herald
	HERALD_BIN=$$($(SWIFT) build --show-bin-path)/herald SE_OFFLINE=true $(PYTHON) -m pytest -q -rfE tests/e2e

# Benchmarks against baselines measured in the same run (not part of `make test`).
bench: deps bench-deps
	$(SWIFT) build -c release --product herald-bench
	$(SWIFT) build -c release --product herald  # the dispatch benchmark runs `herald provider-sim`
	$$($(SWIFT) build -c release --show-bin-path)/herald-bench

clean:
	rm -rf .build

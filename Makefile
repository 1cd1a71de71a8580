# The whole set-up lives here: `make demo` and `make test` install what they need themselves.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SYSTEM_STAMP := .system-deps-checked
NPM_DIR := .tools/npm

.PHONY: test test-fast demo bench lint deps system-deps clean help

help:
	@echo "make demo   - real registry + Marathon simulator, a sample fleet: get, dates, status, diff, the three rules' plans (a failed release reverted by hand: good skips it, ran flags it), --at, run --only, plan, run"
	@echo "make test   - install everything needed and run the whole test suite"
	@echo "make test-fast - the socket-free unit tier only (tests/unit; no servers)"
	@echo "make bench  - run the benchmarks (prints tables; see docs/performance.md)"

deps: $(STAMP) system-deps

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

# Debian packages the tests and the demo run for real: the Docker registry server, htpasswd,
# Groovy (Jenkinsfile syntax check), Chromium (renders the HTML report in a test), ZooKeeper (the shared
# state store's tests start a real server; it pulls in Java). Installed when missing and running as root.
system-deps:
	@missing=""; \
	command -v docker-registry >/dev/null 2>&1 || missing="$$missing docker-registry"; \
	command -v htpasswd >/dev/null 2>&1 || missing="$$missing apache2-utils"; \
	command -v groovy >/dev/null 2>&1 || missing="$$missing groovy"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	[ -f /usr/share/java/zookeeper.jar ] && command -v java >/dev/null 2>&1 || missing="$$missing zookeeper"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else \
	    echo "error: missing Debian packages:$$missing; run: sudo apt-get install --no-install-recommends$$missing" >&2; exit 1; \
	  fi; \
	fi

$(NPM_DIR)/node_modules/.bin/npm-groovy-lint:
	mkdir -p $(NPM_DIR)
	cd $(NPM_DIR) && npm install --silent --no-audit --no-fund npm-groovy-lint@16.2.0 >/dev/null

test: deps $(NPM_DIR)/node_modules/.bin/npm-groovy-lint
	PATH="$(CURDIR)/$(VENV)/bin:$(CURDIR)/$(NPM_DIR)/node_modules/.bin:$$PATH" $(PY) -m pytest -q

# The unit tier, tests/unit: no server, no socket (there a socket connect or bind fails the test).
# Needs only the venv.
test-fast: $(STAMP)
	$(PY) -m pytest -q tests/unit

demo: deps
	$(PY) -m testbed.demo

bench: deps
	$(PY) bench/bench_get.py
	$(PY) bench/bench_run.py
	$(PY) bench/bench_history.py
	$(PY) bench/bench_state.py

clean:
	rm -rf $(VENV) .tools .pytest_cache

# The README's two commands: `make run` and `make test`. Both set up .venv from requirements.lock.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
# The browser suite's node packages (axe-core, package-lock.json), installed beside .venv.
NODE_INSTALLED := node_modules/.installed

.PHONY: run test lint security format lock install

$(INSTALLED): requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 is needed (found " + sys.version.split()[0] + "); set PYTHON=/path/to/python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --requirement requirements.lock
	touch $@

$(NODE_INSTALLED): package-lock.json
	@command -v npm >/dev/null || { echo "npm is needed for the browser suite's axe-core (install Node.js 18 or later)" >&2; exit 1; }
	npm ci --silent --no-audit --no-fund
	touch $@

install: $(INSTALLED) $(NODE_INSTALLED)

# Migrates, seeds the demo and serves http://127.0.0.1:8000 with a Celery worker and beat; Ctrl-C stops all three.
run: $(INSTALLED)
	$(BIN)/python manage.py check_services
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	$(BIN)/honcho --procfile Procfile.dev start

test: install lint security
	$(BIN)/pytest

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# bandit over the app's code, then pip-audit over requirements.lock against PyPI's vulnerability data.
# pip-audit needs that service: where PyPI does not answer for a pinned release (offline, or a mirror
# without per-release data) the audit is skipped with a warning, or fails under REQUIRE_AUDIT=1.
# Vulnerabilities that do not apply are listed in security/pip-audit-ignore.txt with the reason.
security: $(INSTALLED)
	$(BIN)/bandit -c pyproject.toml -r atmp_clinic --quiet
	@pin=$$(grep '^django==' requirements.lock); \
	if echo "$$pin" | $(BIN)/pip-audit --requirement /dev/stdin --disable-pip --no-deps --format json 2>/dev/null \
		| $(BIN)/python -c 'import json, sys; sys.exit(any("skip_reason" in d for d in json.load(sys.stdin)["dependencies"]))' 2>/dev/null; then \
		set -x; $(BIN)/pip-audit --requirement requirements.lock --disable-pip --no-deps --strict --progress-spinner off \
			$$(awk '{ sub(/#.*/, "") } NF { print "--ignore-vuln", $$1 }' security/pip-audit-ignore.txt); \
	elif [ "$${REQUIRE_AUDIT:-}" = 1 ]; then \
		echo "pip-audit: PyPI's vulnerability data cannot be had (it could not audit $$pin); failing as REQUIRE_AUDIT=1" >&2; exit 1; \
	else \
		echo "########## pip-audit SKIPPED: PyPI's vulnerability data cannot be had (it could not audit $$pin): dependencies NOT audited; REQUIRE_AUDIT=1 fails instead ##########" >&2; \
	fi

format: $(INSTALLED)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# After changing dependencies in pyproject.toml: pins every package the suite was run with.
lock: $(INSTALLED)
	$(BIN)/pip-compile --quiet --extra dev --strip-extras --no-emit-index-url --no-emit-find-links \
		--output-file requirements.lock pyproject.toml

.PHONY: bench bench-generate bench-worklists bench-reminders bench-plans bench-registry bench-fhir bench-documents bench-load

# Issue 9: every benchmark from an empty database (atmp_clinic_bench; Redis db 5 for the web cache,
# db 13 for the reminders' broker), about 20 minutes; each rewrites its section of BENCHMARKS.md,
# then the time each step took. The targets below run one step (all but bench-generate and
# bench-load need bench-generate's data).
bench: $(INSTALLED)
	$(BIN)/python -m bench.run $(ARGS)

# 50 hospitals in 5 countries, 20,000 patients on 15-year plans, 100,000 adverse events, 2,000,000 outcomes.
bench-generate: $(INSTALLED)
	$(BIN)/python -m bench.generate $(ARGS)

bench-worklists: $(INSTALLED)
	$(BIN)/python -m bench.worklists $(ARGS)

bench-reminders: $(INSTALLED)
	$(BIN)/python -m bench.reminders $(ARGS)

bench-plans: $(INSTALLED)
	$(BIN)/python -m bench.plans $(ARGS)

bench-registry: $(INSTALLED)
	$(BIN)/python -m bench.registry_export $(ARGS)

bench-fhir: $(INSTALLED)
	$(BIN)/python -m bench.fhir $(ARGS)

bench-documents: $(INSTALLED)
	$(BIN)/python -m bench.documents $(ARGS)

# 50 people across the roles for 3 minutes against gunicorn, a Celery worker, PostgreSQL (a fresh
# database atmp_clinic_load) and Redis (db 5): p50/p95/p99 per page into BENCHMARKS.md. ARGS=--duration 60
bench-load: $(INSTALLED)
	$(BIN)/python -m bench.load $(ARGS)

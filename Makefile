# Two commands matter: `make dev` and `make test`. Everything they need is installed here, exactly
# as uv.lock says (every package pinned, with hashes). uv itself comes from requirements-uv.txt
# (pinned, with hashes) into .uv/; `make lock` is the one deliberate way to change a version.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
UV := .uv/bin/uv
# uv installs into .venv with the machine's Python and never downloads an interpreter.
export UV_PROJECT_ENVIRONMENT := $(VENV)
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := $(PYTHON)
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml uv.lock | cksum | cut -d' ' -f1)

.PHONY: dev test browser bench schema lock check-lock clean

$(UV): requirements-uv.txt
	test -x .uv/bin/python || $(PYTHON) -m venv .uv
	.uv/bin/python -m pip install --quiet --require-hashes --no-deps -r requirements-uv.txt
	touch $(UV)

# Fails, saying what to do, when pyproject.toml asks for something uv.lock does not hold.
check-lock: $(UV)
	@$(UV) lock --check --quiet || { \
		echo "pyproject.toml and uv.lock disagree: run 'make lock' and commit uv.lock in its own commit" >&2; \
		exit 1; }

$(STAMP): pyproject.toml uv.lock $(UV)
	@$(MAKE) --no-print-directory check-lock
	$(UV) sync --locked --all-extras --quiet
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

dev: $(STAMP)
	$(VENV)/bin/aizu dev $(if $(POSTGRES),--postgres,)

test: $(STAMP) browser
	$(PY) -m pytest -q -p no:cacheprovider

# A deliberate change of versions: resolve again (newest releases within pyproject.toml's ranges,
# or `make lock UPGRADE=package`), then commit uv.lock on its own.
lock: $(UV)
	$(UV) lock $(if $(UPGRADE),--upgrade-package $(UPGRADE),)

# The browser tests (tests/browser) need Debian's chromium and a Japanese font, installed when
# missing, and axe-core's script from the npm registry (pinned, checksum-verified, into .venv).
browser: $(STAMP)
	test -x /usr/bin/chromium -a -f /usr/share/fonts/opentype/ipafont-gothic/ipag.ttf || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-ipafont-gothic)
	$(PY) -m tests.browser.axe

# The benchmark needs wrk (Debian's package); it is installed when missing.
bench: $(STAMP)
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(PY) -m bench.catalog
	$(PY) -m bench.submissions --connections 64
	$(PY) -m bench.broadcast
	$(PY) -m bench.payments

schema: $(STAMP)
	$(VENV)/bin/aizu contracts export

clean:
	rm -rf var .pytest_cache

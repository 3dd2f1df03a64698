# Two commands matter: `make dev` and `make test`. Everything they need is installed here.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: dev test browser bench schema clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

dev: $(STAMP)
	$(VENV)/bin/aizu dev $(if $(POSTGRES),--postgres,)

test: $(STAMP) browser
	$(PY) -m pytest -q -p no:cacheprovider

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

schema: $(STAMP)
	$(VENV)/bin/aizu contracts export

clean:
	rm -rf var .pytest_cache

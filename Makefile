# Two commands matter: `make serve` (the demo city on http://127.0.0.1:8000) and `make test`.
# Each target creates .venv and installs the project into it when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: serve dev test test-fast bench lint typecheck format translations clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# The demo city is served as of the week of its real notices (2020-02-21) so that they show;
# run `CYCLEMAP_TODAY= make serve` to serve it as of today.
DEMO_TODAY ?= 2020-02-21

serve: $(STAMP)
	CYCLEMAP_TODAY=$${CYCLEMAP_TODAY-$(DEMO_TODAY)} $(BIN)/cyclemap serve --host 127.0.0.1 --port 8000 --workers 2

dev: $(STAMP)
	CYCLEMAP_TODAY=$${CYCLEMAP_TODAY-$(DEMO_TODAY)} $(BIN)/cyclemap serve --dev

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadgroup

# quick local runs: everything but the browser (Playwright), PostgreSQL and Redis legs; CI runs `make test`
test-fast: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadgroup -m "not browser and not postgres and not redis"

bench: $(STAMP)
	$(BIN)/python -m scripts.bench

# ruff (style) and mypy (types, over the package: pyproject.toml [tool.mypy]); both must be clean
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# the type checker alone
typecheck: $(STAMP)
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# the resident pages' words (README, "Languages"): extract them from the code and templates,
# update every language's catalogue, then (after translating what is new or fuzzy in each
# cyclemap/translations/<lang>/LC_MESSAGES/messages.po) compile them; the .mo files are
# committed, so a wheel carries them, and tests/test_translations.py fails on any gap
TRANSLATIONS := cyclemap/translations
translations: $(STAMP)
	$(BIN)/pybabel extract -F $(TRANSLATIONS)/babel.cfg -o $(TRANSLATIONS)/messages.pot \
	    --project cyclemap --version 0.1.0 --copyright-holder "cyclemap contributors" \
	    --no-location --sort-output --width 100 .
	$(BIN)/pybabel update -i $(TRANSLATIONS)/messages.pot -d $(TRANSLATIONS) --width 100 \
	    --ignore-obsolete
	$(BIN)/pybabel compile -d $(TRANSLATIONS) --statistics

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache

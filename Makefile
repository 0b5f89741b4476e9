# Quarterdeck: `make run` serves the demo, `make test` runs every test. Nothing else needed.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
# Installs exactly what requirements-dev.lock pins (with hashes), so a clone next month gets
# the versions CI tested; `make lock` refreshes the pins from pyproject.toml's ranges.
# requirements.lock is the runtime subset, for the production image.
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml requirements-dev.lock | cksum | cut -d' ' -f1)
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint bench venv system-packages messages catalogues format lock clean

$(STAMP): pyproject.toml requirements-dev.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes \
		-r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@rm -f $(VENV)/.installed-* && touch $(STAMP)

venv: $(STAMP)

system-packages:
	@scripts/system-packages.sh

# Compiled translation catalogues (.mo) are built, never committed: each from its .po,
# only when the .po is newer. The recipe is the command Django's compilemessages runs for
# each catalogue; msgfmt is GNU gettext's (Debian package gettext, which
# `make system-packages` installs; the Dockerfile runs compilemessages itself).
PO_FILES := $(shell find . -path ./$(VENV) -prune -o -path '*/LC_MESSAGES/*.po' -print)
MO_FILES := $(PO_FILES:.po=.mo)

messages: $(MO_FILES)

# After adding or changing words: extract them into the Japanese catalogues, translate the
# new entries, and tests/core/test_catalogue.py checks that none is missing.
catalogues: venv
	DEBUG=1 $(BIN)/python manage.py makemessages -l ja --extension html,txt,py,md \
		--add-location file --no-obsolete

$(MO_FILES): %.mo: %.po
	@command -v msgfmt >/dev/null || scripts/system-packages.sh gettext
	msgfmt --check-format -o $@ $<

run: venv messages
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py migrate --noinput
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py load_demo --if-empty
	@echo "Serving Quarterdeck on http://$(HOST):$(PORT)/ (Ctrl-C to stop)"
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py runserver $(HOST):$(PORT)

test: venv system-packages messages
	$(BIN)/pytest $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DEBUG=1 $(BIN)/mypy
	DEBUG=1 $(BIN)/lint-imports
	DEBUG=1 $(BIN)/python manage.py makemigrations --check --dry-run

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

LOCK_FLAGS := --quiet --upgrade --generate-hashes --strip-extras --allow-unsafe \
	--no-emit-index-url --no-emit-find-links

lock: venv
	$(BIN)/pip-compile $(LOCK_FLAGS) -o requirements.lock pyproject.toml
	$(BIN)/pip-compile $(LOCK_FLAGS) --extra dev -c requirements.lock \
		-o requirements-dev.lock pyproject.toml

bench: venv messages
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) staticfiles .pytest_cache

# ShopCredit — the two commands that matter are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format clean translations compile-translations

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[embedded,test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/flask --app wsgi serve

test: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/squawk --config .squawk.toml --no-error-on-unmatched-pattern webapp/sql/migrations/*.sql

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts

# The interface's languages (README, "Languages and formats"). `make translations` reads every
# message of the code into messages.pot and adds the new ones, untranslated, to each language's
# messages.po; translate them there, then `make compile-translations` writes the .mo files the
# app serves (committed, so a wheel carries them). tests/test_translations.py fails until every
# message is translated and compiled.
translations: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k lazy_gettext --sort-output --no-location \
		--project ShopCredit --copyright-holder ShopCredit -o webapp/translations/messages.pot .
	$(BIN)/pybabel update -i webapp/translations/messages.pot -d webapp/translations \
		--no-fuzzy-matching --ignore-obsolete --width 100

compile-translations: $(STAMP)
	$(BIN)/pybabel compile -d webapp/translations --statistics

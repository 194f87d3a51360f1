PORT ?= 8000
VENV := .venv
PY := $(VENV)/bin/python
export PYTHONUNBUFFERED := 1

.PHONY: demo test lint install clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed

demo: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	@echo "Demo marketplace: http://127.0.0.1:$(PORT)/  (users alice, carol, bob, dave, admin; password: demo)"
	$(VENV)/bin/uvicorn demo.asgi:application --host 127.0.0.1 --port $(PORT)

test: install
	$(VENV)/bin/ruff check src demo tests
	$(VENV)/bin/pytest

lint: install
	$(VENV)/bin/ruff check src demo tests
	$(VENV)/bin/ruff format --check src demo tests

clean:
	rm -rf $(VENV) db.sqlite3* build *.egg-info src/*.egg-info

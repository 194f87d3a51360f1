PORT ?= 8000
VENV := .venv
PY := $(VENV)/bin/python
export PYTHONUNBUFFERED := 1

.PHONY: demo test lint install clean bench messages

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed

demo: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo --webhook-receiver
	@echo "Demo marketplace: http://127.0.0.1:$(PORT)/  (users alice, carol, bob, dave, admin; password: demo)"
	@echo "Its e-mails: http://127.0.0.1:$(PORT)/demo/mailbox/"
	@$(PY) manage.py deliver_notifications & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(VENV)/bin/uvicorn demo.asgi:application --host 127.0.0.1 --port $(PORT)

test: install
	$(VENV)/bin/ruff check src demo tests
	$(VENV)/bin/pytest

bench: install
	$(PY) bench/worker_throughput.py --emails 2000
	DATABASE_URL=postgres://postgres@127.0.0.1:5432/om_bench $(PY) bench/worker_throughput.py --emails 2000 --workers 1
	DATABASE_URL=postgres://postgres@127.0.0.1:5432/om_bench $(PY) bench/worker_throughput.py --emails 2000 --workers 4

lint: install
	$(VENV)/bin/ruff check src demo tests
	$(VENV)/bin/ruff format --check src demo tests

# The German catalogues: the app's (src/order_messages/locale) with only its own strings, and
# the demo's (demo/locale). makemessages keeps the existing translations; new or changed
# strings come in empty or fuzzy and must be translated before the i18n tests pass.
MAKEMESSAGES := makemessages --locale=de --no-obsolete --add-location=file

messages: install
	cd src/order_messages && mkdir -p locale && ../../$(PY) ../../manage.py $(MAKEMESSAGES) \
		--ignore=migrations --ignore=static
	cd demo && mkdir -p locale && ../$(PY) ../manage.py $(MAKEMESSAGES) \
		--ignore=store/migrations --ignore=store/static
	$(PY) manage.py compilemessages --locale=de --ignore=$(VENV) --ignore=build

clean:
	rm -rf $(VENV) db.sqlite3* build *.egg-info src/*.egg-info

PORT ?= 8000
VENV := .venv
PY := $(VENV)/bin/python
export PYTHONUNBUFFERED := 1

.PHONY: screenshots demo demo-reset demo-oscar test test-oscar test-django package reliability lint install api-tools clean bench bench-full messages

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed

# The generators a store's developers point at the API, for the tests of the clients they
# make (tests/test_api_clients.py): openapi-python-client in a virtualenv of its own (it
# pins its own httpx), openapi-typescript and tsc from clients/typescript/package-lock.json.
API_TOOLS := build/api-tools
TS_CLIENT := clients/typescript

$(API_TOOLS)/.installed:
	python3 -m venv --clear $(API_TOOLS)
	$(API_TOOLS)/bin/python -m pip install --quiet --upgrade pip
	$(API_TOOLS)/bin/python -m pip install --quiet "openapi-python-client==0.29.1"
	touch $@

$(TS_CLIENT)/node_modules/.installed: $(TS_CLIENT)/package-lock.json
	cd $(TS_CLIENT) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

api-tools: $(API_TOOLS)/.installed $(TS_CLIENT)/node_modules/.installed

demo: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo --webhook-receiver
	@echo "Demo marketplace: http://127.0.0.1:$(PORT)/  (users alice, carol, bob, dave, emma, admin; password: demo)"
	@echo "Its e-mails: http://127.0.0.1:$(PORT)/demo/mailbox/"
	@$(PY) manage.py deliver_notifications & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(VENV)/bin/uvicorn demo.asgi:application --host 127.0.0.1 --port $(PORT)

# Back to the demo as it first starts: its SQLite database and uploaded files removed (with
# DATABASE_URL set, that database is emptied instead); the next `make demo` seeds it again.
demo-reset: install
	@if [ -n "$$DATABASE_URL" ]; then $(PY) manage.py flush --noinput; else rm -f db.sqlite3 db.sqlite3-wal db.sqlite3-shm; fi
	rm -rf media
	@echo "The demo is reset: make demo starts it afresh."

# The Oscar shop: the same people and orders in a store built on django-oscar, with its own
# database (oscar.sqlite3 unless DATABASE_URL is set).
OSCAR := DJANGO_SETTINGS_MODULE=demo.oscar_shop.settings

demo-oscar: install
	$(OSCAR) $(PY) manage.py migrate --noinput
	$(OSCAR) $(PY) manage.py seed_oscar
	@echo "Oscar shop: http://127.0.0.1:$(PORT)/  (log in with alice@customers.example, carol@customers.example, bob@bobs-bikes.example, dave@daves-outdoor.example or admin@marketplace.example; password: demo)"
	@echo "Its e-mails: http://127.0.0.1:$(PORT)/demo/mailbox/"
	@$(OSCAR) $(PY) manage.py deliver_notifications & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(OSCAR) $(VENV)/bin/uvicorn demo.oscar_shop.asgi:application --host 127.0.0.1 --port $(PORT)

test: install api-tools
	$(VENV)/bin/ruff check src demo tests tests_oscar bench
	$(VENV)/bin/pytest
	$(MAKE) --no-print-directory test-oscar

# The Oscar shop's tests run in a process of their own (their own settings).
test-oscar: install
	$(VENV)/bin/pytest -p no:cacheprovider --ds=demo.oscar_shop.settings tests_oscar

# The package as a store gets it: the wheel and the sdist built and checked, the wheel
# installed with its [oscar] extra into an empty virtualenv (PYTHON, DJANGO choose the
# interpreter and Django release), and the Oscar shop's tests run against that install,
# not the source tree.
PYTHON ?= python3
DJANGO ?= Django>=5.2,<5.3
WHEEL_VENV := build/wheel-venv
WHEEL_TEST_DEPS := pytest pytest-django dj-database-url whitenoise sorl-thumbnail django-csp \
	"psycopg[binary]" time-machine httpx playwright

package: install
	rm -rf dist build/lib build/bdist.*
	$(PY) -m build --outdir dist .
	$(VENV)/bin/twine check --strict dist/*
	$(PYTHON) -m venv --clear $(WHEEL_VENV)
	$(WHEEL_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(WHEEL_VENV)/bin/python -m pip install --quiet "$$(ls dist/*.whl)[oscar]" "$(DJANGO)" $(WHEEL_TEST_DEPS)
	ORDER_MESSAGES_EXPECT_WHEEL=1 $(WHEEL_VENV)/bin/python -m pytest -p no:cacheprovider \
		--ds=demo.oscar_shop.settings tests_oscar

# The whole suite on another Django release and Python, in a virtualenv of its own:
# make test-django PYTHON=python3.12 DJANGO="Django>=6.1,<6.2"
DJANGO_VENV := build/django-venv

test-django: api-tools
	$(PYTHON) -m venv --clear $(DJANGO_VENV)
	$(DJANGO_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(DJANGO_VENV)/bin/python -m pip install --quiet -e ".[dev]" "$(DJANGO)"
	$(DJANGO_VENV)/bin/python -m django --version
	$(DJANGO_VENV)/bin/pytest

# The long variants of the reliability tests (RELIABILITY.md), on PostgreSQL: 32 workers doing
# 50,000 operations, the fault tests, and ten times the fuzzing examples. About 20 minutes.
PG_URL ?= postgres://postgres@127.0.0.1:5432/test
RELIABILITY_TESTS := tests/test_concurrency.py tests/test_faults.py tests/test_inbound_fuzz.py \
	tests/test_rendering_fuzz.py tests/test_api_stateful.py tests/test_hostile_input.py

reliability: install
	DATABASE_URL="$(PG_URL)" STRESS_OPERATIONS=$${STRESS_OPERATIONS:-50000} FUZZ_SCALE=$${FUZZ_SCALE:-10} \
		$(VENV)/bin/pytest -p no:cacheprovider -s --durations=10 $(RELIABILITY_TESTS)

# The benchmarks load the servers with wrk (Debian's package); the peer they are measured
# against, django-postman, comes with the dev extra.
$(VENV)/.bench: $(VENV)/.installed
	command -v wrk >/dev/null || (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null)
	touch $@

# make bench: the marketplace at 10^4 and 10^5 messages (a few minutes) and where each of its
# requests spends its time in-process (at 10^5, about two minutes), the dashboard with
# its response figures at 10^4 and 10^6 (a few minutes), the back office's search at 10^4
# (PostgreSQL and SQLite) and 10^6 (a few minutes), the worker, and a phone photo on a
# message (about half a minute, SQLite and PostgreSQL).
# make bench-full: 10^4 .. 10^7 messages. Both write their table into BENCHMARKS.md.
bench: $(VENV)/.bench
	$(PY) -m bench.run --quick
	$(PY) -m bench.breakdown --write
	$(PY) -m bench.dashboard
	$(PY) -m bench.search
	$(PY) bench/worker_throughput.py --emails 2000
	$(PY) -m bench.attachments
	DATABASE_URL=postgres://postgres@127.0.0.1:5432/om_bench_attachments $(PY) -m bench.attachments

bench-full: $(VENV)/.bench
	$(PY) -m bench.run
	$(PY) -m bench.breakdown --write
	$(PY) -m bench.dashboard --scales 10000,1000000,10000000
	$(PY) -m bench.search --scales 10000,1000000,10000000
	$(PY) bench/worker_throughput.py --emails 2000
	$(PY) bench/worker_throughput.py --emails 2000 --workers 2
	DATABASE_URL=postgres://postgres@127.0.0.1:5432/om_bench_worker $(PY) bench/worker_throughput.py --emails 2000 --workers 1
	DATABASE_URL=postgres://postgres@127.0.0.1:5432/om_bench_worker $(PY) bench/worker_throughput.py --emails 2000 --workers 2

# The pictures in README.md: the main pages on a desktop and a phone, from a new seeded demo
# database, into docs/screenshots/ (Chromium, as for the browser tests).
screenshots: install
	$(PY) -m demo.screenshots

lint: install
	$(VENV)/bin/ruff check src demo tests tests_oscar bench
	$(VENV)/bin/ruff format --check src demo tests tests_oscar bench

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
	rm -rf $(VENV) db.sqlite3* oscar.sqlite3* build dist *.egg-info src/*.egg-info

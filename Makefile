PORT ?= 8000
VENV := .venv
PY := $(VENV)/bin/python
export PYTHONUNBUFFERED := 1

.PHONY: demo test reliability lint install clean bench bench-full messages

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed

demo: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo --webhook-receiver
	@echo "Demo marketplace: http://127.0.0.1:$(PORT)/  (users alice, carol, bob, dave, emma, admin; password: demo)"
	@echo "Its e-mails: http://127.0.0.1:$(PORT)/demo/mailbox/"
	@$(PY) manage.py deliver_notifications & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(VENV)/bin/uvicorn demo.asgi:application --host 127.0.0.1 --port $(PORT)

test: install
	$(VENV)/bin/ruff check src demo tests bench
	$(VENV)/bin/pytest

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

# make bench: the marketplace at 10^4 and 10^5 messages (a few minutes), the dashboard with
# its response figures at 10^4 and 10^6 (a few minutes), the worker, and a phone photo on a
# message (about half a minute, SQLite and PostgreSQL).
# make bench-full: 10^4 .. 10^7 messages. Both write their table into BENCHMARKS.md.
bench: $(VENV)/.bench
	$(PY) -m bench.run --quick
	$(PY) -m bench.dashboard
	$(PY) bench/worker_throughput.py --emails 2000
	$(PY) -m bench.attachments
	DATABASE_URL=postgres://postgres@127.0.0.1:5432/om_bench_attachments $(PY) -m bench.attachments

bench-full: $(VENV)/.bench
	$(PY) -m bench.run
	$(PY) -m bench.dashboard --scales 10000,1000000,10000000
	$(PY) bench/worker_throughput.py --emails 2000
	DATABASE_URL=postgres://postgres@127.0.0.1:5432/om_bench_worker $(PY) bench/worker_throughput.py --emails 2000 --workers 1
	DATABASE_URL=postgres://postgres@127.0.0.1:5432/om_bench_worker $(PY) bench/worker_throughput.py --emails 2000 --workers 4

lint: install
	$(VENV)/bin/ruff check src demo tests bench
	$(VENV)/bin/ruff format --check src demo tests bench

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

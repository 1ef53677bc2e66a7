# The README's contract: `make check` (set up, then the offline preview of every stack)
# and `make test` (the whole suite). Everything else is a helper for those two.
PY      := .venv/bin/python
PACKPY  := policy-pack/venv/bin/python
STAMP   := .venv/.installed
PSTAMP  := policy-pack/venv/.installed

.PHONY: setup check test lint bench local-up clean

setup: $(STAMP) $(PSTAMP)

# The project venv. The project's packages (shared, pipeline, and the pack's least_privilege engine)
# are used in place: a .pth file puts the checkout and policy-pack/ on the venv's path.
$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || python3 -m venv .venv
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	printf '%s\n%s\n' "$(CURDIR)" "$(CURDIR)/policy-pack" > "$$($(PY) -c 'import site; print(site.getsitepackages()[0])')/_ai_data_processing_dev.pth"
	touch $@

# The pack's own virtualenv, built only from its requirements.txt, as `pulumi preview --policy-pack` does.
$(PSTAMP): policy-pack/requirements.txt
	test -x $(PACKPY) || python3 -m venv policy-pack/venv
	$(PACKPY) -m pip install --quiet --disable-pip-version-check -r policy-pack/requirements.txt
	touch $@

check: setup
	$(PY) -m pipeline check --stack all

test: setup
	$(PY) -m pytest

lint: setup
	.venv/bin/ruff check .

bench: setup
	$(PY) -m bench

local-up: setup
	$(PY) -m pipeline local-up

clean:
	rm -rf .venv policy-pack/venv .pytest_cache .hypothesis bench/.venv-peers bench/out

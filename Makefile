# The README's contract: `make check` (set up, then the offline preview of every stack)
# and `make test` (the whole suite). Everything else is a helper for those two.
PYTHON  ?= python3
PY      := .venv/bin/python
PACKPY  := policy-pack/venv/bin/python
STAMP   := .venv/.installed
PSTAMP  := policy-pack/venv/.installed
VENV_DIRS := .venv policy-pack/venv
PIP     := -m pip install --disable-pip-version-check --progress-bar off

.PHONY: setup python-version venvs check test lint bench local-up clean

setup: python-version venvs $(STAMP) $(PSTAMP)

# First, before anything is installed: an older Python would fail later with an obscure pip error.
python-version:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null || { \
	  found="$$(command -v $(PYTHON) >/dev/null 2>&1 && $(PYTHON) --version 2>&1 || echo 'not found')"; \
	  echo "error: this project needs Python 3.11 or later; '$(PYTHON)' is $$found." >&2; \
	  echo "       Install one and run e.g. 'make setup PYTHON=python3.11'." >&2; exit 1; }

# A virtualenv made by another interpreter (another version or install) is rebuilt from scratch, so
# switching Python never keeps reusing a broken environment. Rebuilding removes its stamp, which makes
# the install rules below run again (they wait for this step, also under `make -j`).
venvs: python-version
	@want="$$($(PYTHON) -c 'import sys; print(sys.version.split()[0], sys.base_prefix)')"; \
	for dir in $(VENV_DIRS); do \
	  have="$$($$dir/bin/python -c 'import sys; print(sys.version.split()[0], sys.base_prefix)' 2>/dev/null)"; \
	  if [ "$$want" != "$$have" ]; then \
	    if [ -e "$$dir" ]; then \
	      echo "==> $$dir was made by another Python ($${have:-unusable}); rebuilding it with $$want"; \
	      rm -rf "$$dir"; \
	    fi; \
	    echo "==> creating $$dir with $$($(PYTHON) --version 2>&1)"; \
	    $(PYTHON) -m venv "$$dir" || exit 1; \
	  fi; \
	done

# The project venv. The project's packages (shared, pipeline, and the pack's least_privilege engine)
# are used in place: a .pth file puts the checkout and policy-pack/ on the venv's path.
$(STAMP): requirements.txt requirements-dev.txt | venvs
	@echo "==> installing requirements-dev.txt into .venv (pip lists each package; the first time takes a few minutes)"
	$(PY) $(PIP) -r requirements-dev.txt
	printf '%s\n%s\n' "$(CURDIR)" "$(CURDIR)/policy-pack" > "$$($(PY) -c 'import site; print(site.getsitepackages()[0])')/_ai_data_processing_dev.pth"
	touch $@

# The pack's own virtualenv, built only from its requirements.txt, as `pulumi install` inside policy-pack/
# would build it (the CLI never installs a local pack's dependencies by itself).
$(PSTAMP): policy-pack/requirements.txt | venvs
	@echo "==> installing policy-pack/requirements.txt into policy-pack/venv"
	$(PACKPY) $(PIP) -r policy-pack/requirements.txt
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

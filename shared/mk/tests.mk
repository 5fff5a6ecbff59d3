# tests.mk — each week's two suites, and how a stage is graded.
#
# weeks/NN/tests/unit_*.c is week N's unit suite: it links the stage's modules directly (no
# main.c, no stage.c). weeks/NN/tests/api_*.c is its black-box suite: HTTP only, it links the test
# kit and never the service's code. Suites are compiled once and run against any stage binary
# (TASKD_BIN), which is how a later week re-runs an earlier week's black-box suite unchanged.
#
# Test helpers that later weeks reuse live in weeks/NN/tests/support/ and are linked, never
# #include-d as .c files. The file name says which suites link it:
#   support/unit_*.c   linked into the unit suites of weeks NN and later
#   support/api_*.c    linked into the black-box suites of weeks NN and later (test kit only!)
# Their headers are on the include path of the tests of weeks NN and later (see stage.mk).

# The suites' libraries: the `test pkg` lines of shared/packages and of the weeks' own lists
# (week 6's unit suite reads YAML with libyaml).
TEST_PKGS := $(sort $(shell awk '$$1 == "test" && $$2 == "pkg" { print $$3 }' shared/packages $(wildcard weeks/*/packages)))
TK_SRCS := $(wildcard shared/testkit/*.c)
support = $(foreach n,$(call upto,$(2)),$(wildcard $(call week_dir,$(n))/tests/support/$(1)_*.c))
unit_srcs = $(wildcard $(call week_dir,$(1))/tests/unit_*.c) $(call support,unit,$(1)) $(TK_SRCS)
api_srcs = $(wildcard $(call week_dir,$(1))/tests/api_*.c) $(call support,api,$(1)) $(TK_SRCS) shared/src/buf.c
api_suites = $(foreach n,$(call upto,$(1)),$(BUILD)/week-$(n)/tests/api)

$(BUILD)/week-%/tests/unit: $$(call obj,$$(call unit_srcs,$$*)) $$(call modules,$$*)
	@mkdir -p $(dir $@)
	$(CC) $^ -o $@ $(LDFLAGS) $(call pkg_libs,$*) $$(pkg-config --libs $(TEST_PKGS))
$(BUILD)/week-%/tests/api: $$(call obj,$$(call api_srcs,$$*))
	@mkdir -p $(dir $@)
	$(CC) $^ -o $@ $(LDFLAGS) $$(pkg-config --libs $(TEST_PKGS)) -lpthread

$(BUILD)/tools/grade: shared/tools/grade.c | deps-quiet
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $< -o $@ $(LDFLAGS) $$(pkg-config --cflags --libs libcjson)

# ---- the attack suite ----
# weeks/NN/tests/attack_*.c are week N's attacks: black-box like the api suites (test kit only),
# but not graded and run against the newest stage by `make test-attacks`. A later week adds its
# own attack_*.c files; every earlier week's attacks run again against it. Each attack prints
# its figures ("figure: 1000 bad inputs, 0 5xx") for shared/scripts/run-attacks.sh to collect.
attack_srcs = $(wildcard $(call week_dir,$(1))/tests/attack_*.c) $(call support,api,$(1)) $(TK_SRCS) shared/src/buf.c
attack_suites = $(foreach n,$(call upto,$(1)),$(if $(wildcard $(call week_dir,$(n))/tests/attack_*.c),$(BUILD)/week-$(n)/tests/attacks))
$(BUILD)/week-%/tests/attacks: $$(call obj,$$(call attack_srcs,$$*))
	@mkdir -p $(dir $@)
	$(CC) $^ -o $@ $(LDFLAGS) $$(pkg-config --libs $(TEST_PKGS)) -lpthread

# ---- the suites' environment ----
# Settings of every server a suite starts (WEEK_TEST_ENV_N), of the test kit itself (week 4's
# TK_AUTH=1: log in on every server, send the token), and a fresh database per server.
week_test_env = $(call joined,WEEK_TEST_ENV,$(1))
week_kit_env = $(call joined,WEEK_KIT_ENV,$(1))
fresh_db_week = $(lastword $(foreach n,$(call upto,$(1)),$(if $(WEEK_FRESH_DB_$(n)),$(n))))
week_fresh_db = $(if $(call fresh_db_week,$(1)),$(WEEK_FRESH_DB_$(call fresh_db_week,$(1))))
suite_env = $(call services_prefix,$(1)) export TASKD_ENV="$(call week_test_env,$(1))" $(call week_kit_env,$(1)) \
  $(if $(call week_fresh_db,$(1)),TK_FRESH_DB_CMD="$(call week_fresh_db,$(1))" TK_DROP_DB_CMD="$(WEEK_DROP_DB_$(call fresh_db_week,$(1)))") &&

# ---- grading ----
RESULTS := $(BUILD)/results
TEST_GOALS := $(addprefix test-,$(WEEK_GOALS))
.PHONY: $(TEST_GOALS) test grade test-sanitize test-valgrind
# SUITES=own runs only week N's own black-box suite against stage N. `make test` uses it for
# every week but the newest: the newest stage runs every week's suite, and every lab does too, so
# running week 1's suite again on stages 2, 3 and 4 proved nothing those runs do not (it cost
# about a fifth of make test). Typed by hand, test-week-N runs the suites of weeks 1..N.
test_week_suites = $(if $(filter own,$(SUITES)),$(BUILD)/week-$(1)/tests/api,$(call api_suites,$(1)))
$(TEST_GOALS): test-week-%: week-% $$(call test_week_suites,$$*) $(BUILD)/tools/grade ## grade stage N: its unit suite + the black-box suites of weeks 1..N
	@$(call suite_env,$*) BUILD=$(BUILD) bash shared/scripts/run-suites.sh week-$* $(RESULTS) \
	  $(BUILD)/week-$*/taskd $(BUILD)/week-$*/tests/unit $(call test_week_suites,$*)

grade: $(BUILD)/tools/grade ## every week and lab: score bar, when graded, "changed since", the next step (writes build/grade.json)
	@$(BUILD)/tools/grade $(RESULTS) $(BUILD)/grade.json

# The whole check, as CI runs it; shared/scripts/test-all.sh runs the steps and keeps going.
# TEST_PARTS=labs (or suites, sanitize, docs, server) runs one part: a pipeline's parallel jobs.
test: ## install what is missing, build everything, run every suite, check the labs, sanitizers, fuzz, grade
	@bash shared/scripts/install-deps.sh
	@$(MAKE) -j2 all $(BUILD)/tools/grade
	@MAKE="$(MAKE)" BUILD=$(BUILD) WEEKS="$(WEEK_NUMS)" \
	  SMOKE_KEEP_DATABASE_URL=$(if $(call week_services,$(LAST_WEEK)),1) \
	  SMOKE_EXPECT_WORKER=$(if $(call run_bins,$(LAST_WEEK)),1) \
	  SMOKE_AUTH=$(if $(findstring TK_AUTH=1,$(call week_kit_env,$(LAST_WEEK))),1) \
	  WEEK_SERVER=$(SERVER_WEEK) WEEK_COMPOSE=$(COMPOSE_WEEK) TEST_PARTS="$(TEST_PARTS)" \
	  bash shared/scripts/test-all.sh

.PHONY: test-attacks
test-attacks: week-$(LAST_WEEK) $(call attack_suites,$(LAST_WEEK)) ## attack the newest stage: every week's attack suite, bounded, loopback only
	@$(call suite_env,$(LAST_WEEK)) BUILD=$(BUILD) bash shared/scripts/run-attacks.sh \
	  $(BUILD)/week-$(LAST_WEEK)/taskd $(call attack_suites,$(LAST_WEEK))

# The lessons' runnable blocks (marked <!-- docs-check: stage=N -->), each file's against a fresh
# stage N on a free port, as shared/scripts/docs-check.sh explains. It is told the newest week and
# how each stage gets a database of its own.
.PHONY: docs-check
docs-check: $(foreach n,$(WEEK_NUMS),$(BUILD)/week-$(n)/taskd $(call bin_targets,week,$(n))) ## run the lessons' runnable shell blocks against fresh stages; fail naming the file and line
	@BUILD=$(BUILD) DOCS_NEWEST=$(LAST_WEEK) $(foreach n,$(WEEK_NUMS),$(if $(call week_fresh_db,$(n)), \
	  DOCS_FRESH_DB_$(n)="$(call week_fresh_db,$(n))" DOCS_DROP_DB_$(n)="$(WEEK_DROP_DB_$(call fresh_db_week,$(n)))")) \
	  bash shared/scripts/docs-check.sh

# A test that leaks still passes in Criterion (the check runs when its process exits), so the
# output is scanned for reports as well: shared/scripts/sanitize-scan.sh.
test-sanitize: ## run the newest stage's suites under AddressSanitizer + UBSan (build-san/)
	@$(MAKE) -j2 SANITIZE=1 BUILD=build-san week-$(LAST_WEEK) build-san/tools/grade \
	  $(patsubst $(BUILD)/%,build-san/%,$(call api_suites,$(LAST_WEEK)))
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  bash shared/scripts/sanitize-scan.sh build-san/sanitize.log \
	  $(MAKE) --no-print-directory SANITIZE=1 BUILD=build-san test-week-$(LAST_WEEK)

# The same black-box suites against the newest stage running under valgrind's memcheck: slower
# than the sanitizers, but it needs no special build and sees uninitialised reads.
test-valgrind: week-$(LAST_WEEK) $(call api_suites,$(LAST_WEEK)) $(BUILD)/tools/grade ## run the newest stage's black-box suites with taskd under valgrind
	@command -v valgrind >/dev/null || bash shared/scripts/install-deps.sh valgrind
	@mkdir -p $(BUILD)/valgrind
	@printf '#!/bin/sh\nexec valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite "%s" "$$@"\n' \
	  "$$(pwd)/$(BUILD)/week-$(LAST_WEEK)/taskd" > $(BUILD)/valgrind/taskd && chmod +x $(BUILD)/valgrind/taskd
	@$(call suite_env,$(LAST_WEEK)) status=0; for api in $(call api_suites,$(LAST_WEEK)); do \
	  TASKD_BIN=$(BUILD)/valgrind/taskd TK_SUITE=valgrind timeout 1800 $$api --jobs=1 || status=1; done; \
	  [ $$status -eq 0 ] && echo "valgrind: no error reported" || exit 1

# ---- the OpenAPI document against the service ----
# Every week's black-box suite once more, against its own stage, through Stoplight Prism's
# validating proxy (shared/npm): any answer that docs/api/openapi.yaml does not describe fails.
# shared/scripts/openapi-proxy-suite.sh explains what counts.
.PHONY: test-openapi-proxy
test-openapi-proxy: $(WEEK_GOALS) ## each week's black-box suite through Prism's validating proxy: fail on answers the OpenAPI document does not describe
	@status=0; $(foreach n,$(WEEK_NUMS),( $(call suite_env,$(n)) BUILD=$(BUILD) bash shared/scripts/openapi-proxy-suite.sh \
	  $(n) $(BUILD)/week-$(n)/taskd $(BUILD)/week-$(n)/tests/api ) || status=1;) exit $$status

# GET /docs in a real browser: Debian's headless Chromium driven by playwright-core (shared/npm),
# against stage 1. The test keeps its picture under build/: a test run must leave the tracked
# files as they were (week 8's release refuses a changed checkout, and make ci runs both in one
# clone). `make docs-screenshots` takes the picture week 1's lesson shows.
.PHONY: test-docs-ui docs-screenshots
test-docs-ui: $(BUILD)/week-1/taskd ## open /docs in headless Chromium: operations render, Try it out on GET /health shows 200 (screenshot in build/docs-ui/)
	@mkdir -p $(BUILD)/docs-ui
	@bash shared/scripts/test-docs-ui.sh $(BUILD)/week-1/taskd $(BUILD)/docs-ui/docs-try-it-out.png
docs-screenshots: $(BUILD)/week-1/taskd ## (maintainers) the same as test-docs-ui, saving the picture of week 1's lesson (weeks/01-crud/docs-try-it-out.png)
	@bash shared/scripts/test-docs-ui.sh $(BUILD)/week-1/taskd $(call week_dir,1)/docs-try-it-out.png

# The lab's one entry point. `make help` lists every target with a line of explanation.
#
# Layout of the build: shared/src is the core every stage links; a stage N binary is the core +
# weeks/01..N/src + weeks/01..N/stage.c + shared main.c compiled with TASKD_STAGE=stage_0N.
# Test suites are compiled once and run against any stage binary (TASKD_BIN), which is how a
# later week re-runs an earlier week's black-box suite without copying it.

SHELL := /bin/bash
.SECONDEXPANSION:
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

SANITIZE ?= 0
ifeq ($(SANITIZE),1)
BUILD ?= build-san
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
else
BUILD ?= build
SAN_FLAGS :=
endif

CC ?= cc
CSTD := -std=c17 -D_GNU_SOURCE
WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wvla
CFLAGS ?= -O2 -g
CFLAGS += $(CSTD) $(WARN) $(SAN_FLAGS) -MMD -MP
LDFLAGS += $(SAN_FLAGS)

WEEK_DIRS := $(sort $(wildcard weeks/[0-9][0-9]-*))
WEEK_NUMS := $(foreach d,$(WEEK_DIRS),$(patsubst 0%,%,$(firstword $(subst -, ,$(notdir $(d))))))
LAST_WEEK := $(lastword $(WEEK_NUMS))
include $(wildcard weeks/*/week.mk)

# pkg-config is asked only when a build target runs, after `make deps` has had its chance.
pkgs = $(sort $(foreach n,$(wordlist 1,$(1),$(WEEK_NUMS)),$(WEEK_PKGS_$(n))))
pkg_cflags = $(shell pkg-config --cflags $(call pkgs,$(1)) 2>/dev/null)
pkg_libs = $(shell pkg-config --libs $(call pkgs,$(1)) 2>/dev/null) -lpthread -lm
TEST_PKGS := criterion libcurl libcjson libcrypto

CORE_SRCS := $(filter-out shared/src/main.c,$(wildcard shared/src/*.c))
TK_SRCS := $(wildcard shared/testkit/*.c)
week_dir = $(word $(1),$(WEEK_DIRS))
week_srcs = $(foreach n,$(wordlist 1,$(1),$(WEEK_NUMS)),$(wildcard $(call week_dir,$(n))/src/*.c) $(call week_dir,$(n))/stage.c)
stage_sym = stage_$(shell printf '%02d' $(1))
obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

INC := -Ishared/src -Ishared/testkit $(foreach d,$(WEEK_DIRS),-I$(d)/src)

# Schema migrations of weeks 1..N, embedded in stage N's binary (see migrate.h).
week_migrations = $(sort $(foreach n,$(wordlist 1,$(1),$(WEEK_NUMS)),$(wildcard $(call week_dir,$(n))/migrations/*.sql)))
migrations_obj = $(if $(call week_migrations,$(1)),$(BUILD)/week-$(1)/gen/migrations.o)
# Local services a stage needs (WEEK_SERVICES_N in week.mk), and how the suites get a database.
week_services = $(strip $(foreach n,$(wordlist 1,$(1),$(WEEK_NUMS)),$(WEEK_SERVICES_$(n))))
week_test_env = $(strip $(foreach n,$(wordlist 1,$(1),$(WEEK_NUMS)),$(WEEK_TEST_ENV_$(n))))
week_run_env = $(strip $(foreach n,$(wordlist 1,$(1),$(WEEK_NUMS)),$(WEEK_RUN_ENV_$(n))))
# Settings for the test kit itself (week 4's TK_AUTH=1: log in on every server, send the token).
week_kit_env = $(strip $(foreach n,$(wordlist 1,$(1),$(WEEK_NUMS)),$(WEEK_KIT_ENV_$(n))))
fresh_db_week = $(lastword $(foreach n,$(wordlist 1,$(1),$(WEEK_NUMS)),$(if $(WEEK_FRESH_DB_$(n)),$(n))))
week_fresh_db = $(if $(call fresh_db_week,$(1)),$(WEEK_FRESH_DB_$(call fresh_db_week,$(1))))
# Shell prefix: start stage N's services and load their URLs (.run/services.env) into the env.
services_prefix = $(if $(call week_services,$(1)),bash shared/scripts/services.sh up $(call week_services,$(1)) >&2 && set -a && . .run/services.env && set +a &&)
# Shell prefix for the suites: the settings of every server, and a fresh database per server.
suite_env = $(call services_prefix,$(1)) export TASKD_ENV="$(call week_test_env,$(1))" $(call week_kit_env,$(1)) $(if $(call week_fresh_db,$(1)),TK_FRESH_DB_CMD="$(call week_fresh_db,$(1))" TK_DROP_DB_CMD="$(WEEK_DROP_DB_$(call fresh_db_week,$(1)))") &&

$(BUILD)/obj/%.o: %.c | deps-quiet
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(INC) $(call pkg_cflags,$(LAST_WEEK)) -c $< -o $@

# The OpenAPI document is written in YAML for people and embedded in the binary as JSON.
$(BUILD)/tools/yaml2json: shared/tools/yaml2json.c | deps-quiet
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $< -o $@ $(LDFLAGS) $$(pkg-config --cflags --libs yaml-0.1 libcjson)
$(BUILD)/gen/openapi_doc.c: docs/api/openapi.yaml $(BUILD)/tools/yaml2json
	@mkdir -p $(dir $@)
	$(BUILD)/tools/yaml2json --c-array openapi_doc $< > $@.tmp && mv $@.tmp $@
$(BUILD)/gen/openapi_doc.o: $(BUILD)/gen/openapi_doc.c
	$(CC) $(CFLAGS) -c $< -o $@

# Other programs of a stage (week 3's taskd-worker): weeks/NN/bin/NAME.c is a main() linked with
# the core and the modules of weeks 1..N, built as build/week-N/NAME for every stage from week NN.
week_bins = $(foreach n,$(wordlist 1,$(1),$(WEEK_NUMS)),$(wildcard $(call week_dir,$(n))/bin/*.c))
bin_targets = $(foreach b,$(call week_bins,$(1)),$(BUILD)/week-$(1)/$(basename $(notdir $(b))))
define BIN_RULE
$(BUILD)/week-$(1)/$(basename $(notdir $(2))): $(call obj,$(2) $(CORE_SRCS) $(filter-out %/stage.c,$(call week_srcs,$(1)))) $(BUILD)/gen/openapi_doc.o $(call migrations_obj,$(1))
	$(CC) $$^ -o $$@ $(LDFLAGS) $$(call pkg_libs,$(1))
	@echo "built $$@"
endef
$(foreach n,$(WEEK_NUMS),$(foreach b,$(call week_bins,$(n)),$(eval $(call BIN_RULE,$(n),$(b)))))

# ---- one template per week: stage binary, its unit tests, its black-box suite, its lab ----
define WEEK_RULES
$(BUILD)/week-$(1)/main.o: shared/src/main.c | deps-quiet
	@mkdir -p $$(dir $$@)
	$(CC) $(CFLAGS) $(INC) $$(call pkg_cflags,$(1)) -DTASKD_STAGE=$(call stage_sym,$(1)) -c $$< -o $$@
$(BUILD)/week-$(1)/gen/migrations.c: $(call week_migrations,$(1)) shared/scripts/embed-migrations.sh
	@mkdir -p $$(dir $$@)
	bash shared/scripts/embed-migrations.sh $(call week_migrations,$(1)) > $$@.tmp && mv $$@.tmp $$@
$(BUILD)/week-$(1)/gen/migrations.o: $(BUILD)/week-$(1)/gen/migrations.c
	$(CC) $(CFLAGS) $(INC) $$(call pkg_cflags,$(1)) -c $$< -o $$@
$(BUILD)/week-$(1)/taskd: $(BUILD)/week-$(1)/main.o $(call obj,$(CORE_SRCS) $(call week_srcs,$(1))) $(BUILD)/gen/openapi_doc.o $(call migrations_obj,$(1))
	$(CC) $$^ -o $$@ $(LDFLAGS) $$(call pkg_libs,$(1))
	@echo "built $$@"
week-$(1): $(BUILD)/week-$(1)/taskd $(call bin_targets,$(1)) $(BUILD)/week-$(1)/tests/unit $(BUILD)/week-$(1)/tests/api ## build stage N (build/week-N/taskd, other programs) and its test suites
.PHONY: week-$(1)

# Unit tests link the week's modules directly (no main.c, no stage.c).
$(BUILD)/week-$(1)/tests/unit: $(call obj,$(wildcard $(call week_dir,$(1))/tests/unit_*.c) $(TK_SRCS) $(CORE_SRCS) $(filter-out %/stage.c,$(call week_srcs,$(1)))) $(BUILD)/gen/openapi_doc.o $(call migrations_obj,$(1))
	@mkdir -p $$(dir $$@)
	$(CC) $$^ -o $$@ $(LDFLAGS) $$(call pkg_libs,$(1)) $$$$(pkg-config --libs $(TEST_PKGS))
# The black-box suite is HTTP only: it links the test kit, never the service's code.
$(BUILD)/week-$(1)/tests/api: $(call obj,$(wildcard $(call week_dir,$(1))/tests/api_*.c) $(TK_SRCS) shared/src/buf.c)
	@mkdir -p $$(dir $$@)
	$(CC) $$^ -o $$@ $(LDFLAGS) $$$$(pkg-config --libs $(TEST_PKGS)) -lpthread
endef
$(foreach n,$(WEEK_NUMS),$(eval $(call WEEK_RULES,$(n))))

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
-include shared/mk/*.mk

# ---- targets people type ----
.PHONY: help deps deps-quiet all run test clean fmt lint

help: ## list the targets
	@echo "The C backend lab — targets (N is a week number, 1..$(LAST_WEEK) built so far):"
	@grep -hE '^[a-zA-Z0-9%_$$()-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/\$$\(1\)/N/; s/^([^:]+):.*## (.*)/  make \1\t\2/' | expand -t 24

deps: ## install the system packages every week needs (apt; uses sudo when not root)
	@bash shared/scripts/install-deps.sh
deps-quiet:
	@bash shared/scripts/install-deps.sh --quiet

all: $(foreach n,$(WEEK_NUMS),week-$(n)) ## build every stage and every suite

clean: ## remove build output (keeps .run/ with local data)
	rm -rf build build-san

$(BUILD)/tools/grade: shared/tools/grade.c | deps-quiet
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $< -o $@ $(LDFLAGS) $$(pkg-config --cflags --libs libcjson)

# ---- running a stage ----
# Local data lives under .run/ (git-ignored); DATABASE_URL from the environment wins. Otherwise
# a stage uses the newest default a week sets (WEEK_RUN_DB_N: week 2's is the local PostgreSQL).
run_db = $(or $(lastword $(foreach n,$(wordlist 1,$(1),$(WEEK_NUMS)),$(WEEK_RUN_DB_$(n)))),sqlite:.run/taskd.db)
define RUN_RULES
run-week-$(1): week-$(1) ## run stage N on http://127.0.0.1:8080, with its other programs (Ctrl-C stops it)
	@mkdir -p .run
	@echo "stage $(1): http://127.0.0.1:$$$${PORT:-8080}  (try: curl -s localhost:$$$${PORT:-8080}/health)"
	@user_db="$$$${DATABASE_URL:-}" && $(call services_prefix,$(1)) DATABASE_URL="$$$${user_db:-$(call run_db,$(1))}" $(call week_run_env,$(1)) \
	  $(if $(call bin_targets,$(1)),exec bash shared/scripts/run-stage.sh $(BUILD)/week-$(1)/taskd $(call bin_targets,$(1)),exec $(BUILD)/week-$(1)/taskd)
.PHONY: run-week-$(1)
endef
$(foreach n,$(WEEK_NUMS),$(eval $(call RUN_RULES,$(n))))

run: run-week-$(LAST_WEEK) ## install what is missing, build and run the newest stage on port 8080

# ---- grading ----
RESULTS := $(BUILD)/results
api_suites = $(foreach n,$(wordlist 1,$(1),$(WEEK_NUMS)),$(BUILD)/week-$(n)/tests/api)
define TEST_RULES
test-week-$(1): week-$(1) $(call api_suites,$(1)) $(BUILD)/tools/grade ## grade stage N: its unit suite + the black-box suites of weeks 1..N
	@$(call suite_env,$(1)) BUILD=$(BUILD) bash shared/scripts/run-suites.sh week-$(1) $(RESULTS) $(BUILD)/week-$(1)/taskd $(BUILD)/week-$(1)/tests/unit $(call api_suites,$(1))
.PHONY: test-week-$(1)
endef
$(foreach n,$(WEEK_NUMS),$(eval $(call TEST_RULES,$(n))))

grade: $(BUILD)/tools/grade ## print the table of every week and lab graded so far (writes build/grade.json)
	@$(BUILD)/tools/grade $(RESULTS) $(BUILD)/grade.json

# ---- labs: the week's files with the cores cut out, generated from LAB markers ----
LAB_CFLAGS := $(filter-out -Werror,$(CFLAGS)) -Werror -Wno-unused-parameter -Wno-unused-variable \
	-Wno-unused-function -Wno-unused-but-set-variable -Wno-unused-label
$(BUILD)/obj/labs/%.o: labs/%.c | deps-quiet
	@mkdir -p $(dir $@)
	$(CC) $(LAB_CFLAGS) $(INC) $(call pkg_cflags,$(LAST_WEEK)) -c $< -o $@
lab_dir = labs/$(notdir $(call week_dir,$(1)))
# week N's sources with each file the lab has replaced by the lab's copy
lab_srcs = $(foreach f,$(call week_srcs,$(1)),$(if $(wildcard $(call lab_dir,$(1))/$(notdir $(f))),$(if $(findstring /$(notdir $(call week_dir,$(1)))/src/,$(f)),$(call lab_dir,$(1))/$(notdir $(f)),$(f)),$(f)))
define LAB_RULES
$(BUILD)/lab-$(1)/taskd: $(BUILD)/week-$(1)/main.o $(call obj,$(CORE_SRCS) $(call lab_srcs,$(1))) $(BUILD)/gen/openapi_doc.o $(call migrations_obj,$(1))
	@mkdir -p $$(dir $$@)
	$(CC) $$^ -o $$@ $(LDFLAGS) $$(call pkg_libs,$(1))
$(BUILD)/lab-$(1)/tests/unit: $(call obj,$(wildcard $(call week_dir,$(1))/tests/unit_*.c) $(TK_SRCS) $(CORE_SRCS) $(filter-out %/stage.c,$(call lab_srcs,$(1)))) $(BUILD)/gen/openapi_doc.o $(call migrations_obj,$(1))
	@mkdir -p $$(dir $$@)
	$(CC) $$^ -o $$@ $(LDFLAGS) $$(call pkg_libs,$(1)) $$$$(pkg-config --libs $(TEST_PKGS))
lab-$(1): $(BUILD)/lab-$(1)/taskd $(call lab_bin_targets,$(1)) $(BUILD)/lab-$(1)/tests/unit $(call api_suites,$(1)) $(BUILD)/tools/grade ## build stage N from your lab files and grade it with week N's suites
	@$(call suite_env,$(1)) BUILD=$(BUILD) bash shared/scripts/run-suites.sh lab-$(1) $(RESULTS) $(BUILD)/lab-$(1)/taskd $(BUILD)/lab-$(1)/tests/unit $(call api_suites,$(1)) || true
# CI's proof that lab N is current and that its suite can fail: regenerate it and compare with
# what is committed, then build it as shipped and check that it scores below 100%.
lab-check-$(1): $(BUILD)/lab-$(1)/taskd $(call lab_bin_targets,$(1)) $(BUILD)/lab-$(1)/tests/unit $(call api_suites,$(1)) $(BUILD)/tools/grade
	@rm -rf $(BUILD)/labgen/$(call lab_dir,$(1)) && bash shared/scripts/labgen.sh $(call week_dir,$(1)) $(BUILD)/labgen/$(call lab_dir,$(1))
	@diff -r $(BUILD)/labgen/$(call lab_dir,$(1)) $(call lab_dir,$(1)) --exclude=README.md >/dev/null || { echo "lab-check: $(call lab_dir,$(1)) is out of date: run 'make labs' and commit"; exit 1; }
	@$(call suite_env,$(1)) QUIET=1 BUILD=$(BUILD) bash shared/scripts/run-suites.sh lab-$(1) $(RESULTS) $(BUILD)/lab-$(1)/taskd $(BUILD)/lab-$(1)/tests/unit $(call api_suites,$(1)) >/dev/null || true
	@$(BUILD)/tools/grade $(RESULTS) $(BUILD)/lab-$(1).grade.json --only lab-$(1) | awk '/^lab-/{ split($$$$2, p, "/"); if (p[1] + 0 >= p[2] + 0) { print "lab-check: pristine lab $(1) scores " $$$$2 ", expected below 100%"; exit 1 } print "lab-check: lab $(1) is current and its pristine copy scores " $$$$2 " (< 100%, so the suite can fail)" }'
.PHONY: lab-$(1) lab-check-$(1)
endef
lab_bin_targets = $(foreach b,$(call week_bins,$(1)),$(BUILD)/lab-$(1)/$(basename $(notdir $(b))))
define LAB_BIN_RULE
$(BUILD)/lab-$(1)/$(basename $(notdir $(2))): $(call obj,$(2) $(CORE_SRCS) $(filter-out %/stage.c,$(call lab_srcs,$(1)))) $(BUILD)/gen/openapi_doc.o $(call migrations_obj,$(1))
	@mkdir -p $$(dir $$@)
	$(CC) $$^ -o $$@ $(LDFLAGS) $$(call pkg_libs,$(1))
endef
$(foreach n,$(WEEK_NUMS),$(foreach b,$(call week_bins,$(n)),$(eval $(call LAB_BIN_RULE,$(n),$(b)))))
$(foreach n,$(WEEK_NUMS),$(eval $(call LAB_RULES,$(n))))

labs: ## (maintainers) regenerate every labs/NN-*/ from the LAB markers in weeks/
	@for d in $(WEEK_DIRS); do bash shared/scripts/labgen.sh $$d labs/$$(basename $$d) && echo "labs/$$(basename $$d) regenerated"; done

# ---- the whole check, as CI runs it ----
test: ## install what is missing, build everything, run every suite, check the labs, sanitizers, fuzz, grade
	@bash shared/scripts/install-deps.sh
	@$(MAKE) -j2 all $(BUILD)/tools/grade
	@rm -rf $(RESULTS); status=0; bash shared/scripts/services.sh prune-test-dbs >/dev/null 2>&1 || true; \
	for n in $(WEEK_NUMS); do $(MAKE) test-week-$$n || status=1; done; \
	for n in $(WEEK_NUMS); do $(MAKE) -j2 lab-check-$$n || status=1; done; \
	$(MAKE) test-sanitize || status=1; \
	$(MAKE) fuzz FUZZ_SECONDS=10 || status=1; \
	SMOKE_KEEP_DATABASE_URL=$(if $(call week_services,$(LAST_WEEK)),1) SMOKE_EXPECT_WORKER=$(if $(call bin_targets,$(LAST_WEEK)),1) \
	  SMOKE_AUTH=$(if $(findstring TK_AUTH=1,$(call week_kit_env,$(LAST_WEEK))),1) \
	  bash shared/scripts/smoke-run.sh || status=1; \
	bash shared/scripts/services.sh down >/dev/null 2>&1 || true; \
	$(BUILD)/tools/grade $(RESULTS) $(BUILD)/grade.json || status=1; \
	exit $$status

test-sanitize: ## run the newest stage's suites under AddressSanitizer + UBSan (build-san/)
	@$(MAKE) -j2 SANITIZE=1 week-$(LAST_WEEK) $(call api_suites,$(LAST_WEEK)) build-san/tools/grade BUILD=build-san
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  $(MAKE) SANITIZE=1 BUILD=build-san test-week-$(LAST_WEEK) && echo "sanitizers: no report"
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
.PHONY: labs test test-sanitize test-valgrind grade run

bench: week-$(LAST_WEEK) ## wrk on the newest stage beside nginx's return-200 ceiling and pgbench (ratios; build/bench/)
	@bash shared/scripts/install-deps.sh --quiet bench
	@$(call services_prefix,$(LAST_WEEK)) $(if $(call week_fresh_db,$(LAST_WEEK)),DATABASE_URL="$$($(call week_fresh_db,$(LAST_WEEK)))") \
	  $(call week_run_env,$(LAST_WEEK)) bash shared/scripts/bench.sh $(BUILD)/week-$(LAST_WEEK)/taskd $(BUILD)/bench

# ---- fuzzing: libFuzzer + ASan/UBSan over the code that reads client input ----
FUZZ_SECONDS ?= 30
FUZZ_TARGETS := json time
FUZZ_SRCS_json := shared/src/json.c shared/src/field_errors.c shared/src/buf.c shared/src/utf8.c \
	shared/src/timeutil.c shared/src/err.c weeks/01-crud/src/task.c
FUZZ_SRCS_time := shared/src/timeutil.c
build/fuzz/%: shared/fuzz/fuzz_%.c $$(FUZZ_SRCS_%) | deps-quiet
	@bash shared/scripts/install-deps.sh --quiet fuzz
	@mkdir -p $(dir $@)
	clang -std=c17 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined $(INC) \
	  $$(pkg-config --cflags libcjson) $^ -o $@ $$(pkg-config --libs libcjson)
fuzz: $(foreach t,$(FUZZ_TARGETS),build/fuzz/$(t)) ## fuzz the JSON and timestamp parsers with libFuzzer (FUZZ_SECONDS each)
	@for t in $(FUZZ_TARGETS); do mkdir -p build/fuzz/corpus-$$t; \
	  echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
	  build/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -print_final_stats=1 \
	    -artifact_prefix=build/fuzz/ build/fuzz/corpus-$$t shared/fuzz/seeds-$$t 2>&1 \
	    | grep -E 'stat::number_of_executed_units|stat::peak_rss|ERROR|SUMMARY' ; \
	  [ $${PIPESTATUS[0]} -eq 0 ] || exit 1; done; echo "fuzz: no crash, no sanitizer report"
.PHONY: fuzz

# ---- code hygiene ----
# labs/ is generated from weeks/ and then belongs to the learner: it is not linted here.
C_FILES = $(filter-out labs/%,$(shell git ls-files '*.c' '*.h' 2>/dev/null))
fmt: ## format every C file with the repository's .clang-format
	@clang-format -i $(C_FILES)
lint: ## check formatting, then cppcheck and clang-tidy (.clang-tidy) over the C code
	@clang-format --dry-run --Werror $(C_FILES)
	@cppcheck --quiet --error-exitcode=1 --enable=warning,portability --inline-suppr \
	  --suppress=missingIncludeSystem --suppress="unknownMacro:*/tests/*" -Ishared/src $(filter %.c,$(C_FILES))
	@clang-tidy --quiet $(filter-out shared/src/main.c,$(filter shared/src/%.c shared/tools/%.c,$(C_FILES)) \
	  $(foreach d,$(WEEK_DIRS),$(filter $(d)/src/%.c $(d)/stage.c,$(C_FILES)))) -- \
	  $(CSTD) $(INC) $(call pkg_cflags,$(LAST_WEEK)) $$(pkg-config --cflags yaml-0.1) 2>&1 \
	  | grep -v 'warnings generated' ; [ $${PIPESTATUS[0]} -eq 0 ]
	@echo "lint: clean"
.PHONY: bench fmt lint

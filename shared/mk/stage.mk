# stage.mk — what a stage is made of, and how its objects and binaries are built.
#
# Stage N is shared/src (the core) + weeks/01..N/src + weeks/01..N/stage.c + shared/src/main.c
# compiled with TASKD_STAGE=stage_0N. Everything here is a function of N, so a new week is a new
# weeks/NN-slug/ directory and nothing else: no list in this file names a week.
#
# Layering is enforced by the include path, which depends on where a source file lives:
#   shared/src/*.c, shared/fuzz/*.c -Ishared/src
#   shared/testkit/*.c             -Ishared/src -Ishared/testkit
#   weeks/NN-*/{src,bin,fuzz}, stage.c, labs/NN-*/
#                                  -Ishared/src -Iweeks/01..NN/src
#   weeks/NN-*/tests/**            the same + -Ishared/testkit -Iweeks/01..NN/tests/support
# so week 2 code that includes a week-3 header, or shared code that includes any week's, does
# not compile.

# ---- weeks, by number ----
week_dir = $(word $(1),$(WEEK_DIRS))
# weeks 1..N, and weeks 1..N-1 (week numbers are distinct, so filtering N out is enough)
upto = $(wordlist 1,$(1),$(WEEK_NUMS))
before = $(filter-out $(1),$(call upto,$(1)))
# the week a path belongs to: weeks/03-cache-jobs/src/x.c and labs/03-cache-jobs/x.c are week 3
week_of = $(patsubst 0%,%,$(firstword $(subst -, ,$(word 2,$(subst /, ,$(1))))))
stage_sym = stage_$(shell printf '%02d' $(1))
obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

# The system packages of weeks 1..N (the `pkg` lines of weeks/NN-*/packages, see install-deps.sh).
# pkg-config is asked only when a rule runs, after deps-quiet has had its chance.
pkg_list = $(shell awk '$$1 == "build" && $$2 == "pkg" { print $$3 }' $(1) 2>/dev/null)
pkgs = $(sort $(foreach n,$(call upto,$(1)),$(call pkg_list,$(call week_dir,$(n))/packages)))
pkg_cflags = $(shell pkg-config --cflags $(call pkgs,$(1)) 2>/dev/null)
pkg_libs = $(shell pkg-config --libs $(call pkgs,$(1)) 2>/dev/null) -lpthread -lm

# ---- include paths by location (see the table above) ----
week_incs = -Ishared/src $(foreach n,$(call upto,$(1)),-I$(call week_dir,$(n))/src)
test_incs = $(call week_incs,$(1)) -Ishared/testkit \
  $(addprefix -I,$(wildcard $(foreach n,$(call upto,$(1)),$(call week_dir,$(n))/tests/support)))
incs_for = $(strip \
  $(if $(filter shared/src/% shared/fuzz/%,$(1)),-Ishared/src, \
  $(if $(filter shared/testkit/%,$(1)),-Ishared/src -Ishared/testkit, \
  $(if $(and $(filter weeks/%,$(1)),$(findstring /tests/,$(1))),$(call test_incs,$(call week_of,$(1))), \
  $(if $(filter weeks/% labs/%,$(1)),$(call week_incs,$(call week_of,$(1))), \
  $(error no include path for $(1))))))) $(call pkg_cflags,$(LAST_WEEK))

# ---- what each stage links ----
CORE_SRCS := $(filter-out shared/src/main.c,$(wildcard shared/src/*.c))
src_of = $(wildcard $(call week_dir,$(1))/src/*.c)
srcs_upto = $(foreach n,$(call upto,$(1)),$(call src_of,$(n)))
stages_upto = $(foreach n,$(call upto,$(1)),$(call week_dir,$(n))/stage.c)
# Schema migrations of weeks 1..N, embedded in stage N's binary (see migrate.h).
week_migrations = $(sort $(foreach n,$(call upto,$(1)),$(wildcard $(call week_dir,$(n))/migrations/*.sql)))
migrations_obj = $(if $(call week_migrations,$(1)),$(BUILD)/week-$(1)/gen/migrations.o)
# The modules of stage N without main() and stage.c: what unit tests and other programs link.
modules = $(call obj,$(CORE_SRCS) $(call srcs_upto,$(1))) $(BUILD)/gen/openapi_doc.o $(call migrations_obj,$(1))
# Other programs of a stage (week 3's taskd-worker): weeks/NN/bin/NAME.c, a main() linked with the
# modules of weeks 1..N, built as build/week-N/NAME for every stage N >= NN.
week_bins = $(foreach n,$(call upto,$(1)),$(wildcard $(call week_dir,$(n))/bin/*.c))
bin_targets = $(foreach b,$(call week_bins,$(2)),$(BUILD)/$(1)-$(2)/$(basename $(notdir $(b))))
# Some of them are tools, not services (week 6's taskd-probe, a container's healthcheck
# command): a week names them in its week.mk (WEEK_TOOLS_N := NAME...), and `make run` builds
# them with the stage but starts only the others beside taskd.
week_tools = $(call joined,WEEK_TOOLS,$(1))
run_bins = $(filter-out $(addprefix $(BUILD)/week-$(1)/,$(call week_tools,$(1))),$(call bin_targets,week,$(1)))
WEEK_GOALS := $(addprefix week-,$(WEEK_NUMS))

# ---- compiling: one rule per kind of object, every one after deps-quiet (a fresh machine gets
# its -dev packages before the first compile, even with -j) ----
$(BUILD)/obj/%.o: %.c | deps-quiet
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(call incs_for,$<) -c $< -o $@
# main.c knows nothing about weeks: only the stage's symbol changes. It also carries the version
# (taskd --version), from gen/version.h.
$(BUILD)/week-%/main.o: shared/src/main.c $(BUILD)/gen/version.h | deps-quiet
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Ishared/src -I$(BUILD)/gen $(call pkg_cflags,$*) -DTASKD_STAGE=$(call stage_sym,$*) -c $< -o $@
# The version of this checkout (shared/scripts/version.sh: git describe, the same the .deb and
# the images are named by). Looked at on every make, rewritten only when it changed, so a new
# commit recompiles main.c once per stage and relinks, and nothing else.
.PHONY: version-check
$(BUILD)/gen/version.h: version-check
	@mkdir -p $(dir $@)
	@printf '#define TASKD_VERSION "%s"\n' "$$(bash shared/scripts/version.sh)" > $@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi
$(BUILD)/week-%/gen/migrations.c: $$(call week_migrations,$$*) shared/scripts/embed-migrations.sh
	@mkdir -p $(dir $@)
	bash shared/scripts/embed-migrations.sh $(call week_migrations,$*) > $@.tmp && mv $@.tmp $@
$(BUILD)/week-%/gen/migrations.o: $(BUILD)/week-%/gen/migrations.c | deps-quiet
	$(CC) $(CFLAGS) $(call week_incs,$*) $(call pkg_cflags,$*) -c $< -o $@
# The OpenAPI document is written in YAML for people and embedded in the binary as JSON.
$(BUILD)/tools/yaml2json: shared/tools/yaml2json.c | deps-quiet
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $< -o $@ $(LDFLAGS) $$(pkg-config --cflags --libs yaml-0.1 libcjson)
$(BUILD)/gen/openapi_doc.c: docs/api/openapi.yaml $(BUILD)/tools/yaml2json
	@mkdir -p $(dir $@)
	$(BUILD)/tools/yaml2json --c-array openapi_doc $< > $@.tmp && mv $@.tmp $@
$(BUILD)/gen/openapi_json.o: $(BUILD)/gen/openapi_doc.c | deps-quiet
	$(CC) $(CFLAGS) -c $< -o $@
# Week 1's GET /docs shows that document with Swagger UI, whose files (npm's swagger-ui-dist,
# fetched into shared/npm by install-deps.sh) are compiled in too: no CDN, nothing read at run
# time. Without the package the list is empty, the build still works, and /docs says how to get
# it; once it is installed, the files are newer than the generated source and make rebuilds.
SWAGGER_UI_DIR := shared/npm/node_modules/swagger-ui-dist
swagger_ui_files = $(wildcard $(addprefix $(SWAGGER_UI_DIR)/,swagger-ui.css swagger-ui-bundle.js favicon-32x32.png))
$(BUILD)/tools/embed: shared/tools/embed.c | deps-quiet
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $< -o $@ $(LDFLAGS)
$(BUILD)/gen/swagger_ui.c: $(BUILD)/tools/embed $$(swagger_ui_files) $$(wildcard $(SWAGGER_UI_DIR)/package.json)
	@mkdir -p $(dir $@)
	$(BUILD)/tools/embed swagger_ui "$$(sed -n 's/^  "version": "\(.*\)",$$/\1/p' $(SWAGGER_UI_DIR)/package.json 2>/dev/null)" \
	  $(swagger_ui_files) > $@.tmp && mv $@.tmp $@
$(BUILD)/gen/swagger_ui.o: $(BUILD)/gen/swagger_ui.c | deps-quiet
	$(CC) $(CFLAGS) -c $< -o $@
# One object for both, the one every stage, lab and unit suite links. (The objects are named, not
# $^: a build from before this rule has a stale openapi_doc.d that adds openapi_doc.c.)
$(BUILD)/gen/openapi_doc.o: $(BUILD)/gen/openapi_json.o $(BUILD)/gen/swagger_ui.o
	$(LD) -r $(BUILD)/gen/openapi_json.o $(BUILD)/gen/swagger_ui.o -o $@

# ---- linking a stage ----
$(BUILD)/week-%/taskd: $(BUILD)/week-%/main.o $$(call obj,$$(call stages_upto,$$*)) $$(call modules,$$*)
	$(CC) $^ -o $@ $(LDFLAGS) $(call pkg_libs,$*)
	@echo "built $@"
# build/week-N/NAME from weeks/NN/bin/NAME.c (the stem is "week-N/NAME"; labs reuse the rule).
# Like main.c, a program is compiled once per stage with TASKD_STAGE naming it, and linked with
# the stages' stage.c: it asks the stage for its hooks (stage_lifecycle, app.h), so week 3's
# worker gets week 5's readiness without week 3's code naming week 5.
bin_src = $(wildcard weeks/*/bin/$(notdir $(1)).c)
bin_week = $(lastword $(subst -, ,$(patsubst %/,%,$(dir $(1)))))
bin_obj = $(BUILD)/week-$(call bin_week,$(1))/bin/$(notdir $(1)).o
bin_objs = $(foreach n,$(WEEK_NUMS),$(foreach b,$(call week_bins,$(n)),$(BUILD)/week-$(n)/bin/$(basename $(notdir $(b))).o))
$(bin_objs): $(BUILD)/week-%.o: $$(call bin_src,$$*) | deps-quiet
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(call incs_for,$<) -DTASKD_STAGE=$(call stage_sym,$(firstword $(subst /, ,$*))) -c $< -o $@
$(foreach n,$(WEEK_NUMS),$(call bin_targets,week,$(n))): $(BUILD)/%: $$(call bin_obj,$$*) $$(call obj,$$(call stages_upto,$$(call bin_week,$$*))) $$(call modules,$$(call bin_week,$$*))
	$(CC) $^ -o $@ $(LDFLAGS) $(call pkg_libs,$(call bin_week,$*))
	@echo "built $@"

.PHONY: $(WEEK_GOALS)
$(WEEK_GOALS): week-%: $(BUILD)/week-%/taskd $$(call bin_targets,week,$$*) $(BUILD)/week-%/tests/unit $(BUILD)/week-%/tests/api ## build stage N (build/week-N/taskd, other programs) and its test suites

# The programs of stage N, without its test suites: what an image ships (compose/Dockerfile).
PROGRAM_GOALS := $(addprefix programs-,$(WEEK_GOALS))
.PHONY: $(PROGRAM_GOALS)
$(PROGRAM_GOALS): programs-week-%: $(BUILD)/week-%/taskd $$(call bin_targets,week,$$*)

# ---- running a stage ----
# Local data lives under .run/ (git-ignored); DATABASE_URL from the environment wins. Otherwise a
# stage uses the newest default a week sets (WEEK_RUN_DB_N: week 2's is the local PostgreSQL).
newest = $(lastword $(foreach n,$(call upto,$(2)),$($(1)_$(n))))
joined = $(strip $(foreach n,$(call upto,$(2)),$($(1)_$(n))))
run_db = $(or $(call newest,WEEK_RUN_DB,$(1)),sqlite:.run/taskd.db)
week_services = $(call joined,WEEK_SERVICES,$(1))
week_run_env = $(call joined,WEEK_RUN_ENV,$(1))
# Shell prefix: start stage N's services and load their URLs (.run/services.env) into the env.
services_prefix = $(if $(call week_services,$(1)),bash shared/scripts/services.sh up $(call week_services,$(1)) >&2 && set -a && . .run/services.env && set +a &&)
RUN_GOALS := $(addprefix run-,$(WEEK_GOALS))
.PHONY: run $(RUN_GOALS)
$(RUN_GOALS): run-week-%: week-% ## run stage N on http://127.0.0.1:8080, with its other programs (Ctrl-C stops it)
	@mkdir -p .run
	@echo "stage $*: http://127.0.0.1:$${PORT:-8080}  (try: curl -s localhost:$${PORT:-8080}/health)"
	@user_db="$${DATABASE_URL:-}" && $(call services_prefix,$*) DATABASE_URL="$${user_db:-$(call run_db,$*)}" $(call week_run_env,$*) \
	  exec $(if $(call run_bins,$*),bash shared/scripts/run-stage.sh) $(BUILD)/week-$*/taskd $(call run_bins,$*)
run: run-week-$(LAST_WEEK) ## install what is missing, build and run the newest stage on port 8080

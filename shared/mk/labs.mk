# labs.mk — the labs: each week's files with the cores cut out, generated from LAB markers.
#
# labs/NN-slug/ holds a copy of each weeks/NN-slug/src file that has LAB markers (made by
# shared/scripts/labgen.sh). Lab N is stage N with those files taken from labs/ instead: the
# same main, stage.c files, earlier weeks and suites. A week's non-C lab files (declared in
# weeks/NN-slug/lab/files.txt, decision 0027: week 5's unit file, firewall, backup script) are
# not built: the suites read them, from TASKD_LAB_FILES=labs/NN-slug when grading the lab
# (lab-N, lab-check-N, solution-N) and from the week's own directories otherwise.

LAB_CFLAGS = $(filter-out -Werror,$(CFLAGS)) -Werror -Wno-unused-parameter -Wno-unused-variable \
	-Wno-unused-function -Wno-unused-but-set-variable -Wno-unused-label
$(BUILD)/obj/labs/%.o: labs/%.c | deps-quiet
	@mkdir -p $(dir $@)
	$(CC) $(LAB_CFLAGS) $(call incs_for,$<) -c $< -o $@

lab_dir = labs/$(notdir $(call week_dir,$(1)))
# Week N's own sources, each one replaced by its lab copy when labs/NN-slug/ has one.
lab_own = $(foreach f,$(call src_of,$(1)),$(or $(wildcard $(call lab_dir,$(1))/$(notdir $(f))),$(f)))
lab_modules = $(call obj,$(CORE_SRCS) $(foreach n,$(call before,$(1)),$(call src_of,$(n))) $(call lab_own,$(1))) \
	$(BUILD)/gen/openapi_doc.o $(call migrations_obj,$(1))
# Everything lab N is graded with: its stage, other programs, unit suite, the black-box suites:
# weeks 1..N's, or week N's alone when its week.mk says WEEK_LAB_SUITES_N := own. That is for a
# lab whose files are not C (week 8's pipeline and deploy script): its taskd is the stage's own,
# which test-week-N already runs every earlier suite against, so running them again (4 minutes)
# would grade nothing the learner wrote.
lab_api_suites = $(if $(filter own,$(WEEK_LAB_SUITES_$(1))),$(BUILD)/week-$(1)/tests/api,$(call api_suites,$(1)))
lab_parts = $(BUILD)/lab-$(1)/taskd $(call bin_targets,lab,$(1)) $(BUILD)/lab-$(1)/tests/unit \
	$(call lab_api_suites,$(1)) $(BUILD)/tools/grade

$(BUILD)/lab-%/taskd: $(BUILD)/week-%/main.o $$(call obj,$$(call stages_upto,$$*)) $$(call lab_modules,$$*)
	@mkdir -p $(dir $@)
	$(CC) $^ -o $@ $(LDFLAGS) $(call pkg_libs,$*)
$(BUILD)/lab-%/tests/unit: $$(call obj,$$(call unit_srcs,$$*)) $$(call lab_modules,$$*)
	@mkdir -p $(dir $@)
	$(CC) $^ -o $@ $(LDFLAGS) $(call pkg_libs,$*) $$(pkg-config --libs $(TEST_PKGS))
$(foreach n,$(WEEK_NUMS),$(call bin_targets,lab,$(n))): $(BUILD)/%: $$(call bin_obj,$$*) $$(call obj,$$(call stages_upto,$$(call bin_week,$$*))) $$(call lab_modules,$$(call bin_week,$$*))
	@mkdir -p $(dir $@)
	$(CC) $^ -o $@ $(LDFLAGS) $(call pkg_libs,$(call bin_week,$*))

LAB_GOALS := $(addprefix lab-,$(WEEK_NUMS))
LAB_CHECK_GOALS := $(addprefix lab-check-,$(WEEK_NUMS))
.PHONY: labs $(LAB_GOALS) $(LAB_CHECK_GOALS)
# Quiet unless V=1 (issue 10, item 8): the build shows only compiler errors and warnings, the
# grading a line per suite, the failures by exercise, the score and the next exercise
# (run-suites.sh with LAB_WEEK_DIR). The suites' full output goes to $(RESULTS)/lab-N.log.
LAB_BUILD_GOALS := $(addprefix lab-build-,$(WEEK_NUMS))
.PHONY: $(LAB_BUILD_GOALS)
$(LAB_BUILD_GOALS): lab-build-%: $$(call lab_parts,$$*)
lab_quiet = $(if $(filter 1,$(V)),0,1)
$(LAB_GOALS): lab-%: ## build stage N from your lab files, grade it with week N's suites, say what to do next (V=1: everything)
	@if [ "$(lab_quiet)" = 1 ]; then $(MAKE) -s lab-build-$* || { echo "lab $*: the build failed (errors above)"; exit 1; }; \
	  else $(MAKE) lab-build-$*; fi
	@$(call suite_env,$*) BUILD=$(BUILD) QUIET=$(lab_quiet) LAB_WEEK_DIR=$(call week_dir,$*) TASKD_LAB_FILES=$(call lab_dir,$*) \
	  bash shared/scripts/run-suites.sh lab-$* $(RESULTS) \
	  $(BUILD)/lab-$*/taskd $(BUILD)/lab-$*/tests/unit $(call lab_api_suites,$*) || true
# CI's proof that lab N is current and that its suite can fail (shared/scripts/lab-check.sh).
$(LAB_CHECK_GOALS): lab-check-%: $$(call lab_parts,$$*) ## CI: lab N matches its markers and exercise data (globs, README list, minutes), pristine < 100%, learner share >= 1/3
	@$(call suite_env,$*) BUILD=$(BUILD) MAKE="$(MAKE)" TASKD_LAB_FILES=$(call lab_dir,$*) bash shared/scripts/lab-check.sh lab-$* $(call week_dir,$*) $(call lab_dir,$*) \
	  $(RESULTS) $(BUILD)/lab-$*/taskd $(BUILD)/lab-$*/tests/unit $(call lab_api_suites,$*)

# Each lab README's exercise list is made from weeks/NN/lab/*.md (shared/scripts/exercises.sh).
# labgen.sh refuses to overwrite a lab file the learner has edited (labs/NN/.generated holds the
# hashes of what it wrote); FORCE=1 overwrites it after a copy to labs/NN/.backup/. Every week is
# tried, and the target fails when any was refused or has a bad marker.
labs: ## (maintainers) regenerate labs/NN-*/ from LAB markers; refuses to overwrite your edits (FORCE=1: back up, then overwrite)
	@status=0; for d in $(WEEK_DIRS); do \
	  if FORCE=$(FORCE) bash shared/scripts/labgen.sh $$d labs/$$(basename $$d); then \
	    echo "labs/$$(basename $$d) regenerated"; else status=1; fi; \
	  bash shared/scripts/exercises.sh write $$d labs/$$(basename $$d) || status=1; done; exit $$status

# The learner's helpers around lab-N (shared/scripts/lab.sh): tiered hints from weeks/NN/lab/*.md,
# the reference of an exercise once it passes, watch mode, and one screen of progress. Their
# state (hints shown, lessons read) is under $(BUILD)/lab-state/.
HINT_GOALS := $(addprefix hint-,$(WEEK_NUMS))
SOLUTION_GOALS := $(addprefix solution-,$(WEEK_NUMS))
WATCH_GOALS := $(addprefix watch-lab-,$(WEEK_NUMS))
LESSON_GOALS := $(addprefix lesson-done-,$(WEEK_NUMS))
.PHONY: $(HINT_GOALS) $(SOLUTION_GOALS) $(WATCH_GOALS) $(LESSON_GOALS) progress
$(HINT_GOALS): hint-%: ## the next hint (nudge, idea, shape) for the first exercise of lab N not yet passing
	@BUILD=$(BUILD) bash shared/scripts/lab.sh hint $*
# solution-N grades exercise EX's tests on the files as they are now (it builds the lab itself,
# with MAKE), so it gets the suites' binaries and environment like lab-N.
$(SOLUTION_GOALS): solution-%: ## EX=N.M: the reference code of exercise N.M, once its tests pass on your files as they are now
	@$(call suite_env,$*) BUILD=$(BUILD) MAKE="$(MAKE)" TASKD_LAB_FILES=$(call lab_dir,$*) LAB_STAGE=$(BUILD)/lab-$*/taskd \
	  LAB_UNIT=$(BUILD)/lab-$*/tests/unit LAB_API="$(call lab_api_suites,$*)" \
	  bash shared/scripts/lab.sh solution $* "$(EX)"
$(WATCH_GOALS): watch-lab-%: ## grade lab N again on every save; shows the current exercise and its first failure (h: hint)
	@bash shared/scripts/install-deps.sh --quiet watch || echo "watch: no inotifywait; polling every 2 s instead"
	@BUILD=$(BUILD) MAKE="$(MAKE)" bash shared/scripts/lab.sh watch $*
$(LESSON_GOALS): lesson-done-%: ## mark week N's lesson as read (for make progress)
	@BUILD=$(BUILD) bash shared/scripts/lab.sh lesson-done $*
progress: ## one screen: every week's lesson (read?) and lab (score as a bar, exercises done)
	@BUILD=$(BUILD) bash shared/scripts/lab.sh progress

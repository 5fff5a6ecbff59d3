# hygiene.mk — formatting and static analysis of the C code.
# labs/ is generated from weeks/ and then belongs to the learner: it is not linted here.

C_FILES = $(filter-out labs/%,$(shell git ls-files '*.c' '*.h' 2>/dev/null))
# clang-tidy sees the core, the tools and every week's modules in one run, so with every include
# directory: the compiler, not lint, is what enforces the layering (stage.mk).
LINT_INCS = -Ishared/src $(foreach d,$(WEEK_DIRS),-I$(d)/src)
TIDY_FILES = $(filter-out shared/src/main.c,$(filter shared/src/%.c shared/tools/%.c weeks/%/tools/%.c,$(C_FILES))) \
	$(foreach d,$(WEEK_DIRS),$(filter $(d)/src/%.c $(d)/stage.c,$(C_FILES)))
.PHONY: fmt lint
fmt: ## format every C file with the repository's .clang-format
	@clang-format -i $(C_FILES)
lint: ## check formatting, the include layers, then cppcheck and clang-tidy over the C code
	@clang-format --dry-run --Werror $(C_FILES)
	@bash shared/scripts/check-layers.sh
	@cppcheck --quiet --error-exitcode=1 --enable=warning,portability --inline-suppr \
	  --suppress=missingIncludeSystem --suppress="unknownMacro:*/tests/*" -Ishared/src $(filter %.c,$(C_FILES))
	@clang-tidy --quiet $(TIDY_FILES) -- $(CSTD) $(LINT_INCS) $(call pkg_cflags,$(LAST_WEEK)) $$(pkg-config --cflags yaml-0.1) 2>&1 \
	  | grep -v 'warnings\? generated' ; [ $${PIPESTATUS[0]} -eq 0 ]
	@echo "lint: clean"

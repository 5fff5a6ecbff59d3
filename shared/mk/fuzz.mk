# fuzz.mk — libFuzzer + ASan/UBSan over the code that reads client input.
#
# A fuzz target lives with the code it fuzzes, and is found by its name alone:
#   shared/fuzz/fuzz_NAME.c         links the core (shared/src)
#   weeks/NN-*/fuzz/fuzz_NAME.c     links the core + weeks/01..NN/src (never main.c or stage.c)
# and its seed inputs sit beside it in seeds-NAME/. NAME is unique across the repository: the
# target is build/fuzz/NAME. The code under test is compiled with the fuzzer's instrumentation
# into an archive, so a target links only the modules it reaches (and no stubs).

FUZZ_SECONDS ?= 30
FUZZ_CFLAGS := -std=c17 -D_GNU_SOURCE -g -O1 -MMD -MP -fsanitize=fuzzer-no-link,address,undefined
FUZZ_SRCS := $(wildcard shared/fuzz/fuzz_*.c weeks/*/fuzz/fuzz_*.c)
fuzz_name = $(patsubst fuzz_%,%,$(basename $(notdir $(1))))
fuzz_src = $(filter %/fuzz_$(1).c,$(FUZZ_SRCS))
# 0 for shared/fuzz, NN for weeks/NN-*/fuzz
fuzz_week = $(if $(filter weeks/%,$(call fuzz_src,$(1))),$(call week_of,$(call fuzz_src,$(1))),0)
FUZZ_TARGETS := $(foreach f,$(FUZZ_SRCS),build/fuzz/$(call fuzz_name,$(f)))

build/fuzz/obj/%.o: %.c | deps-quiet
	@bash shared/scripts/install-deps.sh --quiet fuzz
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) $(call incs_for,$<) -c $< -o $@
# build/fuzz/lib-week-N.a: the core and weeks 1..N (lib-week-0.a: the core alone, which links
# the libraries week 1 lists).
build/fuzz/lib-week-%.a: $$(call obj_fuzz,$$(CORE_SRCS) $$(call srcs_upto,$$*))
	rm -f $@ && ar rcs $@ $^
obj_fuzz = $(patsubst %.c,build/fuzz/obj/%.o,$(1))
$(FUZZ_TARGETS): build/fuzz/%: $$(call obj_fuzz,$$(call fuzz_src,$$*)) build/fuzz/lib-week-$$(call fuzz_week,$$*).a
	clang -fsanitize=fuzzer,address,undefined $^ -o $@ $(call pkg_libs,$(patsubst 0,1,$(call fuzz_week,$*)))

.PHONY: fuzz
fuzz: $(FUZZ_TARGETS) ## fuzz every parser of client input with libFuzzer (shared/fuzz, weeks/NN/fuzz; FUZZ_SECONDS each)
	@for src in $(FUZZ_SRCS); do t=$$(basename "$$src" .c); t=$${t#fuzz_}; mkdir -p build/fuzz/corpus-$$t; \
	  echo "fuzz: $$t ($$src) for $(FUZZ_SECONDS) s"; \
	  build/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -print_final_stats=1 \
	    -artifact_prefix=build/fuzz/ build/fuzz/corpus-$$t $$(dirname "$$src")/seeds-$$t 2>&1 \
	    | grep -E 'stat::number_of_executed_units|stat::peak_rss|ERROR|SUMMARY' ; \
	  [ $${PIPESTATUS[0]} -eq 0 ] || exit 1; done; echo "fuzz: no crash, no sanitizer report"

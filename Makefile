# The lab's one entry point. `make help` lists every target with a line of explanation.
#
# This file is the table of contents; the rules live in shared/mk/:
#   stage.mk     what stage N is made of, include paths by location, building and running it
#   tests.mk     each week's unit and black-box suites, grading, `make test`, sanitizers
#   labs.mk      the labs generated from LAB markers, lab-N and lab-check-N
#   fuzz.mk      libFuzzer targets, found next to the code they fuzz
#   services.mk  the local PostgreSQL, Redis, memcached and SMTP sink
#   bench.mk     load tests of the newest stage (bench, bench-cache, bench-modes)
#   hygiene.mk   fmt and lint
#
# A week is a directory weeks/NN-slug/ with stage.c, src/, tests/ (tests/support/ for helpers
# later weeks reuse), optionally bin/, fuzz/ and migrations/, a `packages` file (what it needs
# from the system, read by shared/scripts/install-deps.sh) and week.mk (its services, its
# settings, and which bin/ programs are tools `make run` does not start), and optionally
# mk/*.mk (further targets: the server, packaging). Adding one needs no edit here.

SHELL := /bin/bash
.SECONDEXPANSION:
# Objects, generated sources and archives are kept: make must not delete them as intermediates.
.SECONDARY:
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

# The weeks, in order: weeks/01-crud is week 1, and so on.
# A week is a stage once it has its stage.c: a week directory still being built (its server, its
# lesson) adds its targets (mk/*.mk) but is not yet a stage that make run or make test would build.
WEEK_DIRS := $(sort $(patsubst %/stage.c,%,$(wildcard weeks/[0-9][0-9]-*/stage.c)))
WEEK_NUMS := $(foreach d,$(WEEK_DIRS),$(patsubst 0%,%,$(firstword $(subst -, ,$(notdir $(d))))))
LAST_WEEK := $(lastword $(WEEK_NUMS))
include $(wildcard weeks/*/week.mk)
# A week's further targets (week 5 on: the server, packaging) live in weeks/NN-slug/mk/*.mk.
include $(wildcard weeks/*/mk/*.mk)

include shared/mk/stage.mk
include $(filter-out shared/mk/stage.mk,$(wildcard shared/mk/*.mk))
-include $(shell find $(BUILD) build/fuzz -name '*.d' 2>/dev/null)

# ---- the targets people type first ----
.PHONY: help deps deps-quiet all clean

help: ## list the targets
	@echo "The C backend lab — targets (N is a week number, 1..$(LAST_WEEK) built so far):"
	@sed -nE 's/^(\$$\([A-Z_]+\): *)?([a-zA-Z0-9%_$$()-]+):.*## (.*)/  make \2\t\3/p' $(MAKEFILE_LIST) \
	  | sed -E 's/^(  make [^\t]*)%/\1N/' | expand -t 24
	@echo "  SANITIZE=1 with any build or test target: AddressSanitizer + UBSan, into build-san/"

deps: ## install the system packages every week needs (apt; uses sudo when not root)
	@bash shared/scripts/install-deps.sh
deps-quiet:
	@bash shared/scripts/install-deps.sh --quiet

all: $(WEEK_GOALS) ## build every stage and every suite

clean: ## remove build output (keeps .run/ with local data)
	rm -rf build build-san

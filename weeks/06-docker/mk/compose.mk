# compose.mk — week 6's stack: compose/compose.yaml run for real through podman (shared/scripts/
# compose.sh says how), and the graded suite that checks it from outside
# (weeks/06-docker/tests/compose_*.c, run by weeks/06-docker/stack/test-compose.sh).
#
# WEEK picks the profile (compose.yaml: week1 ... week6); the newest stage by default. Where
# podman cannot run (not root, no podman), compose.sh says why and exits 3; the suite then
# reports every check as not run, with that reason, never as passed.

COMPOSE_SH := bash shared/scripts/compose.sh
COMPOSE_WEEK ?= 6

.PHONY: compose-up compose-down compose-config compose-logs compose-ps compose-images test-compose
compose-images: $(BUILD)/tools/yaml2json ## build the images of week WEEK's stack (default 6) with podman, from compose/Dockerfile and compose/images
	@BUILD=$(BUILD) $(COMPOSE_SH) images $(or $(WEEK),$(COMPOSE_WEEK))
compose-up: $(BUILD)/tools/yaml2json ## build and start week WEEK's stack (default 6) and wait until healthy: taskd on the port compose.sh prints
	@BUILD=$(BUILD) $(COMPOSE_SH) up $(or $(WEEK),$(COMPOSE_WEEK))
compose-down: ## stop and remove the stack's containers (the volumes stay; V=1 removes them too)
	@$(COMPOSE_SH) down $(if $(V),-v)
compose-config: ## print compose.yaml as Compose reads it (docker-compose config)
	@$(COMPOSE_SH) dc config
compose-logs: ## the stack's logs
	@$(COMPOSE_SH) dc logs --no-color --tail=200
compose-ps: ## the stack's containers and their health
	@$(COMPOSE_SH) dc ps

# The suite: the test kit's main() and results writer, no stage binary (it talks to the stack).
compose_suite_srcs = $(wildcard weeks/06-docker/tests/compose_*.c) $(call support,api,5) $(TK_SRCS) shared/src/buf.c
$(BUILD)/week-6/tests/compose: $$(call obj,$$(compose_suite_srcs))
	@mkdir -p $(dir $@)
	$(CC) $^ -o $@ $(LDFLAGS) $$(pkg-config --libs $(TEST_PKGS)) -lpthread

test-compose: $(BUILD)/week-6/tests/compose $(BUILD)/tools/yaml2json $(BUILD)/tools/grade $(call api_suites,$(COMPOSE_WEEK)) ## the stack for real: build, up, the compose suite and the weeks 1-5 suites against it, down -v
	@BUILD=$(BUILD) bash weeks/06-docker/stack/test-compose.sh $(BUILD)/week-6/tests/compose $(RESULTS) $(call api_suites,$(COMPOSE_WEEK))

# package.mk — week 5's Debian package of the service, its deploy to the server, and the suite
# that checks both (weeks/05-linux/deploy/, weeks/05-linux/tests/deploy_*.c).
#
# The package holds the newest stage, LAST_WEEK (a week is a stage once it has its stage.c, so
# while week 5's stage is being written the package takes stage 4's binaries).

PACKAGE_DIR = $(BUILD)/package
PACKAGE_BINS = $(BUILD)/week-$(LAST_WEEK)/taskd $(call bin_targets,week,$(LAST_WEEK))
DEPLOY_DIR := weeks/05-linux/deploy
DEPLOY_FILES := $(wildcard $(DEPLOY_DIR)/*)
SERVER_ENV ?= .run/server/server.env

.PHONY: package package-broken package-lint deploy-server test-deploy
package: $$(PACKAGE_BINS) ## build the taskd .deb of the newest stage into build/package/ (units, sysusers, tmpfiles, /etc/taskd)
	@bash $(DEPLOY_DIR)/build-deb.sh $(BUILD)/week-$(LAST_WEEK) $(PACKAGE_DIR)

# The rollback test's package: a newer version whose taskd exits 1 (build/package/broken/).
package-broken: $$(PACKAGE_BINS)
	@PACKAGE_BROKEN=1 bash $(DEPLOY_DIR)/build-deb.sh $(BUILD)/week-$(LAST_WEEK) $(PACKAGE_DIR)

package-lint: package ## check the .deb with lintian (installed with apt when missing)
	@command -v lintian >/dev/null || { echo "package-lint: installing lintian (apt)"; \
	  $$([ "$$(id -u)" = 0 ] || echo sudo) apt-get install -y -q lintian >/dev/null; }
	@lintian --fail-on error,warning $$(cat $(PACKAGE_DIR)/latest)

deploy-server: package ## ship the .deb to the server (make server-up), restart, wait for /ready; roll back if it is not ready in time
	@bash $(DEPLOY_DIR)/deploy.sh --server-env $(SERVER_ENV) $$(cat $(PACKAGE_DIR)/latest)

# ---- the deploy suite (graded, week 5): build/results/week-5/deploy.json ----
deploy_srcs = $(wildcard weeks/05-linux/tests/deploy_*.c) $(TK_SRCS) shared/src/buf.c
$(BUILD)/week-5/tests/deploy: $$(call obj,$$(deploy_srcs))
	@mkdir -p $(dir $@)
	$(CC) $^ -o $@ $(LDFLAGS) $$(pkg-config --libs $(TEST_PKGS)) -lpthread

# test-deploy.sh boots and provisions the server when it is not up (and removes it afterwards
# unless SERVER_KEEP=1), then runs the suite; without podman the server checks fail as "not run".
# Then weeks 1–4's black-box suites run against the deployed service (remote-suites.sh).
test-deploy: $(BUILD)/week-5/tests/deploy package package-broken $(BUILD)/tools/grade $(call api_suites,4) ## grade the units, the .deb and, on the week-5 server, the deploy, crash restart, reload, rollback; then weeks 1-4's suites against the deployed service
	@DEPLOY_DIR=$(DEPLOY_DIR) PACKAGE_DEB=$$(cat $(PACKAGE_DIR)/latest) \
	  BROKEN_DEB=$$(cat $(PACKAGE_DIR)/broken/latest) SERVER_ENV=$(SERVER_ENV) \
	  REMOTE_SUITES="$(call api_suites,4)" \
	  bash $(DEPLOY_DIR)/test-deploy.sh $(BUILD)/week-5/tests/deploy $(RESULTS)

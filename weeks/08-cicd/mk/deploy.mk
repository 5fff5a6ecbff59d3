# deploy.mk — week 8's blue/green deploy to the week-5 server (staging), the rollback, and their
# test under load (weeks/08-cicd/deploy/: bluegreen.sh here, slots.sh on the server).

BLUEGREEN = bash weeks/08-cicd/deploy/bluegreen.sh --server-env $(SERVER_ENV)

.PHONY: deploy-staging rollback slots package-broken-worker test-bluegreen
# DEB=path deploys that package (a release's, built once: the pipeline's deploy job); without
# it, the newest stage is packaged first.
deploy-staging: $(if $(DEB),,package) ## blue/green deploy of the newest stage's .deb (or DEB=path) to the server: start it beside the live one, wait for /ready, smoke-test, switch
	@$(BLUEGREEN) deploy $(or $(DEB),$$(cat $(PACKAGE_DIR)/latest))

rollback: ## switch the server back to the release that served before (it kept running): seconds
	@$(BLUEGREEN) rollback

slots: ## the server's blue/green slots: which is live, their versions and states
	@$(BLUEGREEN) status

# The smoke test's broken release: taskd is sound, its worker exits at once (build/package/broken-worker/).
package-broken-worker: $$(PACKAGE_BINS)
	@PACKAGE_BROKEN=worker bash $(DEPLOY_DIR)/build-deb.sh $(BUILD)/week-$(LAST_WEEK) $(PACKAGE_DIR)

# The load generator of the deploy tests: every failed request counted (weeks/08-cicd/tools/).
$(BUILD)/tools/loadcheck: weeks/08-cicd/tools/loadcheck.c | deps-quiet
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $< -o $@ $(LDFLAGS) $$(pkg-config --cflags --libs libcurl) -lpthread

test-bluegreen: $(BUILD)/tools/loadcheck package package-broken package-broken-worker ## deploy, roll back, refuse two broken releases on the server, under a load that must see zero failed requests
	@SERVER_ENV=$(SERVER_ENV) bash weeks/08-cicd/deploy/test-bluegreen.sh $(BUILD)/tools/loadcheck $(BUILD)/week-$(LAST_WEEK) \
	  $$(cat $(PACKAGE_DIR)/latest) $$(cat $(PACKAGE_DIR)/broken/latest) $$(cat $(PACKAGE_DIR)/broken-worker/latest)

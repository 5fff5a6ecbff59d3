# autoupdate.mk — week 8's pull-based updates: `podman auto-update` on the update host (systemd and
# podman in a container: weeks/08-cicd/autoupdate/updatehost.sh), pulling from the local registry.

UPDATEHOST := bash weeks/08-cicd/autoupdate/updatehost.sh

.PHONY: update-host-up update-host-down test-autoupdate
update-host-up: ## boot the update host (systemd + podman in a container) trusting the local registry
	@bash shared/scripts/services.sh up registry >/dev/null
	@$(UPDATEHOST) up $$(sed -n 's/^REGISTRY=//p' .run/services.env)

update-host-down: ## remove the update host (its image store under .run/ stays)
	@$(UPDATEHOST) down

test-autoupdate: $(BUILD)/tools/loadcheck $(BUILD)/tools/yaml2json ## podman auto-update for real: a moved tag is pulled and served, a broken image is rolled back
	@BUILD=$(BUILD) bash weeks/08-cicd/autoupdate/test-autoupdate.sh $(BUILD)/tools/loadcheck $(LAST_WEEK)

# release.mk — week 8's releases: every artefact of one version in build/release/VERSION/ (the
# .deb, the images as OCI archives, SHA256SUMS, notes from CHANGELOG.md), and `make publish`,
# which pushes the images to a registry (weeks/08-cicd/release/).

.PHONY: release publish test-release
release: package $(BUILD)/tools/yaml2json ## build a release of this commit: the .deb, the images tagged with the version, notes, SHA256SUMS (build/release/VERSION/)
	@BUILD=$(BUILD) bash weeks/08-cicd/release/release.sh $$(cat $(PACKAGE_DIR)/latest) $(LAST_WEEK) $(BUILD)/release

publish: ## push the newest release's images to the local registry (services.sh's), or to REGISTRY with REGISTRY_USER/REGISTRY_PASSWORD
	@[ -s $(BUILD)/release/latest ] || { echo "publish: no release yet (make release)" >&2; exit 1; }
	@bash weeks/08-cicd/release/publish.sh $$(cat $(BUILD)/release/latest)

test-release: $(BUILD)/week-$(LAST_WEEK)/taskd ## test the version, make release (refusals included) and make publish to the local registry, for real
	@BUILD=$(BUILD) bash weeks/08-cicd/release/test-release.sh $(BUILD)/week-$(LAST_WEEK)/taskd $(LAST_WEEK)

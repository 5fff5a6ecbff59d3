# ci.mk — week 8's pipeline, run here: the pipeline files (.github/workflows/ci.yml,
# .gitlab-ci.yml) call ci/job.sh for every job; these targets check those files, collect a
# pipeline's results, run the whole pipeline on this machine, and test all of that
# (ci/README.md is the map).

.PHONY: ci ci-validate ci-report test-pipelines
ci-validate: $(BUILD)/tools/yaml2json ## check both pipeline files against GitHub's and GitLab's schemas, that what they run exists, and that they agree
	@BUILD=$(BUILD) bash ci/validate.sh

ci-report: $(BUILD)/tools/grade ## the report job: grade every result in build/results and write it as JUnit XML (build/grade.json, build/junit/)
	@$(BUILD)/tools/grade $(RESULTS) $(BUILD)/grade.json; status=$$?; \
	  bash ci/junit.sh $(RESULTS) $(BUILD)/junit && exit $$status

ci: $(BUILD)/tools/yaml2json ## run the pipeline's jobs in order from a clean clone of HEAD, as a host would (CI_JOBS="lint build" picks some); prints a stage table
	@BUILD=$(BUILD) bash ci/local.sh

test-pipelines: $(BUILD)/tools/yaml2json ## test the pipeline tooling: the validator catches each kind of mistake, JUnit XML, make ci from a clean clone
	@BUILD=$(BUILD) bash ci/test-pipelines.sh

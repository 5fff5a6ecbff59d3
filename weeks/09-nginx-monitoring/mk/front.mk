# front.mk — week 9's front for a person to try: stage 9 behind nginx (front/front.sh), two
# instances on one database, nginx on the public port. The suites build fronts of their own
# (tests/api_front.c); this one is for the lesson's drills.

.PHONY: run-front
run-front: week-9 ## stage 9 behind nginx: two instances on one database, nginx on http://127.0.0.1:8080 (Ctrl-C stops all)
	@bash shared/scripts/install-deps.sh --quiet
	@mkdir -p .run
	@user_db="$${DATABASE_URL:-}" && $(call services_prefix,9) DATABASE_URL="$${user_db:-$(call run_db,9)}" $(call week_run_env,9) \
	  exec bash weeks/09-nginx-monitoring/front/run-front.sh $(BUILD)/week-9/taskd $(call run_bins,9)

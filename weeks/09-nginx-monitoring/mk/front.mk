# front.mk — week 9's front for a person to try: stage 9 behind nginx (front/front.sh), two
# instances on one database, nginx on the public port. The suites build fronts of their own
# (tests/api_front.c); this one is for the lesson's drills.

.PHONY: run-front
run-front: week-9 ## stage 9 behind nginx: two instances, nginx on 8080, Prometheus and Alertmanager; FRONT_TLS=acme|selfsigned adds HTTPS (Ctrl-C stops all)
	@bash shared/scripts/install-deps.sh --quiet
	@mkdir -p .run
	@$(if $(filter selfsigned,$(FRONT_TLS)),test -f .run/tls/cert.pem || bash weeks/09-nginx-monitoring/front/tls-selfsigned.sh .run/tls localhost taskd.test;)
	@user_db="$${DATABASE_URL:-}" && $(call services_prefix,9) DATABASE_URL="$${user_db:-$(call run_db,9)}" $(call week_run_env,9) FRONT_TLS="$(FRONT_TLS)" \
	  exec bash weeks/09-nginx-monitoring/front/run-front.sh $(BUILD)/week-9/taskd $(call run_bins,9)

# A local CA and a certificate from it for localhost and taskd.test (.run/tls/): for the
# learner who prefers it to ACME. `make run-front FRONT_TLS=selfsigned` serves it.
.PHONY: tls-selfsigned
tls-selfsigned: ## a local CA and a certificate for localhost and taskd.test in .run/tls/ (openssl); trust .run/tls/ca.pem to check it
	@bash shared/scripts/install-deps.sh --quiet
	@bash weeks/09-nginx-monitoring/front/tls-selfsigned.sh .run/tls localhost taskd.test

# Weeks 1–8's black-box suites through the front over HTTPS (front/https-suites.sh): two
# stage-9 instances on a fresh database behind nginx with a local CA's certificate. Tests that
# need more than the deployed service (their own taskd, raw sockets below TLS) are reported not
# applicable; every other must pass. Results: build/front-https/ (not graded: the stages' own
# suites earn the points).
.PHONY: test-front-https
test-front-https: week-9 $(call api_suites,8) ## weeks 1-8's black-box suites through nginx over HTTPS (two stage-9 instances, a local CA)
	@$(call suite_env,9) db="$$($$TK_FRESH_DB_CMD)" && \
	  { DATABASE_URL="$$db" bash weeks/09-nginx-monitoring/front/https-suites.sh $(BUILD)/week-9/taskd \
	      $(BUILD)/front-https $(call api_suites,8); \
	    status=$$?; $$TK_DROP_DB_CMD "$$(basename "$${db%%\?*}")" >/dev/null 2>&1; exit $$status; }

# dashboard.mk — week 9's dashboard without Grafana: the panels of
# monitoring/grafana/taskd-dashboard.json drawn with uPlot from Prometheus's HTTP API.

DASHBOARD_DIR := weeks/09-nginx-monitoring/monitoring/dashboard
# Week 9's page in headless Chromium after TRAFFIC_SECONDS of traffic, with a fresh database.
dashboard_ui = $(call suite_env,9) db="$$($$TK_FRESH_DB_CMD)" && \
  { DATABASE_URL="$$db" bash $(DASHBOARD_DIR)/test-dashboard-ui.sh $(BUILD)/week-9/taskd $(1); \
    status=$$?; $$TK_DROP_DB_CMD "$$(basename "$${db%%\?*}")" >/dev/null 2>&1; exit $$status; }

.PHONY: dashboard test-dashboard-ui dashboard-screenshot
dashboard: ## draw the dashboard from the Prometheus of a running `make run-front`, on http://127.0.0.1:8090 (Ctrl-C stops it)
	@test -f .run/monitor/urls || { echo "dashboard: no Prometheus from make run-front (.run/monitor/urls): start make run-front in another terminal first" >&2; exit 1; }
	@bash $(DASHBOARD_DIR)/serve.sh $(BUILD)/dashboard/page "$$(awk '/^prometheus-url/ {print $$2}' .run/monitor/urls)" 8090

test-dashboard-ui: week-9 ## the dashboard in headless Chromium with live data: every panel drawn (picture in build/dashboard/)
	@bash shared/scripts/install-deps.sh --quiet docs-ui
	@$(call dashboard_ui,$(BUILD)/dashboard/dashboard.png)

dashboard-screenshot: week-9 ## the lesson's picture of the dashboard (weeks/09-nginx-monitoring/dashboard.png)
	@bash shared/scripts/install-deps.sh --quiet docs-ui
	@$(call dashboard_ui,weeks/09-nginx-monitoring/dashboard.png)

# bench.mk — week 9's benchmark: what counting costs. The same wrk load on a cached
# GET /tasks/{id} (shared/scripts/bench-compare.sh), served by stage 9 with METRICS=off and then
# METRICS=on, in alternating rounds beside nginx's `return 200` ceiling; the median ratio of
# metrics-on to metrics-off over the rounds is the cost (the issue's goal: under 3%, so a ratio of
# at least 0.97). Results: build/bench-metrics/compare.json.

.PHONY: bench-metrics
BENCH_METRICS_VARIANTS := metrics-off:METRICS=off metrics-on:METRICS=on

bench-metrics: week-9 ## cached GET /tasks/{id} with METRICS=off vs on, beside nginx: what counting costs (build/bench-metrics/)
	@bash shared/scripts/install-deps.sh --quiet bench
	@$(bench_compare_env) BENCH_VARIANTS="$(BENCH_METRICS_VARIANTS)" \
	  bash shared/scripts/bench-compare.sh $(BUILD)/week-9/taskd $(BUILD)/bench-metrics

BENCH_SMOKE += bench-metrics

# bench.mk — week 7's benchmark (weeks/07-kafka/bench/bench-events.sh says what and how): the
# transactional outbox's cost on POST /tasks, stage 7 against stage 6 in alternating rounds, and
# the end-to-end latency of an event (commit, relay, broker, projector) at a fixed write rate.
# Every run gets a fresh database (services.sh fresh-db), migrated when taskd starts.
# Week 7's services without rabbitmq: the benchmark's bus is Kafka (the dev broker), and an
# Erlang node idling beside it would only take CPU from what is measured.
# BENCH_SECONDS, BENCH_ROUNDS, BENCH_CONNECTIONS (part 1); BENCH_EVENTS_RATES, BENCH_EVENTS_SECONDS
# (part 2) tune the runs. Results: build/bench-events/ (events.json, report.txt, the logs).

.PHONY: bench-events
bench_events_services = $(filter-out rabbitmq,$(call week_services,7))

bench-events: programs-week-6 programs-week-7 ## the outbox's cost (stage 7 vs 6, POST /tasks) and end-to-end event latency at 1000 and 250 writes/s (build/bench-events/)
	@bash shared/scripts/install-deps.sh --quiet bench
	@bash shared/scripts/services.sh up $(bench_events_services) >&2 && set -a && . .run/services.env && set +a && \
	  $(filter-out AUTO_MIGRATE=%,$(call week_run_env,7)) AUTO_MIGRATE=1 \
	  FRESH_DB_CMD="$(call week_fresh_db,7)" DROP_DB_CMD="$(WEEK_DROP_DB_$(call fresh_db_week,7))" \
	  bash weeks/07-kafka/bench/bench-events.sh $(BUILD)/week-6/taskd $(BUILD)/week-7/taskd $(BUILD)/bench-events

# make bench-smoke (make test) runs bench-events too: one 1-second round of part 1, and part 2
# at 100 writes/s for 2 seconds.
BENCH_SMOKE += bench-events
BENCH_SMOKE_ENV += BENCH_EVENTS_RATES=100 BENCH_EVENTS_SECONDS=2 BENCH_EVENTS_DRAIN_SECONDS=30

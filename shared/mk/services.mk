# Local backing services (PostgreSQL; Redis, memcached and an SMTP sink from week 3; a Kafka dev
# broker from week 7) run as plain processes with their data under .run/;
# shared/scripts/services.sh does the work, these are the
# names people type.
.PHONY: services-up services-down services-status

services-up: ## start PostgreSQL, Redis, memcached, the SMTP sink and the Kafka dev broker under .run/; write .run/services.env
	@bash shared/scripts/install-deps.sh --quiet
	@bash shared/scripts/services.sh up

services-down: ## stop PostgreSQL, Redis, memcached, the SMTP sink and the Kafka dev broker (data kept under .run/, but Kafka's is in memory)
	@bash shared/scripts/services.sh down

services-status: ## show which of PostgreSQL, Redis, memcached, the SMTP sink and the Kafka dev broker run, and where
	@bash shared/scripts/services.sh status

# The SMTP sink (shared/tools/smtp_sink.c): services.sh builds it before `up smtp`; the suites read
# the messages it stores.
$(BUILD)/tools/smtp-sink: shared/tools/smtp_sink.c | deps-quiet
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $< -o $@ $(LDFLAGS) -lpthread

# The Kafka dev broker (shared/tools/kafka_dev_broker.c, librdkafka's mock cluster): services.sh
# builds it before `up kafka`. It links librdkafka only, not the stage's code.
$(BUILD)/tools/kafka-dev-broker: shared/tools/kafka_dev_broker.c | deps-quiet
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $$(pkg-config --cflags rdkafka) $< -o $@ $(LDFLAGS) $$(pkg-config --libs rdkafka)

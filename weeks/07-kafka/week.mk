# Week 7's build facts. Stage 7 adds events: taskd writes an outbox row in each write's
# transaction; taskd-relay publishes the rows to a broker, taskd-notifier and taskd-projector
# consume them. Its suites and `make run` need the Kafka-protocol dev broker (kafka-dev-broker,
# built by this stage) and, for EVENT_BUS=rabbitmq, a rabbitmq-server, beside week 3's services.
WEEK_SERVICES_7 := kafka rabbitmq
WEEK_TEST_ENV_7 :=
WEEK_RUN_ENV_7 :=
WEEK_TOOLS_7 := kafka-dev-broker
# The bus suites (tests/api_bus_*.c) drive event_bus.h against the live brokers.
WEEK_API_MODULES_7 := 1

# Week 7's build facts. Stage 7 adds events: taskd writes an outbox row in each write's
# transaction; taskd-relay publishes the rows to a broker, taskd-notifier and taskd-projector
# consume them. Its suites and `make run` need the Kafka-protocol dev broker (kafka-dev-broker, a
# local service like the SMTP sink: shared/tools/) and a rabbitmq-server (EVENT_BUS=rabbitmq),
# beside week 3's services. taskd-events is a client for people and tests, not a service: make
# run builds it and starts the other programs only.
WEEK_SERVICES_7 := kafka rabbitmq
WEEK_TEST_ENV_7 :=
WEEK_RUN_ENV_7 :=
WEEK_TOOLS_7 := taskd-events

# Week 5's build facts. Stage 5 runs stage 4 as a Linux service: readiness, watchdog, reload and
# stop told to systemd with libsystemd's sd_notify (src/notify.c). It needs no new service, and
# nothing changes for `make run` and the earlier suites: without NOTIFY_SOCKET every message is
# a no-op. The week's black-box suite points NOTIFY_SOCKET at a socket of its own.
WEEK_SERVICES_5 :=
WEEK_TEST_ENV_5 :=
WEEK_RUN_ENV_5 :=

# Week 6's build facts. Stage 6 runs stage 5 in containers (compose/): it needs no new service,
# and nothing changes for `make run` and the earlier suites, since without HEALTH_FILE the
# lifecycle writes no file. taskd-probe, the containers' healthcheck command, is a tool and not
# a service: `make run` builds it but does not start it beside taskd (WEEK_TOOLS_N, stage.mk).
WEEK_SERVICES_6 :=
WEEK_TEST_ENV_6 :=
WEEK_RUN_ENV_6 :=
WEEK_TOOLS_6 := taskd-probe

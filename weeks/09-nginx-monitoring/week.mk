# Week 9's build facts. Stage 9 is stage 8 with GET /metrics; its suites read the exposition
# with promtool (this week's packages). It needs no service beyond week 7's.
WEEK_SERVICES_9 :=
WEEK_TEST_ENV_9 :=
WEEK_RUN_ENV_9 :=
WEEK_TOOLS_9 :=

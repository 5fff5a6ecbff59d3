# server.mk — week 5's server: a Debian machine with systemd as PID 1 in a rootful podman container
# (weeks/05-linux/server/server.sh), provisioned with Ansible and closed by an nftables firewall,
# and the graded suite that checks it from the outside (weeks/05-linux/tests/server_*.c).
#
# The server's loopback ports and SSH key are in .run/server/server.env once it is up. Where
# podman cannot run (not root, no podman), shared/scripts/podman.sh says why and exits 3; the
# suite then reports every check as not run, with that reason, never as passed.

SERVER_SH := bash weeks/05-linux/server/server.sh
# make test runs this week's server suites (test-server, test-deploy, server-down) beside the lab
# checks (shared/scripts/test-all.sh, WEEK_SERVER).
SERVER_WEEK := 5

.PHONY: server-image server-up server-down server-ssh server-status server-provision test-server
server-image: ## build the week-5 server image (cached: rebuilt only when its inputs change)
	@$(SERVER_SH) image
server-up: ## boot the week-5 server (systemd, sshd) in podman; ports in .run/server/server.env
	@$(SERVER_SH) up
server-down: ## remove the week-5 server
	@$(SERVER_SH) down
server-ssh: ## log in on the server as its administrator, or run CMD there: make server-ssh CMD='systemctl status'
	@$(SERVER_SH) ssh $(CMD)
server-status: ## is the server up, its ports, what systemd says
	@$(SERVER_SH) status
server-provision: ## provision the server with Ansible: taskd's libraries, PostgreSQL, Redis, memcached, the firewall
	@$(SERVER_SH) provision

# The suite: the test kit's main() and results writer, no stage binary (it talks to the server).
server_suite_srcs = $(wildcard weeks/05-linux/tests/server_*.c) $(TK_SRCS) shared/src/buf.c
$(BUILD)/week-5/tests/server: $$(call obj,$$(server_suite_srcs))
	@mkdir -p $(dir $@)
	$(CC) $^ -o $@ $(LDFLAGS) $$(pkg-config --libs $(TEST_PKGS)) -lpthread

test-server: $(BUILD)/week-5/tests/server $(BUILD)/tools/grade ## the server suite: server-up, provision, check SSH, systemd, the firewall; then server-down
	@BUILD=$(BUILD) bash weeks/05-linux/server/test-server.sh $(BUILD)/week-5/tests/server $(RESULTS)

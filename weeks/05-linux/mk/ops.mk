# ops.mk — week 5's operator scripts (weeks/05-linux/ops/): logq.sh (journal and log queries),
# backup.sh (pg_dump with rotation), whatsup.sh (who holds a port, a file, the CPU). Their test
# runs them for real: logq on recorded taskd lines, backup against the local PostgreSQL (started
# here like every suite's services), whatsup on a port and a file it opens; then shellcheck.
.PHONY: test-ops
test-ops: ## run week 5's operator scripts (logq, backup, whatsup) for real and check what they report
	@bash weeks/05-linux/ops/test-ops.sh

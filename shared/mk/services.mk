# Local backing services (PostgreSQL now; more in later weeks) run as plain processes with their
# data under .run/; shared/scripts/services.sh does the work, these are the names people type.
.PHONY: services-up services-down services-status

services-up: ## start the local services (PostgreSQL...) under .run/ and write .run/services.env
	@bash shared/scripts/install-deps.sh --quiet
	@bash shared/scripts/services.sh up

services-down: ## stop the local services (data kept under .run/)
	@bash shared/scripts/services.sh down

services-status: ## show which local services run, and where
	@bash shared/scripts/services.sh status

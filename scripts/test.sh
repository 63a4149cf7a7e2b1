#!/usr/bin/env bash
# make test: install what the tests need, check the generated code and the
# formatting, start private MariaDB and PostgreSQL instances, run every test
# against all three SQL dialects, and stop the databases again.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh test
make --no-print-directory build
make --no-print-directory lint
bash scripts/genproto.sh --check

# The storage and daemon tests fail, rather than skip, when a dialect is
# missing.
export DIEGO_TEST_REQUIRE_DBS=1
# Likewise the executor's tests when containerd (installed above) cannot run.
export DIEGO_TEST_REQUIRE_CONTAINERD=1
exec bash scripts/with-testdbs.sh go test -count=1 -timeout 30m "${@:-./...}"

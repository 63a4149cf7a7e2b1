#!/usr/bin/env bash
# make bench: run the diego-bench scenarios against private databases.
#   scripts/bench.sh                       the locket scenario
#   scripts/bench.sh bbs-list [flags]      a BBS scenario (bbs-list, bbs-writes, convergence, bbs-events)
#   scripts/bench.sh containers [flags]    the executor on a private containerd (root; no database needed)
# The BBS scenarios hold 200,000 LRPs (about 1 GB in MariaDB): the private
# MariaDB gets a 4 GB buffer pool unless DIEGO_TESTDB_MYSQL_BUFFER_POOL says
# otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
export DIEGO_TESTDB_MYSQL_BUFFER_POOL=${DIEGO_TESTDB_MYSQL_BUFFER_POOL:-4G}
export DIEGO_TESTDB_MYSQL_LOG_FILE_SIZE=${DIEGO_TESTDB_MYSQL_LOG_FILE_SIZE:-512M}
exec bash scripts/with-testdbs.sh bin/diego-bench "${@:-locket}"

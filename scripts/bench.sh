#!/usr/bin/env bash
# make bench: run the diego-bench scenarios against private databases.
set -euo pipefail
cd "$(dirname "$0")/.."
exec bash scripts/with-testdbs.sh bin/diego-bench "${@:-locket}"

#!/usr/bin/env bash
# Runs a command with private MariaDB and PostgreSQL servers (scripts/testdb.sh)
# and the DIEGO_TEST_* variables of their DIR/env exported; always stops the
# servers and removes their directory afterwards, and exits with the command's
# status. Example:
#
#   scripts/with-testdbs.sh env DIEGO_TEST_REQUIRE_DBS=1 go test ./...
set -euo pipefail

if [ $# -eq 0 ]; then
	echo "usage: $0 COMMAND [ARG...]" >&2
	exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d "${TMPDIR:-/tmp}/diego-testdb.XXXXXX")
trap '"$here/testdb.sh" stop "$dir" || rm -rf "$dir"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$here/testdb.sh" start "$dir"
eval "$("$here/testdb.sh" env "$dir")"

rc=0
"$@" || rc=$?
exit $rc

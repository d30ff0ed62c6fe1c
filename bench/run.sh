#!/usr/bin/env bash
# The benchmark, one command: installs the pinned load generator and peer (bench/package.json), builds the broker
# and the bare baseline in Release, runs every measurement and prints one table (also bench/results-latest.md).
#   usage: bench/run.sh [--quick]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
(cd "$root" && [ -d node_modules/azurite ] || npm ci --no-audit --no-fund)
(cd "$root/bench" && npm ci --no-audit --no-fund)
dotnet build "$root/src/OAuthBroker.Host" -c Release -nologo -v quiet
dotnet build "$root/bench/BareApi" -c Release -nologo -v quiet
dotnet run --project "$root/bench/OAuthBroker.Bench" -c Release -- "$@"

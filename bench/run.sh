#!/usr/bin/env bash
# The benchmark, one command: installs the pinned load generator and peer (bench/package.json), publishes the broker
# and the bare baseline the way they are deployed (Release, self-contained linux-x64, as infra/package.sh does), runs
# every measurement and prints one table (also bench/results-latest.md).
#   usage: bench/run.sh [--quick] [--startup-only | --authorize-only] [--startups N] [--trace-startup DIR]
#   BENCH_PUBLISH_ARGS="-p:PublishReadyToRun=true"   extra publish properties for both apps (start-up experiments)
#   BENCH_SELF_CONTAINED=false                        framework-dependent instead of self-contained (both apps)
# Exit code: non-zero when the harness crashed, a stage failed or a row is INVALID (see bench/README.md); no figure
# is asserted. SIGTERM/SIGINT stop every process it started.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/bench/.out"
(cd "$root" && { [ -d node_modules/azurite ] || npm ci --no-audit --no-fund; })
(cd "$root/bench" && npm ci --no-audit --no-fund --loglevel=error)

publish() { # project, output folder
  rm -rf "$2"
  # shellcheck disable=SC2086 # BENCH_PUBLISH_ARGS is a list of arguments
  dotnet publish "$1" -c Release -r linux-x64 --self-contained "${BENCH_SELF_CONTAINED:-true}" -p:DebugType=None -o "$2" -nologo -v quiet --disable-build-servers ${BENCH_PUBLISH_ARGS:-}
}
publish "$root/src/OAuthBroker.Host" "$out/broker"
publish "$root/bench/BareApi" "$out/bare"
dotnet build "$root/bench/OAuthBroker.Bench" -c Release -nologo -v quiet --disable-build-servers

bench=("$root/bench/OAuthBroker.Bench/bin/Release/net10.0/OAuthBroker.Bench.dll" --published "$out" "$@")
trace_dir=""
previous=""
for argument in "$@"; do
  [ "$previous" = "--trace-startup" ] && trace_dir=$argument
  previous=$argument
done
if [ -z "$trace_dir" ]; then
  # exec: the benchmark is this process, so a signal sent to it (CI's time limit) reaches the code that stops its children.
  exec dotnet "${bench[@]}"
fi

# With --trace-startup: the benchmark, then what the traces say (bench/StartupTrace, bench/startup.md).
dotnet "${bench[@]}"
dotnet build "$root/bench/StartupTrace" -c Release -nologo -v quiet --disable-build-servers
dotnet "$root/bench/StartupTrace/bin/Release/net10.0/StartupTrace.dll" "$trace_dir/broker.nettrace" "$trace_dir/bare.nettrace"

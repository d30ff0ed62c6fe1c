#!/usr/bin/env bash
# Builds the deployable Functions package on Linux: a self-contained linux-x64 publish of the host (no .NET runtime
# needed on the worker), which is already a Functions script root (host.json, one folder per function with its
# function.json, the OAuthBroker.Host executable), zipped with the executable bit kept.
#   usage: infra/package.sh [output-directory]    (default: artifacts/package)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$(mkdir -p "${1:-$root/artifacts/package}" && cd "${1:-$root/artifacts/package}" && pwd)
rm -rf "$out/app" "$out/oauth-broker.zip"

# Everything dotnet prints goes to stderr: stdout is only the package path (deploy.sh reads it).
dotnet publish "$root/src/OAuthBroker.Host" -c Release -r linux-x64 --self-contained true \
  -o "$out/app" -p:DebugType=None -nologo -v quiet 1>&2

# Zips made elsewhere lose the executable bit and the host cannot start the handler; set it and keep it.
chmod +x "$out/app/OAuthBroker.Host"
(cd "$out/app" && zip -q -r -X "$out/oauth-broker.zip" . 1>&2)
echo "$out/oauth-broker.zip"

#!/usr/bin/env bash
# Deploys the package to an existing function app with the Azure CLI (one of the documented ways; see README).
#   usage: infra/deploy.sh <resource-group> <function-app-name>
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# The last line package.sh prints is the zip's path, whatever else a tool may print before it.
package=$("$root/infra/package.sh" | tail -n 1)
az functionapp deployment source config-zip --resource-group "$1" --name "$2" --src "$package"

#!/usr/bin/env bash
# Deploys the package to an existing function app with the Azure CLI (one of the documented ways; see README).
#   usage: infra/deploy.sh <resource-group> <function-app-name>
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
package=$("$root/infra/package.sh")
az functionapp deployment source config-zip --resource-group "$1" --name "$2" --src "$package"

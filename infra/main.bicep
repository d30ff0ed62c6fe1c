metadata name = 'OAuth broker'
metadata description = 'The OAuth broker on Azure Functions Flex Consumption (custom handler, Linux), with its storage, Key Vault and monitoring.'

targetScope = 'subscription'

import { providerType, backendType, webhookEndpointType } from 'types.bicep'

// ------------------------------------------------------------------------------------------------
// Parameters
// ------------------------------------------------------------------------------------------------

@minLength(1)
@maxLength(48)
@description('Required. Name of the azd environment; prefixes the resource group and tags every resource.')
param environmentName string

@minLength(1)
@description('Required. Azure region of every resource. Must offer Flex Consumption.')
@metadata({ azd: { type: 'location' } })
param location string

@description('Optional. Object id of a person or group that may manage secrets in the vault (provider client secrets, backend keys). Default: the deployer.')
param principalId string = deployer().objectId

@description('Optional. Public origin of the broker, e.g. https://broker.example.com. Default: https://<function app>.azurewebsites.net. Provider redirect URIs are <origin>/api/oauth/<id>/callback.')
param publicBaseUrl string = ''

@description('Optional. Origins (scheme://host[:port]) a finished flow may return to, matched exactly.')
param allowedReturnOrigins array = []

@description('Optional. Exact URLs (on the broker or an allowed return origin) of the pages where a single-page app completes a link started with a challenge ticket. Empty: challenge tickets are refused.')
param completionPages array = []

@description('Optional. Issuer of the platform\'s user tokens (bearer JWTs), e.g. https://login.microsoftonline.com/<tenant>/v2.0. Empty: no bearer tokens accepted.')
param userTokenAuthority string = ''

@description('Optional. Audience the user tokens must carry. Required with userTokenAuthority.')
param userTokenAudience string = ''

@description('Optional. Six-field NCRONTAB schedule (UTC) of the refresh sweep. Every minute by default: a pending WhiteBIT key (Fast API Key flow) must be renewed well within its 600 s refresh token, and start-up refuses a schedule that leaves too little.')
param refreshSchedule string = '0 * * * * *'

@description('Optional. Turn on Key Vault purge protection (deleted secrets cannot be purged before retention ends). Cannot be turned off again.')
param enablePurgeProtection bool = false

@description('Optional. Most instances the function app scales to.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Optional. Providers to offer. Each: { id, settings: { Dialect?, ClientId, ... non-secret settings }, clientSecretName }. The client secret is a Key Vault secret of that name, referenced from app settings; it is never a parameter.')
param providers providerType[] = []

@description('Optional. Backends that may read credentials. Each: { name, keySecretName, providers? }. The key is a Key Vault secret of that name.')
param backends backendType[] = []

@description('Optional. Webhook endpoints receiving signed link events. Each: { name, url, secretName, eventTypes?, providers? }. The signing secrets are a Key Vault secret of that name (one or more whsec_ values, space separated), read at delivery time; never a parameter.')
param webhookEndpoints webhookEndpointType[] = []

// ------------------------------------------------------------------------------------------------
// Resources
// ------------------------------------------------------------------------------------------------

var tags = { 'azd-env-name': environmentName }
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))

resource resourceGroup 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: 'rg-${environmentName}'
  location: location
  tags: tags
}

module resources 'app/resources.bicep' = {
  name: 'resources'
  scope: resourceGroup
  params: {
    location: location
    tags: tags
    resourceToken: resourceToken
    principalId: principalId
    publicBaseUrl: publicBaseUrl
    allowedReturnOrigins: allowedReturnOrigins
    completionPages: completionPages
    refreshSchedule: refreshSchedule
    userTokenAuthority: userTokenAuthority
    userTokenAudience: userTokenAudience
    enablePurgeProtection: enablePurgeProtection
    maximumInstanceCount: maximumInstanceCount
    providers: providers
    backends: backends
    webhookEndpoints: webhookEndpoints
  }
}

// ------------------------------------------------------------------------------------------------
// Outputs (read by azd as environment variables)
// ------------------------------------------------------------------------------------------------

@description('The resource group.')
output AZURE_RESOURCE_GROUP string = resourceGroup.name

@description('The function app.')
output AZURE_FUNCTION_APP_NAME string = resources.outputs.functionAppName

@description('The broker\'s public origin (register <origin>/api/oauth/<id>/callback at each provider).')
output AZURE_FUNCTION_APP_URL string = resources.outputs.publicBaseUrl

@description('The vault holding credentials, provider client secrets and backend keys.')
output AZURE_KEY_VAULT_NAME string = resources.outputs.keyVaultName

@description('The vault URI.')
output AZURE_KEY_VAULT_URI string = resources.outputs.keyVaultUri

@description('The storage account (tables; the Functions host\'s blobs).')
output AZURE_STORAGE_ACCOUNT_NAME string = resources.outputs.storageAccountName

metadata name = 'OAuth broker resources'
metadata description = 'Function app (Flex Consumption, custom handler), identity, storage, Key Vault, monitoring and role assignments.'

import { providerType, backendType, webhookEndpointType } from '../types.bicep'

// ------------------------------------------------------------------------------------------------
// Parameters
// ------------------------------------------------------------------------------------------------

@description('Required. Region of every resource.')
param location string

@description('Required. Tags for every resource.')
param tags object

@description('Required. Unique suffix for globally unique names.')
param resourceToken string

@description('Optional. Object id that may manage vault secrets (provider client secrets, backend keys).')
param principalId string = ''

@description('Optional. Public origin; default https://<function app>.azurewebsites.net.')
param publicBaseUrl string = ''

@description('Optional. Origins a flow may return to.')
param allowedReturnOrigins array = []

@description('Optional. Exact completion page URLs for challenge tickets.')
param completionPages array = []

@description('Optional. Issuer of the platform\'s user tokens.')
param userTokenAuthority string = ''

@description('Optional. Audience of the platform\'s user tokens.')
param userTokenAudience string = ''

@description('Required. Six-field NCRONTAB schedule of the refresh sweep.')
param refreshSchedule string

@description('Required. Key Vault purge protection.')
param enablePurgeProtection bool

@description('Required. Most instances of the function app.')
param maximumInstanceCount int

@description('Required. The provider catalogue.')
param providers providerType[]

@description('Required. Backends that may read credentials.')
param backends backendType[]

@description('Required. Webhook endpoints receiving link events.')
param webhookEndpoints webhookEndpointType[]

// ------------------------------------------------------------------------------------------------
// Variables
// ------------------------------------------------------------------------------------------------

var functionAppName = 'func-${resourceToken}'
var vaultName = 'kv-${resourceToken}'
var deploymentContainerName = 'app-package-${resourceToken}'
var origin = empty(publicBaseUrl) ? 'https://${functionAppName}.azurewebsites.net' : publicBaseUrl
var tableNames = ['AccountLinks', 'AuthorizationFlows', 'RefreshSchedule']

// Built-in role definition ids.
var roles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  keyVaultSecretsOfficer: 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}

// Every setting the app reads in Azure (see README "Configuration"; a test checks this list against the app).
var baseSettings = [
  // The Functions host's own storage, by identity (no keys anywhere).
  { name: 'AzureWebJobsStorage__accountName', value: storage.name }
  { name: 'AzureWebJobsStorage__credential', value: 'managedidentity' }
  { name: 'AzureWebJobsStorage__clientId', value: identity.properties.clientId }
  { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: insights.properties.ConnectionString }
  { name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', value: 'ClientId=${identity.properties.clientId};Authorization=AAD' }
  // DefaultAzureCredential picks the user-assigned identity from AZURE_CLIENT_ID.
  { name: 'AZURE_CLIENT_ID', value: identity.properties.clientId }
  { name: 'Broker__PublicBaseUrl', value: origin }
  { name: 'Storage__TableServiceUri', value: storage.properties.primaryEndpoints.table }
  { name: 'KeyVault__VaultUri', value: vault.properties.vaultUri }
  // Read by RefreshTokens/function.json ("%REFRESH_SCHEDULE%") and by the app. A flat name: the host resolves %name%
  // against a configuration that stores A__B as A:B, so "%Refresh__Schedule%" would never resolve (docs/functions-host.md).
  { name: 'REFRESH_SCHEDULE', value: refreshSchedule }
  // The key ring for sealed short-lived state (flows, pending links): this vault secret's versions, each 32 random bytes base64, added by the operator.
  { name: 'Sealing__KeyVaultSecretName', value: 'sealing-key' }
]

var userTokenSettings = empty(userTokenAuthority) ? [] : [
  { name: 'Authentication__JwtAuthority', value: userTokenAuthority }
  { name: 'Authentication__JwtAudience', value: userTokenAudience }
]

var originSettings = [for (o, i) in allowedReturnOrigins: { name: 'Broker__AllowedReturnOrigins__${i}', value: o }]
var completionPageSettings = [for (page, i) in completionPages: { name: 'Broker__CompletionPages__${i}', value: page }]

// Lambdas, not for-expressions: a for-expression may only be a declaration's whole value or a resource property's value,
// never a function argument such as flatten()'s (BCP138; infra/README.md cites the compiler's rule). A lambda may be a
// function argument, and nothing in these reads a resource's runtime state. No inner lambda uses the outer one's
// variable (that shape has a deployment-engine bug report, Azure/bicep #9149): the outer lambda hands what the inner one
// needs over as reduce()'s initial value, and the inner lambda reads it from its accumulator.
var providerSettings = flatten(map(providers, p => concat(
  reduce(items(p.settings), { prefix: 'Providers__${p.id}__', settings: [] }, (acc, entry) => {
    prefix: acc.prefix
    settings: concat(acc.settings, [{ name: '${acc.prefix}${entry.key}', value: string(entry.value) }])
  }).settings,
  [{ name: 'Providers__${p.id}__ClientSecret', value: '@Microsoft.KeyVault(VaultName=${vaultName};SecretName=${p.clientSecretName})' }]
)))

var backendSettings = flatten(map(backends, b => concat(
  [{ name: 'Backends__${b.name}__Key', value: '@Microsoft.KeyVault(VaultName=${vaultName};SecretName=${b.keySecretName})' }],
  reduce(b.?providers ?? [], { prefix: 'Backends__${b.name}__Providers__', settings: [] }, (acc, provider, i) => {
    prefix: acc.prefix
    settings: concat(acc.settings, [{ name: '${acc.prefix}${i}', value: provider }])
  }).settings
)))

var webhookSettings = flatten(map(webhookEndpoints, w => concat(
  [{ name: 'Events__Endpoints__${w.name}__Url', value: w.url }],
  [{ name: 'Events__Endpoints__${w.name}__SecretName', value: w.secretName }],
  reduce(w.?eventTypes ?? [], { prefix: 'Events__Endpoints__${w.name}__EventTypes__', settings: [] }, (acc, eventType, i) => {
    prefix: acc.prefix
    settings: concat(acc.settings, [{ name: '${acc.prefix}${i}', value: eventType }])
  }).settings,
  reduce(w.?providers ?? [], { prefix: 'Events__Endpoints__${w.name}__Providers__', settings: [] }, (acc, provider, i) => {
    prefix: acc.prefix
    settings: concat(acc.settings, [{ name: '${acc.prefix}${i}', value: provider }])
  }).settings
)))

// ------------------------------------------------------------------------------------------------
// Identity, monitoring
// ------------------------------------------------------------------------------------------------

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: 'id-${resourceToken}'
  location: location
  tags: tags
}

resource logs 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: 'log-${resourceToken}'
  location: location
  tags: tags
  properties: {
    sku: { name: 'PerGB2018' }
    retentionInDays: 30
  }
}

resource insights 'Microsoft.Insights/components@2020-02-02' = {
  name: 'appi-${resourceToken}'
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logs.id
    DisableLocalAuth: true
  }
}

// ------------------------------------------------------------------------------------------------
// Storage: the broker's tables and the Functions host's blobs; no shared keys
// ------------------------------------------------------------------------------------------------

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: 'st${resourceToken}'
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: { name: 'Standard_LRS' }
  properties: {
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: { publicAccess: 'None' }
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource tables 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = [for table in tableNames: {
  parent: tableService
  name: table
}]

// ------------------------------------------------------------------------------------------------
// Key Vault: credentials, provider client secrets, backend keys (RBAC, soft delete)
// ------------------------------------------------------------------------------------------------

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: vaultName
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    // Note: purge protection can only be switched on; "false" must be sent as absent.
    enablePurgeProtection: enablePurgeProtection ? true : null
  }
}

// ------------------------------------------------------------------------------------------------
// Function app: Flex Consumption, Linux, custom handler
// ------------------------------------------------------------------------------------------------

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: 'plan-${resourceToken}'
  location: location
  tags: tags
  kind: 'functionapp'
  sku: { tier: 'FlexConsumption', name: 'FC1' }
  properties: { reserved: true }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: functionAppName
  location: location
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identity.id}': {} }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // Key Vault references in app settings resolve with this identity.
    keyVaultReferenceIdentity: identity.id
    siteConfig: {
      // Flex Consumption rejects ftpsState (Learn "App settings reference", Flex Consumption plan deprecations): not set.
      minTlsVersion: '1.2'
      // On Flex the platform answers CORS preflights before the app sees them (docs/security.md): the same origins.
      cors: {
        allowedOrigins: allowedReturnOrigins
        supportCredentials: !empty(allowedReturnOrigins)
      }
      appSettings: concat(baseSettings, userTokenSettings, originSettings, completionPageSettings, providerSettings, backendSettings, webhookSettings)
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identity.id
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: 2048
      }
      // The custom-handler stack on Flex (Az.Functions FunctionsStackFlexData "custom").
      runtime: { name: 'custom', version: '1.0' }
    }
  }
  // The roles the app needs from its first start: the host's storage, the broker's tables, the vault, and telemetry
  // (Application Insights refuses the host's data until Monitoring Metrics Publisher exists: local auth is off).
  dependsOn: [deploymentContainer, blobOwner, tableContributor, secretsOfficer, metricsPublisher]
}

// ------------------------------------------------------------------------------------------------
// Role assignments of the app's identity (and of the operator for secrets)
// ------------------------------------------------------------------------------------------------

resource blobOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, identity.id, roles.storageBlobDataOwner)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataOwner)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource tableContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, identity.id, roles.storageTableDataContributor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageTableDataContributor)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource secretsOfficer 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, identity.id, roles.keyVaultSecretsOfficer)
  scope: vault
  properties: {
    // Officer, not User: the app writes and deletes link credentials.
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsOfficer)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource metricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(insights.id, identity.id, roles.monitoringMetricsPublisher)
  scope: insights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource operatorSecretsOfficer 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(principalId)) {
  name: guid(vault.id, principalId, roles.keyVaultSecretsOfficer)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsOfficer)
    principalId: principalId
  }
}

// ------------------------------------------------------------------------------------------------
// Outputs
// ------------------------------------------------------------------------------------------------

@description('The function app\'s name.')
output functionAppName string = functionApp.name

@description('The broker\'s public origin.')
output publicBaseUrl string = origin

@description('The vault\'s name.')
output keyVaultName string = vault.name

@description('The vault\'s URI.')
output keyVaultUri string = vault.properties.vaultUri

@description('The storage account\'s name.')
output storageAccountName string = storage.name

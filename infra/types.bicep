metadata name = 'OAuth broker types'
metadata description = 'Shared parameter types of the OAuth broker templates.'

@export()
@description('A provider of the catalogue (app settings Providers__<id>__*).')
type providerType = {
  @description('Required. Provider id (lowercase letters, digits, dashes); appears in routes.')
  id: string

  @description('Required. Non-secret settings, e.g. { Dialect: \'oauth2\', ClientId: \'…\', Issuer: \'…\' }. Nested values are not allowed; use Name__0 style keys for lists.')
  settings: object

  @description('Required. Name of the Key Vault secret holding the client secret.')
  clientSecretName: string
}

@export()
@description('A backend allowed to read credentials (app settings Backends__<name>__*).')
type backendType = {
  @description('Required. Backend name (shown in audit logs).')
  name: string

  @description('Required. Name of the Key Vault secret holding the backend key (at least 32 characters).')
  keySecretName: string

  @description('Optional. Providers this backend may read; all when absent.')
  providers: string[]?
}

@export()
@description('A platform endpoint receiving signed link events (app settings Events__Endpoints__<name>__*).')
type webhookEndpointType = {
  @description('Required. Endpoint name (1–32 of a-z, 0-9 and -).')
  name: string

  @description('Required. The receiver\'s HTTPS URL (redirects are not followed).')
  url: string

  @description('Required. Name of the Key Vault secret holding the endpoint\'s whsec_ signing secrets, space separated (read at delivery time).')
  secretName: string

  @description('Optional. Only these event types (e.g. link.reauth_required); all when absent.')
  eventTypes: string[]?

  @description('Optional. Only these providers\' events; all when absent.')
  providers: string[]?
}

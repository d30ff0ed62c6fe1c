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
  // The name becomes part of app setting names (Events__Endpoints__<name>__Url), and the broker refuses to start unless
  // it is 1 to 32 of a-z, 0-9 and - (EventsOptions.Validator). Bicep takes length decorators on a type's properties
  // (Azure/bicep src/Bicep.Core.Samples/Files/baselines/TypeDeclarations_LF/main.bicep, lines 3-7 at 9beb0fe) but has no
  // pattern decorator for the characters: the system namespace's decorators are description, secure, allowed, minValue,
  // maxValue, minLength, maxLength, metadata, sealed, discriminator, export, and an experimental validate lambda behind
  // the userDefinedConstraints feature (src/Bicep.Core/Semantics/Namespaces/SystemNamespaceType.cs, lines 1823-2203), so
  // other characters are left to the broker's start-up validation.
  @description('Required. Endpoint name (1–32 of a-z, 0-9 and -).')
  @minLength(1)
  @maxLength(32)
  name: string

  @description('Required. The receiver\'s HTTPS URL (redirects are not followed).')
  url: string

  @description('Required. Name of the Key Vault secret holding the endpoint\'s whsec_ signing secrets, space separated (read at delivery time); 1–127 of 0-9, A-Z, a-z and -.')
  @minLength(1)
  @maxLength(127)
  secretName: string

  @description('Optional. Only these event types (e.g. link.reauth_required); all when absent.')
  eventTypes: string[]?

  @description('Optional. Only these providers\' events; all when absent.')
  providers: string[]?
}

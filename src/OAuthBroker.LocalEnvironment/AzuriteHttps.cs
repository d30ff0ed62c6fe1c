namespace OAuthBroker.LocalEnvironment;

/// <summary>
/// Azurite over HTTPS with its OAuth check on (<c>--cert</c>, <c>--key</c>, <c>--oauth basic</c>; Azurite README, "HTTPS
/// Setup" and "OAuth Configuration"): a bearer token is accepted only over HTTPS and only with a storage audience, an Entra
/// issuer and a valid lifetime (<c>dist/src/table/authentication/TableTokenAuthenticator.js</c>), as a deployed app's
/// managed identity token has.
/// </summary>
/// <param name="CertificatePath">PEM certificate for 127.0.0.1.</param>
/// <param name="KeyPath">Its PEM private key.</param>
public sealed record AzuriteHttps(string CertificatePath, string KeyPath);

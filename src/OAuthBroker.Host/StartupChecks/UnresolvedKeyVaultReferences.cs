namespace OAuthBroker.Host.StartupChecks;

/// <summary>
/// App Service hands an app setting whose Key Vault reference it could not resolve to the app as the reference text
/// itself: "If a reference isn't resolved properly, the reference string is used instead, for example,
/// <c>@Microsoft.KeyVault(...)</c>" (Microsoft Learn, "Use Key Vault references as app settings in Azure App Service and
/// Azure Functions"). The text is long enough to pass as a backend key or a client secret, so the app would start
/// "healthy" with wrong secrets. It refuses to start instead, naming every such setting (never its value).
/// </summary>
public static class UnresolvedKeyVaultReferences
{
    private const string Marker = "@Microsoft.KeyVault(";

    public static IEnumerable<string> Errors(IConfiguration configuration)
    {
        var unresolved = configuration.AsEnumerable()
            .Where(setting => setting.Value?.TrimStart().StartsWith(Marker, StringComparison.OrdinalIgnoreCase) == true)
            .Select(setting => setting.Key)
            .Distinct(StringComparer.OrdinalIgnoreCase)
            .Order(StringComparer.Ordinal)
            .ToList();
        if (unresolved.Count > 0)
        {
            yield return "These settings are Key Vault references the platform could not resolve (the secret is missing, or the app's identity may not read it): "
                + string.Join(", ", unresolved)
                + ". Put the secrets in the vault, then restart the app (az functionapp restart) so the references are fetched again.";
        }
    }
}

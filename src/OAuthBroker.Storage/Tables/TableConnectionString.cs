namespace OAuthBroker.Storage.Tables;

/// <summary>
/// The parts of an Azure Storage connection string the Table client needs. Supports
/// <c>UseDevelopmentStorage=true</c> (Azurite's well-known account) and explicit
/// <c>AccountName</c>/<c>AccountKey</c>/<c>TableEndpoint</c> or <c>EndpointSuffix</c> forms.
/// </summary>
public sealed record TableConnectionString(Uri TableEndpoint, TableSharedKeyCredential Credential)
{
    /// <summary>Azurite's documented development account; not a secret.</summary>
    public const string DevelopmentAccountName = "devstoreaccount1";
    public const string DevelopmentAccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    public static TableConnectionString Parse(string connectionString)
    {
        var parts = connectionString
            .Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(part => part.Split('=', 2))
            .Where(pair => pair.Length == 2)
            .ToDictionary(pair => pair[0], pair => pair[1], StringComparer.OrdinalIgnoreCase);

        if (parts.TryGetValue("UseDevelopmentStorage", out var dev) && bool.TryParse(dev, out var useDev) && useDev)
        {
            var proxy = parts.GetValueOrDefault("DevelopmentStorageProxyUri") ?? "http://127.0.0.1";
            return new(new Uri($"{proxy.TrimEnd('/')}:10002/{DevelopmentAccountName}"),
                new TableSharedKeyCredential(DevelopmentAccountName, DevelopmentAccountKey));
        }

        if (!parts.TryGetValue("AccountName", out var account) || !parts.TryGetValue("AccountKey", out var key))
        {
            throw new FormatException("The storage connection string needs AccountName and AccountKey (or UseDevelopmentStorage=true).");
        }

        Uri endpoint;
        if (parts.TryGetValue("TableEndpoint", out var explicitEndpoint))
        {
            endpoint = new Uri(explicitEndpoint.TrimEnd('/'));
        }
        else
        {
            var protocol = parts.GetValueOrDefault("DefaultEndpointsProtocol") ?? "https";
            var suffix = parts.GetValueOrDefault("EndpointSuffix") ?? "core.windows.net";
            endpoint = new Uri($"{protocol}://{account}.table.{suffix}");
        }

        return new(endpoint, new TableSharedKeyCredential(account, key));
    }

    public override string ToString() => $"TableConnectionString {{ TableEndpoint = {TableEndpoint}, Account = {Credential.AccountName} }}";
}

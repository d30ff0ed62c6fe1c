using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace OAuthBroker.Host.Backends;

/// <summary>
/// The platform's backends that may read credentials (section <c>Backends:{name}</c>): each has a key (sent as
/// <c>X-Api-Key</c>) and optionally the providers it may read. In Azure the keys are Key Vault references.
/// </summary>
public sealed class BackendOptions
{
    public const string SectionName = "Backends";

    public Dictionary<string, BackendClient> Clients { get; set; } = new(StringComparer.Ordinal);

    internal sealed class Validator : IValidateOptions<BackendOptions>
    {
        public ValidateOptionsResult Validate(string? name, BackendOptions options)
        {
            var errors = options.Clients
                .Where(c => c.Value.Key is not { Length: >= 32 })
                .Select(c => $"{SectionName}:{c.Key}:Key must be at least 32 characters (generate it; it is a password).")
                .ToList();
            return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
        }
    }
}

public sealed class BackendClient
{
    public string? Key { get; set; }

    /// <summary>Providers this backend may read; empty means all.</summary>
    public List<string> Providers { get; set; } = [];
}

/// <summary>Who is calling a backend endpoint.</summary>
public sealed record BackendCaller(string Name, IReadOnlyCollection<string> Providers)
{
    public bool MayRead(string providerId) => Providers.Count == 0 || Providers.Contains(providerId);
}

/// <summary>
/// Authenticates backend callers, under the Functions host exactly as standalone: a configured key in
/// <c>X-Api-Key</c> (compared in constant time), or an app-only bearer token from the configured issuer (see
/// <c>Authentication</c>) carrying the app role <see cref="BackendRole"/> (all providers) or
/// <c>OAuthBroker.Backend.{provider}</c> (those providers): Entra ID app roles for daemon apps. Nothing else: a request
/// without a credential is never a backend, whatever reached the handler (a function key is only an outer layer the
/// host checks, and the host can be made to forward a request to another route than the one it checked).
/// </summary>
public sealed class BackendAuthenticator(IOptions<BackendOptions> options)
{
    public const string BackendRole = "OAuthBroker.Backend";

    public const string HeaderName = "X-Api-Key";

    private readonly (string Name, byte[] KeyHash, BackendClient Client)[] _clients = options.Value.Clients
        .Where(c => c.Value.Key is not null)
        .Select(c => (c.Key, SHA256.HashData(Encoding.UTF8.GetBytes(c.Value.Key!)), c.Value))
        .ToArray();

    public BackendCaller? Authenticate(HttpContext context)
    {
        var presented = context.Request.Headers[HeaderName].ToString();
        if (presented.Length > 0)
        {
            var hash = SHA256.HashData(Encoding.UTF8.GetBytes(presented));
            BackendCaller? match = null;
            foreach (var (name, keyHash, client) in _clients)
            {
                // Every key is compared, whatever matched, so timing says nothing about which one did.
                if (CryptographicOperations.FixedTimeEquals(hash, keyHash))
                {
                    match = new BackendCaller(name, client.Providers.Select(p => p.ToLowerInvariant()).ToArray());
                }
            }

            return match;
        }

        if (context.User.Identity?.IsAuthenticated == true && AppOnlyTokens.IsAppOnly(context.User))
        {
            var roles = context.User.FindAll("roles").Select(c => c.Value).ToArray();
            var name = context.User.FindFirst("azp")?.Value ?? context.User.FindFirst("appid")?.Value ?? context.User.FindFirst("sub")?.Value ?? "token";
            if (roles.Contains(BackendRole, StringComparer.Ordinal))
            {
                return new BackendCaller("app:" + name, []);
            }

            var providers = roles.Where(r => r.StartsWith(BackendRole + ".", StringComparison.Ordinal)).Select(r => r[(BackendRole.Length + 1)..].ToLowerInvariant()).ToArray();
            // A token without a backend role is no backend credential.
            return providers.Length > 0 ? new BackendCaller("app:" + name, providers) : null;
        }

        return null;
    }
}

using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace OAuthBroker.Tests.Support;

/// <summary>
/// The managed identity endpoint App Service and Azure Functions give an app (<c>IDENTITY_ENDPOINT</c>,
/// <c>IDENTITY_HEADER</c>), on loopback. Follows the two sources of its contract:
/// <list type="bullet">
/// <item>Microsoft Learn, "Managed identities for App Service and Azure Functions", section "REST endpoint reference":
/// <c>GET {IDENTITY_ENDPOINT}?resource=…&amp;api-version=2019-08-01</c> with the <c>X-IDENTITY-HEADER</c> header; an
/// optional <c>client_id</c> (or <c>mi_res_id</c>, <c>object_id</c>) picks a user-assigned identity; a 200 answers
/// <c>access_token</c>, <c>expires_on</c> (seconds since the epoch, as a string), <c>resource</c>,
/// <c>token_type</c>, <c>client_id</c>.</item>
/// <item>MSAL.NET, which makes the request for Azure.Core's <c>ManagedIdentityCredential</c>:
/// <c>src/client/Microsoft.Identity.Client/ManagedIdentity/AppServiceManagedIdentitySource.cs</c> (<c>CreateRequestAsync</c>:
/// GET, header <c>X-IDENTITY-HEADER</c>, query <c>api-version=2019-08-01</c>, <c>resource</c>, <c>client_id</c> for a
/// user-assigned client id) and <c>ManagedIdentityResponse.cs</c> (the answer's member names).</item>
/// </list>
/// The tokens are JWTs shaped as Entra ID issues them (<c>aud</c> the resource, <c>iss</c>
/// <c>https://sts.windows.net/{tenant}/</c>, <c>iat</c>/<c>nbf</c>/<c>exp</c>), because Azurite's token check reads those
/// claims (azurite <c>dist/src/table/authentication/TableTokenAuthenticator.js</c>, <c>authenticateBasic</c>); like Azurite,
/// nothing here verifies a signature, so the signature part is random.
/// </summary>
public sealed class AppServiceIdentityEndpoint : IAsyncDisposable
{
    public const string ApiVersion = "2019-08-01";
    private readonly WebApplication _app;
    private readonly string _header = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
    private readonly string _clientId = Guid.NewGuid().ToString();
    private readonly string _tenant = Guid.NewGuid().ToString();
    private readonly ConcurrentDictionary<string, string> _tokens = new(StringComparer.Ordinal);

    private AppServiceIdentityEndpoint(WebApplication app, int port)
    {
        _app = app;
        Endpoint = new Uri($"http://127.0.0.1:{port}/msi/token");
    }

    /// <summary><c>IDENTITY_ENDPOINT</c>: App Service's is a loopback http URL too (<c>http://localhost:4141/msi/token</c> in the docs' example).</summary>
    public Uri Endpoint { get; }

    /// <summary><c>IDENTITY_HEADER</c>, the secret the app must present.</summary>
    public string Header => _header;

    /// <summary>The user-assigned identity's client id (the deployment sets it as <c>AZURE_CLIENT_ID</c>).</summary>
    public string ClientId => _clientId;

    /// <summary>Every token request as received: resource, client id, whether the header and api-version were right.</summary>
    public ConcurrentQueue<(string? Resource, string? ClientId, bool HeaderMatched, string? ApiVersion)> Requests { get; } = new();

    /// <summary>The token this endpoint issues for <paramref name="resource"/> (minted on first ask, the same for an hour).</summary>
    public string TokenFor(string resource) => _tokens.GetOrAdd(resource.TrimEnd('/'), Mint);

    public static async Task<AppServiceIdentityEndpoint> StartAsync()
    {
        var port = OAuthBroker.LocalEnvironment.FreePort.Next();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var endpoint = new AppServiceIdentityEndpoint(app, port);
        app.MapGet("/msi/token", endpoint.Answer);
        await app.StartAsync();
        return endpoint;
    }

    private IResult Answer(HttpContext context)
    {
        var query = context.Request.Query;
        var headerMatched = context.Request.Headers["X-IDENTITY-HEADER"].ToString() == _header;
        string? resource = query["resource"], clientId = query["client_id"], apiVersion = query["api-version"];
        Requests.Enqueue((resource, clientId, headerMatched, apiVersion));
        // The platform's answers to a request it will not serve (REST endpoint reference: 400 for a bad request, 401 without
        // the header's secret); user-assigned only, as deployed: a request for another identity finds none.
        if (!headerMatched)
        {
            return Results.Json(new { statusCode = 401, message = "Unauthorized request." }, statusCode: 401);
        }

        if (apiVersion != ApiVersion || string.IsNullOrEmpty(resource) || (clientId is not null && clientId != _clientId))
        {
            return Results.Json(new { statusCode = 400, message = "Bad request." }, statusCode: 400);
        }

        var token = TokenFor(resource);
        var expires = JsonDocument.Parse(Base64Url.DecodeFromChars(token.Split('.')[1])).RootElement.GetProperty("exp").GetInt64();
        return Results.Json(new Dictionary<string, string>
        {
            ["access_token"] = token,
            ["expires_on"] = expires.ToString(CultureInfo.InvariantCulture),
            ["resource"] = resource,
            ["token_type"] = "Bearer",
            ["client_id"] = _clientId,
        });
    }

    private string Mint(string resource)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var header = Base64Url.EncodeToString("{\"typ\":\"JWT\",\"alg\":\"RS256\"}"u8);
        var claims = Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
        {
            ["aud"] = resource,
            ["iss"] = $"https://sts.windows.net/{_tenant}/",
            ["iat"] = now,
            ["nbf"] = now - 300,
            ["exp"] = now + 3600,
            ["appid"] = _clientId,
            ["tid"] = _tenant,
        }));
        return $"{header}.{claims}.{Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(64))}";
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

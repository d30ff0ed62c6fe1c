using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;

namespace OAuthBroker.LocalKeyVault;

/// <summary>
/// The Key Vault secrets REST API subset the broker uses (set, get, list, list versions, update attributes, delete,
/// get deleted, purge, recover), including the bearer challenge the SDK starts with, soft delete and 409 on a deleted
/// name, disabled versions that cannot be read, the 25 KB value limit, optional write throttling (429), purge
/// protection, and vaults that read but do not write (<see cref="WriteFault"/>).
/// </summary>
public sealed partial class LocalKeyVaultApp : IAsyncDisposable
{
    /// <summary>The challenge a real vault sends; the SDK reads the scope from <c>resource</c>.</summary>
    private const string Challenge = "Bearer authorization=\"https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000\", resource=\"https://vault.azure.net\"";
    private const int MaxValueBytes = 25 * 1024;

    private LocalKeyVaultApp(WebApplication app, Uri vaultUri, string certificatePath, SecretStore store)
    {
        App = app;
        VaultUri = vaultUri;
        CertificatePath = certificatePath;
        Store = store;
    }

    public WebApplication App { get; }
    public Uri VaultUri { get; }
    /// <summary>PEM of the endpoint's certificate, for clients to pin.</summary>
    public string CertificatePath { get; }
    public SecretStore Store { get; }

    private int _failuresLeft;
    private int _writeFault;
    private SlowWrite? _slowWrite;
    private long _throttleRetryAfterTicks = -1;
    private int _refusedWrites;
    private int _oversizeStatus = 400;
    private int _purgeProtection;

    /// <summary>For fault tests: the next <paramref name="count"/> authenticated requests answer 503 Service Unavailable.</summary>
    public void FailNextRequests(int count) => Interlocked.Exchange(ref _failuresLeft, count);

    /// <summary>For fault tests: how many of the failures set by <see cref="FailNextRequests"/> are still to come (so how many requests arrived).</summary>
    public int FailuresLeft => Math.Max(0, Volatile.Read(ref _failuresLeft));

    /// <summary>For fault tests: reads keep working, writes fail as <paramref name="fault"/> says, until set back to <see cref="WriteFault.None"/>.</summary>
    public void FailWrites(WriteFault fault) => Interlocked.Exchange(ref _writeFault, (int)fault);

    public WriteFault WriteFault => (WriteFault)Volatile.Read(ref _writeFault);

    /// <summary>Writes refused so far by <see cref="FailWrites"/> (each attempt of a retried write counts).</summary>
    public int RefusedWrites => Volatile.Read(ref _refusedWrites);

    /// <summary>For fault tests: writes are held up as <paramref name="slow"/> says, until set back to null.</summary>
    public void SlowWrites(SlowWrite? slow) => Volatile.Write(ref _slowWrite, slow);

    /// <summary>
    /// Whether a throttled request (429) carries a Retry-After, and which. The Key Vault throttling guidance
    /// (learn.microsoft.com/azure/key-vault/general/overview-throttling, "How does Key Vault handle its limits?") says
    /// only that Key Vault "returns HTTP status code 429 (Too many requests), and the request fails", and asks clients
    /// for exponential backoff (its sample waits 1, 2, 4, 8, 16 s); it does not say whether the answer carries a
    /// Retry-After. Two readings: null, no header (the default, all the page documents), or a header of that many
    /// seconds. Clients behave differently under each: Azure.Core waits a Retry-After when there is one, and backs off
    /// exponentially otherwise.
    /// </summary>
    public TimeSpan? ThrottleRetryAfter
    {
        get => Interlocked.Read(ref _throttleRetryAfterTicks) is var ticks and >= 0 ? TimeSpan.FromTicks(ticks) : null;
        set => Interlocked.Exchange(ref _throttleRetryAfterTicks, value is { } wait ? wait.Ticks : -1);
    }

    /// <summary>
    /// How a value over 25 KB is refused: 400 <c>BadParameter</c> (the service's validation) or 413 (a front end
    /// refusing the body). about-secrets documents the 25k-byte limit, not the status, so both readings exist.
    /// </summary>
    public void RefuseOversizeWith(int status) => Interlocked.Exchange(ref _oversizeStatus, status is 400 or 413 ? status : throw new ArgumentOutOfRangeException(nameof(status)));

    /// <summary>
    /// Purge protection on: a deleted secret cannot be purged until its retention ends (Key Vault soft-delete overview),
    /// answered 403 "Operation "purge" is not allowed because purge protection is enabled for this vault" (as quoted in
    /// public reports of the service's answer).
    /// </summary>
    public void ProtectFromPurge(bool enabled) => Interlocked.Exchange(ref _purgeProtection, enabled ? 1 : 0);

    /// <summary>Versions of one secret (active or deleted), for tests of version growth.</summary>
    public int VersionsOf(string name) => Store.VersionCount(name);

    public static async Task<LocalKeyVaultApp> StartAsync(LocalKeyVaultSettings settings, Action<WebApplicationBuilder>? configure = null)
    {
        var certificate = SelfSignedCertificate.LoadOrCreate(settings.CertificateDirectory);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.WebHost.ConfigureKestrel(kestrel =>
            kestrel.Listen(IPAddress.Loopback, settings.Port, listen => listen.UseHttps(certificate)));
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        configure?.Invoke(builder);

        var app = builder.Build();
        var vaultUri = new Uri($"https://127.0.0.1:{settings.Port}/");
        var store = new SecretStore(settings.DataFile);
        var throttle = new WriteThrottle(settings.WritesPer10Seconds);
        var expectedAuthorization = Encoding.UTF8.GetBytes("Bearer " + settings.AccessToken);
        LocalKeyVaultApp? vault = null;

        app.Use(async (context, next) =>
        {
            var presented = Encoding.UTF8.GetBytes(context.Request.Headers.Authorization.ToString());
            if (!CryptographicOperations.FixedTimeEquals(presented, expectedAuthorization))
            {
                context.Response.StatusCode = 401;
                context.Response.Headers.WWWAuthenticate = Challenge;
                await context.Response.WriteAsJsonAsync(Error("Unauthorized", "AKV10000: Request is missing a Bearer or PoP token."));
                return;
            }

            if (vault is not null && Interlocked.Decrement(ref vault._failuresLeft) >= 0)
            {
                context.Response.StatusCode = 503;
                await context.Response.WriteAsJsonAsync(Error("ServiceUnavailable", "The service is temporarily unavailable."));
                return;
            }

            if (vault is not null && !HttpMethods.IsGet(context.Request.Method) && vault.WriteFault != WriteFault.None)
            {
                Interlocked.Increment(ref vault._refusedWrites);
                await RefuseWriteAsync(context, vault.WriteFault, settings.Port, vault.ThrottleRetryAfter);
                return;
            }

            if (vault is not null && !HttpMethods.IsGet(context.Request.Method) && Volatile.Read(ref vault._slowWrite) is { } slow
                && (slow.Method is null || string.Equals(slow.Method, context.Request.Method, StringComparison.OrdinalIgnoreCase)))
            {
                await SlowlyAsync(context, next, slow);
                return;
            }

            await next(context);
        });

        app.MapPut("/secrets/{name}", async (string name, HttpRequest request) =>
        {
            if (!IsValidName(name))
            {
                return Fail(400, "BadParameter", "The secret name is invalid: only 0-9, a-z, A-Z and - are allowed, 1-127 characters.");
            }

            if (!throttle.TryWrite())
            {
                return Throttled(vault?.ThrottleRetryAfter);
            }

            var body = await JsonSerializer.DeserializeAsync<SetSecretBody>(request.Body, Json);
            if (body?.Value is null)
            {
                return Fail(400, "BadParameter", "Secret value is required.");
            }

            if (Encoding.UTF8.GetByteCount(body.Value) > MaxValueBytes)
            {
                return vault?._oversizeStatus == 413
                    ? Fail(413, "RequestEntityTooLarge", "The request body is too large.")
                    : Fail(400, "BadParameter", "The secret value exceeds the maximum size of 25 KB.");
            }

            var (outcome, version) = store.Set(name, body.Value, body.ContentType, body.Tags);
            return outcome == SecretStore.SetOutcome.NameIsDeleted
                ? TypedResults.Json(new ErrorBody(new ErrorDetail("Conflict",
                    $"Secret {name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged.",
                    new InnerError("ObjectIsDeletedButRecoverable"))), Json, statusCode: 409)
                : TypedResults.Json(Bundle(vaultUri, name, version!), Json);
        });

        // Get Secrets (list): properties only, never values, at most 25 per page (maxresults), the rest behind nextLink.
        app.MapGet("/secrets", (HttpRequest request) =>
        {
            var size = int.TryParse(request.Query["maxresults"], out var asked) && asked is > 0 and <= 25 ? asked : 25;
            var skip = int.TryParse(request.Query["$skiptoken"], out var from) && from > 0 ? from : 0;
            var page = store.List(skip, size, out var more);
            var items = page.Select(secret => new
            {
                id = new Uri(vaultUri, $"secrets/{secret.Name}").AbsoluteUri,
                contentType = secret.Versions[^1].ContentType,
                attributes = Attributes(secret.Versions[^1].Created),
                tags = secret.Versions[^1].Tags,
            });
            var nextLink = more ? new Uri(vaultUri, $"secrets?api-version={request.Query["api-version"]}&$skiptoken={skip + size}&maxresults={size}").AbsoluteUri : null;
            return TypedResults.Json(new { value = items, nextLink }, Json);
        });

        // Get Secret Versions: properties only, never values, at most 25 per page (maxresults), the rest behind nextLink
        // (Key Vault REST API 7.4, "Get Secret Versions"). A literal segment, so it wins over {version} below.
        app.MapGet("/secrets/{name}/versions", (string name, HttpRequest request) =>
        {
            if (store.VersionsOf(name) is not { } versions)
            {
                return Fail(404, "SecretNotFound", $"A secret with (name/id) {name} was not found in this key vault.");
            }

            var size = int.TryParse(request.Query["maxresults"], out var asked) && asked is > 0 and <= 25 ? asked : 25;
            var skip = int.TryParse(request.Query["$skiptoken"], out var from) && from > 0 ? from : 0;
            var items = versions.Skip(skip).Take(size).Select(version => new
            {
                id = new Uri(vaultUri, $"secrets/{name}/{version.Version}").AbsoluteUri,
                contentType = version.ContentType,
                attributes = VersionAttributes(version),
                tags = version.Tags,
            });
            var nextLink = skip + size < versions.Count
                ? new Uri(vaultUri, $"secrets/{name}/versions?api-version={request.Query["api-version"]}&$skiptoken={skip + size}&maxresults={size}").AbsoluteUri
                : null;
            return TypedResults.Json(new { value = items, nextLink }, Json);
        });

        app.MapGet("/secrets/{name}/{version?}", (string name, string? version) =>
            store.Get(name, string.IsNullOrEmpty(version) ? null : version) is not { } found
                ? Fail(404, "SecretNotFound", $"A secret with (name/id) {name} was not found in this key vault.")
                // A disabled version cannot be read: 403 Forbidden, inner error SecretDisabled (the service's answer as
                // reported in Azure/azure-sdk-for-js#24756 and azure-powershell#15378).
                : !found.Version.Enabled
                    ? TypedResults.Json(new ErrorBody(new ErrorDetail("Forbidden", "Operation get is not allowed on a disabled secret.", new InnerError("SecretDisabled"))), Json, statusCode: 403)
                    : TypedResults.Json(Bundle(vaultUri, found.Secret.Name, found.Version), Json));

        // Update Secret: attributes of one version (enabled, nbf, exp); the answer is the bundle without its value
        // (Key Vault REST API 7.4, "Update Secret"; `az keyvault secret set-attributes`).
        app.MapPatch("/secrets/{name}/{version}", async (string name, string version, HttpRequest request) =>
        {
            var body = await JsonSerializer.DeserializeAsync<UpdateSecretBody>(request.Body, Json);
            var attributes = body?.Attributes;
            return store.UpdateAttributes(name, version, attributes?.Enabled,
                    attributes?.Nbf is { } nbf ? DateTimeOffset.FromUnixTimeSeconds(nbf) : null,
                    attributes?.Exp is { } exp ? DateTimeOffset.FromUnixTimeSeconds(exp) : null) is { } updated
                ? TypedResults.Json(Bundle(vaultUri, name, updated) with { Value = null }, Json)
                : Fail(404, "SecretNotFound", $"A secret with (name/id) {name} was not found in this key vault.");
        });

        app.MapDelete("/secrets/{name}", (string name) =>
            store.Delete(name) is { } deleted
                ? TypedResults.Json(DeletedBundle(vaultUri, deleted), Json)
                : Fail(404, "SecretNotFound", $"A secret with (name/id) {name} was not found in this key vault."));

        app.MapGet("/deletedsecrets/{name}", (string name) =>
            store.GetDeleted(name) is { } deleted
                ? TypedResults.Json(DeletedBundle(vaultUri, deleted), Json)
                : Fail(404, "SecretNotFound", $"Deleted Secret not found: {name}"));

        app.MapDelete("/deletedsecrets/{name}", (string name) =>
            store.GetDeleted(name) is null ? Fail(404, "SecretNotFound", $"Deleted Secret not found: {name}")
            : vault?._purgeProtection == 1 ? Fail(403, "Forbidden", "Operation \"purge\" is not allowed because purge protection is enabled for this vault. Key Vault service will automatically purge it after the retention period has passed.")
            : store.Purge(name) ? TypedResults.NoContent() : Fail(404, "SecretNotFound", $"Deleted Secret not found: {name}"));

        app.MapPost("/deletedsecrets/{name}/recover", (string name) =>
            store.Recover(name) is { } recovered
                ? TypedResults.Json(Bundle(vaultUri, recovered.Name, recovered.Versions[^1]), Json)
                : Fail(404, "SecretNotFound", $"Deleted Secret not found: {name}"));

        vault = new LocalKeyVaultApp(app, vaultUri, Path.GetFullPath(Path.Combine(settings.CertificateDirectory, SelfSignedCertificate.CertificateFile)), store);
        await app.StartAsync();
        return vault;
    }

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
    }

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    [GeneratedRegex("^[0-9A-Za-z-]{1,127}$")]
    private static partial Regex SecretName();

    private static bool IsValidName(string name) => SecretName().IsMatch(name);

    private static SecretBundle Bundle(Uri vault, string name, SecretStore.SecretVersion version) => new(
        version.Value, version.ContentType, new Uri(vault, $"secrets/{name}/{version.Version}").AbsoluteUri, VersionAttributes(version), version.Tags);

    private sealed record SecretBundle(string? Value, string? ContentType, string Id, object Attributes, Dictionary<string, string>? Tags);

    /// <summary>A version's SecretAttributes: times in Unix seconds, <c>nbf</c>/<c>exp</c> only when set.</summary>
    private static object VersionAttributes(SecretStore.SecretVersion version) => new
    {
        enabled = version.Enabled,
        nbf = version.NotBefore?.ToUnixTimeSeconds(),
        exp = version.Expires?.ToUnixTimeSeconds(),
        created = version.Created.ToUnixTimeSeconds(),
        updated = (version.Updated ?? version.Created).ToUnixTimeSeconds(),
        recoveryLevel = "Recoverable+Purgeable",
        recoverableDays = 90,
    };

    private static object DeletedBundle(Uri vault, SecretStore.StoredSecret secret)
    {
        var latest = secret.Versions[^1];
        var deletedAt = secret.DeletedAt ?? DateTimeOffset.UtcNow;
        return new
        {
            recoveryId = new Uri(vault, $"deletedsecrets/{secret.Name}").AbsoluteUri,
            deletedDate = deletedAt.ToUnixTimeSeconds(),
            scheduledPurgeDate = deletedAt.AddDays(90).ToUnixTimeSeconds(),
            contentType = latest.ContentType,
            id = new Uri(vault, $"secrets/{secret.Name}/{latest.Version}").AbsoluteUri,
            attributes = Attributes(latest.Created),
            tags = latest.Tags,
        };
    }

    private static object Attributes(DateTimeOffset created) => new
    {
        enabled = true,
        created = created.ToUnixTimeSeconds(),
        updated = created.ToUnixTimeSeconds(),
        recoveryLevel = "Recoverable+Purgeable",
        recoverableDays = 90,
    };

    private static ErrorBody Error(string code, string message) => new(new ErrorDetail(code, message, null));

    /// <summary>Holds a write up (see <see cref="SlowWrite"/>): it runs to the end whether or not the client still waits.</summary>
    private static async Task SlowlyAsync(HttpContext context, RequestDelegate next, SlowWrite slow)
    {
        // The whole request is read first: a server that received it acts on it even after the client has gone.
        context.Request.EnableBuffering();
        await context.Request.Body.CopyToAsync(Stream.Null, context.RequestAborted);
        context.Request.Body.Position = 0;
        if (slow.CommitLate)
        {
            await Task.Delay(slow.Delay, CancellationToken.None);
        }

        var network = context.Response.Body;
        using var answer = new MemoryStream();
        context.Response.Body = answer;
        try
        {
            await next(context);
        }
        finally
        {
            context.Response.Body = network;
        }

        if (!slow.CommitLate)
        {
            await Task.Delay(slow.Delay, CancellationToken.None);
        }

        try
        {
            context.Response.ContentLength = answer.Length;
            await network.WriteAsync(answer.GetBuffer().AsMemory(0, (int)answer.Length), context.RequestAborted);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException)
        {
            // The client had gone: the write is done all the same.
        }
    }

    private static async Task RefuseWriteAsync(HttpContext context, WriteFault fault, int port, TimeSpan? retryAfter)
    {
        switch (fault)
        {
            case WriteFault.Forbidden:
                context.Response.StatusCode = 403;
                await context.Response.WriteAsJsonAsync(new ErrorBody(new ErrorDetail("Forbidden",
                    "Caller is not authorized to perform action on resource.\r\nIf role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\r\n" +
                    "Action: 'Microsoft.KeyVault/vaults/secrets/setSecret/action'\r\nAssignment: (not found)\r\nDenyAssignmentId: null\r\nDecisionReason: null \r\n" +
                    $"Vault: local-{port};location=local\r\n", new InnerError("ForbiddenByRbac"))), Json);
                break;
            case WriteFault.Throttled:
                context.Response.StatusCode = 429;
                SetRetryAfter(context, retryAfter);
                await context.Response.WriteAsJsonAsync(Error("Throttled", "Request was not processed because too many requests were received."), Json);
                break;
            case WriteFault.ReadOnlyForbidden:
                context.Response.StatusCode = 403;
                await context.Response.WriteAsJsonAsync(Error("Forbidden", "The vault is in read-only mode during a failover; only read operations are allowed."), Json);
                break;
            default:
                context.Response.StatusCode = 503;
                await context.Response.WriteAsJsonAsync(Error("ServiceUnavailable", "The vault is in read-only mode during a failover; only read operations are allowed."), Json);
                break;
        }
    }

    private static IResult Fail(int status, string code, string message) => TypedResults.Json(Error(code, message), Json, statusCode: status);

    private static IResult Throttled(TimeSpan? retryAfter) => new ThrottledResult(retryAfter);

    /// <summary>A Retry-After only in the reading that has one (<see cref="ThrottleRetryAfter"/>), in whole seconds (RFC 9110 §10.2.3).</summary>
    private static void SetRetryAfter(HttpContext context, TimeSpan? retryAfter)
    {
        if (retryAfter is { } wait)
        {
            context.Response.Headers.RetryAfter = ((long)Math.Ceiling(wait.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
    }

    private sealed class ThrottledResult(TimeSpan? retryAfter) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.StatusCode = 429;
            SetRetryAfter(httpContext, retryAfter);
            await httpContext.Response.WriteAsJsonAsync(Error("Throttled", "Operations per second is over the limit."), Json);
        }
    }

    private sealed record SetSecretBody(string? Value, string? ContentType, Dictionary<string, string>? Tags);

    private sealed record UpdateSecretBody(UpdateAttributes? Attributes);

    private sealed record UpdateAttributes(bool? Enabled, long? Nbf, long? Exp);

    private sealed record ErrorBody(ErrorDetail Error);

    private sealed record ErrorDetail(string Code, string Message, [property: JsonPropertyName("innererror")] InnerError? InnerError);

    private sealed record InnerError(string Code);

    /// <summary>A sliding 10-second window of writes, like the vault's "300 per 10 s" ceiling.</summary>
    private sealed class WriteThrottle(int limit)
    {
        private readonly Queue<DateTimeOffset> _writes = new();
        private readonly Lock _gate = new();

        public bool TryWrite()
        {
            if (limit <= 0)
            {
                return true;
            }

            lock (_gate)
            {
                var now = DateTimeOffset.UtcNow;
                while (_writes.Count > 0 && now - _writes.Peek() > TimeSpan.FromSeconds(10))
                {
                    _writes.Dequeue();
                }

                if (_writes.Count >= limit)
                {
                    return false;
                }

                _writes.Enqueue(now);
                return true;
            }
        }
    }
}

using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace OAuthBroker.Host.OpenApi;

/// <summary>
/// The OpenAPI description as served: generated on the first request (so start-up does not pay for it) and then kept for
/// the process. It depends only on the mapped endpoints and their metadata, which are fixed once the app runs, so every
/// later request gets the same bytes without walking the endpoints and transformers again (MapOpenApi would, per request).
/// It is built without a request (<see cref="IOpenApiDocumentProvider"/>), so no server URL is taken from whichever request
/// came first.
/// </summary>
public sealed class OpenApiDescriptionCache(IServiceProvider services)
{
    /// <summary>The document name AddOpenApi registers by default; its generator is a keyed service of that name.</summary>
    private const string DocumentName = "v1";

    private readonly Lock _gate = new();
    private Task<byte[]>? _json;

    public Task<byte[]> GetAsync()
    {
        lock (_gate)
        {
            // Note: a build that failed is not kept; the next request tries again. The build is only queued here (its
            // synchronous part walks every endpoint), so no request waits on the lock while it runs; they share its task.
            if (_json is null || _json.IsFaulted || _json.IsCanceled)
            {
                _json = Task.Run(BuildAsync);
            }

            return _json;
        }
    }

    private async Task<byte[]> BuildAsync()
    {
        var generator = services.GetRequiredKeyedService<IOpenApiDocumentProvider>(DocumentName);
        // Not a request's token: other requests may be waiting on this build.
        var document = await generator.GetOpenApiDocumentAsync(CT.None);
        using var json = new MemoryStream();
        await document.SerializeAsJsonAsync(json, OpenApiSpecVersion.OpenApi3_1, CT.None);
        return json.ToArray();
    }
}

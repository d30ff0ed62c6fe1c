using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace OAuthBroker.Bench;

/// <summary>
/// Counts the requests an in-process local endpoint (the Key Vault endpoint, the provider sandbox) receives, by
/// method and a path class, so the refresh stage can say how many round trips one refresh costs. It sits in front of
/// the endpoint's own pipeline (a startup filter) and changes nothing it answers.
/// </summary>
internal sealed class RequestCounter(Func<PathString, string> classify)
{
    private readonly ConcurrentDictionary<string, long> _counts = new(StringComparer.Ordinal);

    /// <summary>Installs the counter on an app before it is built (for the <c>Configure…</c> hooks of the local environment).</summary>
    public void InstallOn(WebApplicationBuilder builder) =>
        builder.Services.AddSingleton<IStartupFilter>(new CountingStartupFilter(this));

    public void Reset() => _counts.Clear();

    public IReadOnlyDictionary<string, long> Snapshot() => new Dictionary<string, long>(_counts, StringComparer.Ordinal);

    private void Count(HttpRequest request) =>
        _counts.AddOrUpdate($"{request.Method} {classify(request.Path)}", 1, (_, n) => n + 1);

    private sealed class CountingStartupFilter(RequestCounter counter) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((context, following) =>
            {
                counter.Count(context.Request);
                return following(context);
            });
            next(app);
        };
    }
}

using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using OAuthBroker.LocalEnvironment;

namespace OAuthBroker.Bench;

/// <summary>
/// A plain HTTP relay in front of Azurite that counts Table requests by method and table, for a broker process whose
/// storage the benchmark cannot instrument from inside. It forwards method, path, query, headers and body unchanged
/// (Shared Key signs the verb, content headers, date and the canonical resource, none of which the relay alters:
/// https://learn.microsoft.com/rest/api/storageservices/authorize-with-shared-key, "Table service (Shared Key
/// authorization)"), so what Azurite answers is what the broker would have got directly.
/// </summary>
internal sealed class CountingRelay : IAsyncDisposable
{
    private static readonly HashSet<string> HopByHop = new(StringComparer.OrdinalIgnoreCase)
    {
        "Host", "Connection", "Keep-Alive", "Transfer-Encoding", "Proxy-Connection", "TE", "Trailer", "Upgrade",
    };

    private readonly WebApplication _app;
    private readonly HttpClient _http;

    private CountingRelay(WebApplication app, HttpClient http, int port, RequestCounter counter)
    {
        _app = app;
        _http = http;
        Port = port;
        Counter = counter;
    }

    public int Port { get; }

    public RequestCounter Counter { get; }

    /// <summary>The storage connection string of the relay: Azurite's development account, through this port.</summary>
    public string ConnectionString(string azuriteConnectionString, int azuritePort) =>
        azuriteConnectionString.Replace($"127.0.0.1:{azuritePort}/", $"127.0.0.1:{Port}/", StringComparison.Ordinal);

    public static async Task<CountingRelay> StartAsync(int azuritePort)
    {
        var port = FreePort.Next();
        var target = new Uri($"http://127.0.0.1:{azuritePort}");
        var counter = new RequestCounter(TableOf);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        counter.InstallOn(builder);
        var http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false, MaxConnectionsPerServer = 64 });
        var app = builder.Build();
        app.Run(context => ForwardAsync(context, http, target));
        await app.StartAsync();
        return new CountingRelay(app, http, port, counter);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _http.Dispose();
    }

    /// <summary>"/devstoreaccount1/AccountLinks(PartitionKey='…',RowKey='…')" → "AccountLinks".</summary>
    private static string TableOf(PathString path)
    {
        var segments = (path.Value ?? "").Split('/', StringSplitOptions.RemoveEmptyEntries);
        return segments.Length < 2 ? "(account)" : segments[1].Split('(')[0];
    }

    private static async Task ForwardAsync(HttpContext context, HttpClient http, Uri target)
    {
        var incoming = context.Request;
        using var outgoing = new HttpRequestMessage(new HttpMethod(incoming.Method), new Uri(target, incoming.Path + incoming.QueryString));
        if (incoming.ContentLength > 0 || incoming.Headers.TransferEncoding.Count > 0)
        {
            outgoing.Content = new StreamContent(incoming.Body);
        }

        foreach (var (name, values) in incoming.Headers)
        {
            if (HopByHop.Contains(name))
            {
                continue;
            }

            if (!outgoing.Headers.TryAddWithoutValidation(name, values.ToArray()))
            {
                outgoing.Content?.Headers.TryAddWithoutValidation(name, values.ToArray());
            }
        }

        using var answer = await http.SendAsync(outgoing, HttpCompletionOption.ResponseHeadersRead, context.RequestAborted);
        context.Response.StatusCode = (int)answer.StatusCode;
        foreach (var (name, values) in answer.Headers.Concat(answer.Content.Headers))
        {
            if (!HopByHop.Contains(name))
            {
                context.Response.Headers[name] = values.ToArray();
            }
        }

        await answer.Content.CopyToAsync(context.Response.Body, context.RequestAborted);
    }
}

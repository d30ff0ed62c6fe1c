using System.Net;
using System.Text;

namespace OAuthBroker.Tests.Providers;

/// <summary>
/// Canned provider answers for exact (method, URL) pairs. Any request nobody expected fails the test, and
/// every request is kept (with its body) so the test can check exactly what the broker sent.
/// </summary>
public sealed class StubHttp : HttpMessageHandler, IHttpClientFactory
{
    private readonly Queue<(HttpMethod Method, string Url, Func<HttpResponseMessage> Respond)> _expected = new();
    private readonly Lock _gate = new();

    public List<(HttpRequestMessage Request, string Body)> Received { get; } = [];

    public StubHttp Expect(HttpMethod method, string url, HttpStatusCode status, string body, string contentType = "application/json", Action<HttpResponseMessage>? customize = null)
    {
        lock (_gate)
        {
            _expected.Enqueue((method, url, () =>
        {
            var response = new HttpResponseMessage(status) { Content = new StringContent(body, Encoding.UTF8, contentType) };
            customize?.Invoke(response);
            return response;
        }
            ));
        }

        return this;
    }

    public HttpClient CreateClient(string name) => new(this, disposeHandler: false);

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var body = request.Content is null ? "" : await request.Content.ReadAsStringAsync(cancellationToken);
        (HttpMethod Method, string Url, Func<HttpResponseMessage> Respond) next;
        bool expected;
        lock (_gate)
        {
            // Concurrent callers (a pacer's queue) arrive one by one here.
            Received.Add((request, body));
            expected = _expected.TryDequeue(out next);
        }

        if (!expected || next.Method != request.Method || next.Url != request.RequestUri!.AbsoluteUri)
        {
            throw new InvalidOperationException($"Unexpected request {request.Method} {request.RequestUri}");
        }

        return next.Respond();
    }
}

using Azure.Core;
using Azure.Core.Pipeline;

namespace OAuthBroker.Bench;

/// <summary>Counts the HTTP requests a Table client sends (retries included: each is a round trip).</summary>
internal sealed class CountingPolicy : HttpPipelineSynchronousPolicy
{
    private int _requests;

    public int Requests => _requests;

    public void Reset() => Interlocked.Exchange(ref _requests, 0);

    public override void OnSendingRequest(HttpMessage message) => Interlocked.Increment(ref _requests);
}

using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Azure.Core;
using Azure.Core.Pipeline;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using OAuthBroker.Flows;
using OAuthBroker.Providers;
using OAuthBroker.Sealing;
using OAuthBroker.Storage.Flows;
using OAuthBroker.Storage.Tables;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Flows;

/// <summary>
/// flow-review-2 #5: a pending link's sealed grant is the only means to link or revoke it, so it is taken by a
/// conditional update and deleted only after its taker has linked or revoked it: a take whose answer is lost still
/// belongs to its taker, and housekeeping takes a record before it revokes, so a completion on an instance whose clock
/// runs behind cannot link a grant being revoked.
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class PendingLinkTakeTests(BrokerEnvironmentFixture fixture)
{
    /// <summary>
    /// The network losing the answer of the first conditional write (If-Match on a version, not <c>*</c>) after Azurite
    /// applied it, as a connection reset after the server finished would: the client's retry policy sends it again.
    /// The retry is the SDK's own: the storage <c>TableClient</c> classifies with Azure.Core's default
    /// <c>ResponseClassifier</c>, whose <c>IsRetriableException</c> retries an <see cref="IOException"/>
    /// (Azure/azure-sdk-for-net, sdk/core/Azure.Core/src/ResponseClassifier.cs); the policy sits per retry, below the
    /// retry policy, as the transport does.
    /// </summary>
    private sealed class LoseFirstConditionalWriteAnswer : HttpPipelinePolicy
    {
        private int _lost;

        public int Lost => Volatile.Read(ref _lost);

        public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline) =>
            throw new NotSupportedException("The table client sends asynchronously.");

        public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            await ProcessNextAsync(message, pipeline);
            if (message.Request.Method != RequestMethod.Get && message.Request.Headers.TryGetValue("If-Match", out var ifMatch) && ifMatch != "*"
                && Interlocked.CompareExchange(ref _lost, 1, 0) == 0)
            {
                throw new IOException("The connection was reset after the request was sent (simulated: the answer is lost).");
            }
        }
    }

    private PendingLinks PendingLinksOver(IPendingLinkStore store) => new(store, fixture.Broker<OAuthBroker.Links.IAccountLinkStore>(), fixture.Broker<Sealer>(), fixture.Broker<ProviderCatalog>(),
        fixture.Broker<IOptions<BrokerOptions>>(), fixture.Broker<IOptions<OAuthBroker.Links.RevocationScopeOptions>>(), fixture.BrokerClock, NullLogger<PendingLinks>.Instance);

    /// <summary>The broker's pending-link store, with the browser going away (its request aborted) right after a take.</summary>
    private sealed class LeavesAfterTake(IPendingLinkStore inner, CancellationTokenSource browser) : IPendingLinkStore
    {
        public Task CreateAsync(PendingLink pending, CancellationToken ct) => inner.CreateAsync(pending, ct);

        public Task<PendingLink?> FindAsync(string completionFingerprint, CancellationToken ct) => inner.FindAsync(completionFingerprint, ct);

        public async Task<PendingLink?> TryTakeAsync(PendingLink pending, string takeId, CancellationToken ct)
        {
            var taken = await inner.TryTakeAsync(pending, takeId, ct);
            await browser.CancelAsync();
            return taken;
        }

        public Task<bool> TryReleaseAsync(PendingLink taken, CancellationToken ct) => inner.TryReleaseAsync(taken, ct);

        public Task RemoveAsync(PendingLink taken, CancellationToken ct) => inner.RemoveAsync(taken, ct);

        public IAsyncEnumerable<PendingLink> ListExpiredAsync(DateTimeOffset before, CancellationToken ct) => inner.ListExpiredAsync(before, ct);
    }

    [Fact]
    public async Task A_completion_whose_browser_goes_away_right_after_the_take_still_links_rather_than_leaving_the_record_taken()
    {
        using var browser = fixture.NewBrowser();
        using var landed = await browser.GetRawAsync(await browser.ConsentAsync(await browser.StartAsync(), uid: 595959101));
        var code = browser.PendingReturn(landed).ShouldNotBeNull().Code;
        var bindings = browser.Cookies.GetAllCookies().Where(c => c.Name.StartsWith("oauth-browser-", StringComparison.Ordinal)).Select(c => c.Value).ToList();
        bindings.ShouldNotBeEmpty();
        using var request = new CancellationTokenSource();
        var completion = new LinkCompletionService(PendingLinksOver(new LeavesAfterTake(fixture.Broker<IPendingLinkStore>(), request)),
            fixture.Broker<OAuthBroker.Links.LinkWriter>(), NullLogger<LinkCompletionService>.Instance);

        var (linked, error) = await completion.CompleteAsync("bybit", code, browser.User, bindings, null, request.Token);

        request.IsCancellationRequested.ShouldBeTrue("the request was aborted after the take");
        error.ShouldBeNull();
        linked.ShouldNotBeNull().AccountId.ShouldBe("595959101");
        (await browser.LinksAsync()).ShouldContain(l => l.AccountId == "595959101");
    }

    [Fact]
    public async Task A_take_whose_answer_is_lost_and_retried_still_holds_the_grant()
    {
        using var browser = fixture.NewBrowser();
        using var landed = await browser.GetRawAsync(await browser.ConsentAsync(await browser.StartAsync(), uid: 595959001));
        var code = browser.PendingReturn(landed).ShouldNotBeNull().Code;

        var lossy = new LoseFirstConditionalWriteAnswer();
        var options = new TableClientOptions();
        options.AddPolicy(lossy, HttpPipelinePosition.PerRetry);
        var client = new TableClient(new Uri($"http://127.0.0.1:{fixture.Environment.Azurite.Port}/devstoreaccount1"), "AuthorizationFlows",
            new TableSharedKeyCredential(TableConnectionString.DevelopmentAccountName, TableConnectionString.DevelopmentAccountKey), options);
        var pendingLinks = PendingLinksOver(new TablePendingLinkStore(new TableHandle(client)));

        var taken = await pendingLinks.TakeAsync(code, "bybit", default);
        lossy.Lost.ShouldBe(1, "the take's first answer was lost and the client retried it");
        taken.ShouldNotBeNull("the retry met the take's own first attempt: it is still this taker's, not 'unknown code'");
        (await pendingLinks.OpenAsync(taken, default)).ShouldNotBeNull("and the sealed grant is still there to link or revoke");

        // Nobody else can take it now, and the broker's own completion of the same code is refused.
        using var again = await browser.CompleteAsync("bybit", code);
        again.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        await pendingLinks.DiscardAsync(taken, "test");
    }

    [Fact]
    public async Task Housekeeping_takes_an_unconfirmed_link_before_revoking_so_a_late_completion_cannot_link_the_revoked_grant()
    {
        using var quickKey = OAuthBroker.Tests.Sandbox.SandboxSwitch.Set(fixture.SandboxOptions.WhiteBit, o => o.KeyCreatedAfter = TimeSpan.Zero); // WhiteBIT's key at the callback's look
        var whiteBit = fixture.Sandbox<OAuthBroker.Sandbox.WhiteBit.WhiteBitSandboxEndpoints.State>();
        var keysBefore = whiteBit.KeysById.Keys.ToHashSet();
        using var browser = fixture.NewBrowser();
        using var landed = await browser.GetRawAsync(await browser.ConsentAsync(await browser.StartAsync("whitebit")));
        var code = browser.PendingReturn(landed).ShouldNotBeNull().Code;
        var key = whiteBit.KeysById.Values.Where(k => !keysBefore.Contains(k.ExternalId)).ShouldHaveSingleItem();

        // Housekeeping on an instance whose clock runs 6 minutes ahead: to it the pending link has expired; to the
        // broker that serves the completion it has not. The provider revokes at once but its answer takes 2 seconds.
        var housekeeping = new UnconfirmedLinksTask(fixture.Broker<IPendingLinkStore>(), fixture.Broker<PendingLinks>(),
            new ManualClock(TimeSpan.FromMinutes(6)), NullLogger<UnconfirmedLinksTask>.Instance);
        fixture.SandboxFaults.Add(new OAuthBroker.Sandbox.Faults.Fault("/whitebit/oauth2/api-key/" + key.ExternalId, 0, Delay: TimeSpan.FromSeconds(2))
        {
            Phase = OAuthBroker.Sandbox.Faults.FaultPhase.AfterHandler,
        });
        try
        {
            var run = housekeeping.RunAsync(DateTimeOffset.MaxValue, default);
            for (var i = 0; i < 300 && !key.Deleted; i++)
            {
                await Task.Delay(100);
            }

            key.Deleted.ShouldBeTrue("the revocation reached the provider");
            using var completed = await browser.CompleteAsync("whitebit", code);
            completed.StatusCode.ShouldBe(HttpStatusCode.BadRequest, "the record was taken before the revocation began");
            (await completed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString().ShouldBe("invalid_completion");
            (await run).ShouldBeGreaterThanOrEqualTo(1, "this one (and any other expired leftovers of earlier tests) was discarded");
        }
        finally
        {
            fixture.SandboxFaults.Clear();
        }

        (await browser.LinksAsync()).ShouldBeEmpty("nothing links a revoked grant");
    }
}

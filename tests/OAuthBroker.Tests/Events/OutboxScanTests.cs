using System.Globalization;
using Azure.Core;
using Azure.Core.Pipeline;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using OAuthBroker.Events;
using OAuthBroker.Links;
using OAuthBroker.Refresh;
using OAuthBroker.Storage;
using OAuthBroker.Storage.Events;
using OAuthBroker.Storage.Links;
using OAuthBroker.Storage.Refresh;
using OAuthBroker.Storage.Tables;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Events;

/// <summary>
/// The recovery scan of a link table too large for one run's budget, on Azurite: a table of its own (so its key order is
/// known), shared state of its own (so the fixture's own scans do not move its place), and a clock per broker instance
/// that each page query moves on by a minute, the time a page of a large table takes the service (up to 5 s of execution
/// and 30 s with scheduling, Query Timeout and Pagination, learn.microsoft.com/rest/api/storageservices/query-timeout-and-pagination),
/// so a run's budget ends after a known number of pages.
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class OutboxScanTests(BrokerEnvironmentFixture fixture)
{
    private static readonly TimeSpan PageTime = TimeSpan.FromMinutes(1);

    /// <summary>Half of it is the scan's: room for one page and its rows, not for a second.</summary>
    private static readonly TimeSpan RunBudget = TimeSpan.FromMinutes(3);

    private readonly string _suffix = Guid.NewGuid().ToString("N")[..10];

    private string LinksTable => "scanlinks" + _suffix;

    /// <summary>Hints, log and provider states of the test's own, so recovery here touches nothing of the fixture's.</summary>
    private string EventsTable => "scanevents" + _suffix;

    [Fact]
    public async Task A_scan_cut_by_its_budget_goes_on_where_it_stopped_in_the_next_runs_of_any_instance_and_waits_the_interval_only_after_a_full_pass()
    {
        // 500 rows first in key order hold events but are under live leases (recovery leaves them to their holders), then
        // 10 that recovery may publish. None has a hint: only the scan leads to them. Pages of 200 rows.
        var rows = await InsertRowsAsync(510);
        var leased = rows[..500];
        var reachable = rows[500..];
        var state = new TableBrokerStateStore(new TableHandle(PlainClient("scanstate" + _suffix)));
        var instanceA = Recovery(state, out var clockA);
        var instanceB = Recovery(state, out var clockB);

        // Run 1 (A): page 1 only. Run 2 (B, another instance: nothing in memory from A): page 2, not page 1 again.
        await RunAsync(instanceA, clockA);
        (await PendingAsync(reachable)).Count.ShouldBe(reachable.Length, "the budget ended within the leased rows");
        await RunAsync(instanceB, clockB);
        (await PendingAsync(reachable)).Count.ShouldBe(reachable.Length, "the budget ended within the leased rows again");

        // Run 3 (A again, within the interval of nothing: the pass is not complete): page 3 reaches the rows after the cut.
        (await RunAsync(instanceA, clockA)).ShouldBe(reachable.Length);
        (await PendingAsync(reachable)).ShouldBeEmpty("the rows after the cut were reached by the next runs");
        (await PendingAsync(leased)).Count.ShouldBe(leased.Length, "rows under a live lease are left to their holders");

        // The pass is complete: the next one starts an interval later, on every instance.
        var late = (await InsertRowsAsync(1, "late"))[0];
        (await RunAsync(instanceA, clockA)).ShouldBe(0);
        (await RunAsync(instanceB, clockB)).ShouldBe(0);
        (await PendingAsync([late])).ShouldHaveSingleItem("no new pass within the interval after a full one");
    }

    [Theory]
    [InlineData("[{not json", "mixed")]
    // Well-formed JSON without the event's data (LinkEventJson.Read: GetProperty throws KeyNotFoundException).
    [InlineData("[{\"id\":\"x\",\"type\":\"link.created\",\"timestamp\":\"2026-11-22T00:00:00Z\"}]", "nodata")]
    public async Task A_row_that_cannot_be_read_is_skipped_and_the_pass_goes_on_to_its_end(string outbox, string label)
    {
        // One row's outbox is not JSON this version can read (written by another version, or mended by hand); the rows
        // after it on the same page hold events recovery may publish.
        var rows = await InsertRowsAsync(6, label);
        var unreadable = rows[0];
        var raw = PlainClient(LinksTable);
        await raw.UpdateEntityAsync(
            new TableEntity(TableAccountLinkStore.PartitionKeyOf(unreadable.UserId), TableAccountLinkStore.RowKeyOf(unreadable.ProviderId, unreadable.AccountId)) { ["Outbox"] = outbox },
            "*", TableUpdateMode.Merge);
        var state = new TableBrokerStateStore(new TableHandle(PlainClient("scanstate" + _suffix)));
        var recovery = Recovery(state, out var clock);

        (await RunAsync(recovery, clock)).ShouldBe(rows.Length - 1, "every readable row is published");
        (await PendingAsync(rows[1..])).ShouldBeEmpty();
        OutboxScanPosition.Parse(await state.GetAsync(TableOutboxRecovery.ScanStateKey, default)).CompletedAt.ShouldNotBeNull("the pass reached the table's end");
    }

    [Fact]
    public async Task A_page_query_that_outlasts_the_scan_budget_is_cancelled_and_the_run_goes_on_to_its_deliveries()
    {
        await InsertRowsAsync(1, "slow");
        var state = new TableBrokerStateStore(new TableHandle(PlainClient("scanstate" + _suffix)));
        var slowPage = new SlowPageQuery();
        var recovery = Recovery(state, out var clock, slowPage);

        // A run of a few seconds (the scan gets half); the page would take a minute.
        var run = recovery.RecoverAsync(DateTimeOffset.UtcNow.AddMinutes(1), clock.GetUtcNow() + TimeSpan.FromSeconds(4), default);
        (await run.WaitAsync(SlowPageQuery.Hold + TimeSpan.FromSeconds(30))).ShouldBe(0);
        slowPage.Cancelled.ShouldBeTrue("the page query is cancelled at the scan's budget, not left to run its course");
        OutboxScanPosition.Parse(await state.GetAsync(TableOutboxRecovery.ScanStateKey, default)).Next.ShouldBeNull("nothing is saved for a page not read");
    }

    private static async Task<int> RunAsync(TableOutboxRecovery recovery, ManualClock clock)
    {
        var now = clock.GetUtcNow();
        return await recovery.RecoverAsync(DateTimeOffset.UtcNow.AddMinutes(1), now + RunBudget, default);
    }

    /// <summary>A broker instance's recovery on the test's tables, with its own clock and nothing carried over from another.</summary>
    private TableOutboxRecovery Recovery(IBrokerStateStore state, out ManualClock clock, HttpPipelinePolicy? linksPolicy = null)
    {
        clock = new ManualClock();
        var options = Options.Create(new EventsOptions { OutboxScanPageSize = 200 });
        var events = new TableHandle(PlainClient(EventsTable));
        var log = new TableEventLog(events, fixture.Broker<ILeaseClock>(), options);
        var outbox = new LinkOutbox(events, log, clock);
        var links = new TableAccountLinkStore(new TableHandle(PlainClient(LinksTable, linksPolicy ?? new PageTakesTime(clock))), outbox);
        return ActivatorUtilities.CreateInstance<TableOutboxRecovery>(fixture.Environment.Broker.Services,
            links, outbox, new TableProviderCredentialsState(events, log), state, options, (TimeProvider)clock);
    }

    /// <summary>Rows with an event in their outbox and no hint, sorted by their keys (the order a scan reads them in).</summary>
    private async Task<AccountLink[]> InsertRowsAsync(int count, string prefix = "row")
    {
        var store = new TableAccountLinkStore(new TableHandle(PlainClient(LinksTable)));
        var leases = fixture.Broker<LinkLeases>();
        var now = DateTimeOffset.UtcNow;
        var links = Enumerable.Range(0, count)
            .Select(i => NewLink($"{prefix}-{_suffix}-{i.ToString(CultureInfo.InvariantCulture)}", now))
            .OrderBy(l => TableAccountLinkStore.PartitionKeyOf(l.UserId), StringComparer.Ordinal)
            .ToArray();
        var leasedUntil = leases.Now + leases.Longest - TimeSpan.FromSeconds(1);
        var written = new AccountLink[count];
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, ct) =>
        {
            var link = i < 500 && prefix == "row" ? links[i] with { LeaseOwner = "holder", LeaseUntil = leasedUntil } : links[i];
            written[i] = (await store.TryInsertAsync(link.Announcing(LinkEventTypes.Created, now), ct)).ShouldNotBeNull();
        });
        return written;
    }

    private static AccountLink NewLink(string user, DateTimeOffset now) => new()
    {
        UserId = user,
        ProviderId = "bybit",
        AccountId = "1",
        Status = LinkStatus.Active,
        CredentialName = OAuthBroker.Credentials.CredentialNames.New(),
        Scopes = [],
        HasApiKey = false,
        HasRefreshToken = true,
        CreatedAt = now,
        UpdatedAt = now,
    };

    private async Task<List<AccountLink>> PendingAsync(IEnumerable<AccountLink> links)
    {
        var store = new TableAccountLinkStore(new TableHandle(PlainClient(LinksTable)));
        var pending = new List<AccountLink>();
        foreach (var link in links)
        {
            if ((await store.GetAsync(link.UserId, link.ProviderId, link.AccountId, default))!.PendingEvents.Count > 0)
            {
                pending.Add(link);
            }
        }

        return pending;
    }

    private TableClient PlainClient(string table, HttpPipelinePolicy? policy = null)
    {
        var storage = fixture.Broker<IOptions<StorageOptions>>().Value;
        var connection = TableConnectionString.Parse(storage.ConnectionString!);
        var options = new TableClientOptions();
        if (policy is not null)
        {
            options.AddPolicy(policy, HttpPipelinePosition.PerCall);
        }

        return new TableClient(connection.TableEndpoint, table, connection.Credential, options);
    }

    /// <summary>Holds each query page for <see cref="Hold"/> unless its request is cancelled first (a slow page of a large table).</summary>
    private sealed class SlowPageQuery : HttpPipelinePolicy
    {
        public static readonly TimeSpan Hold = TimeSpan.FromSeconds(60);

        public bool Cancelled { get; private set; }

        public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline) =>
            throw new NotSupportedException("The table client is used asynchronously only.");

        public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            if (message.Request.Method == RequestMethod.Get && message.Request.Uri.Path.EndsWith("()", StringComparison.Ordinal))
            {
                try
                {
                    await Task.Delay(Hold, message.CancellationToken);
                }
                catch (OperationCanceledException)
                {
                    Cancelled = true;
                    throw;
                }
            }

            await ProcessNextAsync(message, pipeline);
        }
    }

    /// <summary>Each answered query page moves the instance's clock on by <see cref="PageTime"/>.</summary>
    private sealed class PageTakesTime(ManualClock clock) : HttpPipelineSynchronousPolicy
    {
        public override void OnReceivedResponse(HttpMessage message)
        {
            if (message.Request.Method == RequestMethod.Get && message.Request.Uri.Path.EndsWith("()", StringComparison.Ordinal))
            {
                clock.Advance(PageTime);
            }
        }
    }
}

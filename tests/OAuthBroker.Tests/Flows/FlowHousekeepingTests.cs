using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Web;
using OAuthBroker.Flows;
using OAuthBroker.Scheduling;
using OAuthBroker.Storage.Tables;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Flows;

/// <summary>
/// Flow state does not pile up (security review F10): used-state markers and start tickets are deleted by the
/// scheduled run's housekeeping once expired, and tickets are spread over partitions instead of one hot one.
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class FlowHousekeepingTests(BrokerEnvironmentFixture fixture)
{
    private TableClient FlowsTable => new(new Uri($"http://127.0.0.1:{fixture.Environment.Azurite.Port}/devstoreaccount1"), "AuthorizationFlows",
        new TableSharedKeyCredential(TableConnectionString.DevelopmentAccountName, TableConnectionString.DevelopmentAccountKey));

    private async Task<string> TicketAsync(string token)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(fixture.BrokerUri, "api/oauth/bybit/start"));
        request.Headers.Authorization = new("Bearer", token);
        using var response = await http.SendAsync(request);
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        var ticket = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("ticket").GetString()!;
        fixture.SeenSecrets.Add(ticket);
        return ticket;
    }

    private async Task<TableEntity?> RowAsync(string fingerprint)
    {
        await foreach (var row in FlowsTable.QueryAsync(TableFilter.Equal("RowKey", fingerprint)))
        {
            return row;
        }

        return null;
    }

    [Fact]
    public async Task Used_state_markers_and_abandoned_tickets_are_deleted_by_the_scheduled_run()
    {
        using var browser = fixture.NewBrowser();
        var authorize = await browser.StartAsync();
        var markerRow = FlowSecrets.Fingerprint(HttpUtility.ParseQueryString(authorize.Query)["state"]!);
        (await RowAsync(markerRow)).ShouldBeNull("authorize stores nothing: the flow is sealed in the browser's cookie");
        using (await browser.GetRawAsync(await browser.ConsentAsync(authorize)))
        {
        }

        (await RowAsync(markerRow)).ShouldNotBeNull("the callback marks the state used");
        var ticketRow = FlowSecrets.Fingerprint(await TicketAsync(await SandboxIdentity.SignInAsync(fixture, "housekeeping-user")));
        (await RowAsync(ticketRow)).ShouldNotBeNull();

        // Kept while the flow could still be replayed, and a while longer for clocks that differ.
        using (fixture.BrokerClock.AdvanceFor(TimeSpan.FromMinutes(11)))
        {
            await fixture.Broker<ScheduledRun>().RunAsync(default);
        }

        (await RowAsync(markerRow)).ShouldNotBeNull();

        using (fixture.BrokerClock.AdvanceFor(TimeSpan.FromMinutes(10) + ExpiredFlowStateTask.Grace + TimeSpan.FromMinutes(1)))
        {
            var report = await fixture.Broker<ScheduledRun>().RunAsync(default);
            report.Housekeeping["expired-flows"].ShouldBeGreaterThanOrEqualTo(2);
        }

        (await RowAsync(markerRow)).ShouldBeNull("the used state's marker is gone once its flow expired");
        (await RowAsync(ticketRow)).ShouldBeNull("the unused ticket (user id, return URL) is gone");
    }

    [Fact]
    public async Task An_unconfirmed_grant_whose_revocation_fails_is_kept_for_the_next_run_then_revoked_and_removed()
    {
        using var quickKey = OAuthBroker.Tests.Sandbox.SandboxSwitch.Set(fixture.SandboxOptions.WhiteBit, o => o.KeyCreatedAfter = TimeSpan.Zero); // WhiteBIT's key at the callback's look
        var whiteBit = fixture.Sandbox<OAuthBroker.Sandbox.WhiteBit.WhiteBitSandboxEndpoints.State>();
        var keysBefore = whiteBit.KeysById.Keys.ToHashSet();
        using var browser = fixture.NewBrowser();
        using var landed = await browser.GetRawAsync(await browser.ConsentAsync(await browser.StartAsync("whitebit")));
        var row = FlowSecrets.Fingerprint(browser.PendingReturn(landed).ShouldNotBeNull().Code);
        var key = whiteBit.KeysById.Values.Where(k => !keysBefore.Contains(k.ExternalId)).ShouldHaveSingleItem();
        var unconfirmed = fixture.Broker<IEnumerable<IHousekeepingTask>>().Single(t => t.Name == "unconfirmed-links");

        using (fixture.BrokerClock.AdvanceFor(TimeSpan.FromMinutes(6)))
        {
            fixture.SandboxFaults.Add(new OAuthBroker.Sandbox.Faults.Fault("/whitebit/oauth2/api-key/" + key.ExternalId, 503, "down"));
            await unconfirmed.RunAsync(DateTimeOffset.MaxValue, default);
            key.Deleted.ShouldBeFalse();
            (await RowAsync(row)).ShouldNotBeNull("dropping the row would drop the only means to revoke");

            await unconfirmed.RunAsync(DateTimeOffset.MaxValue, default);
        }

        key.Deleted.ShouldBeTrue();
        (await RowAsync(row)).ShouldBeNull();
    }

    [Fact]
    public async Task After_an_hour_of_failing_revocation_an_unconfirmed_grant_is_removed_anyway()
    {
        using var browser = fixture.NewBrowser();
        using var landed = await browser.GetRawAsync(await browser.ConsentAsync(await browser.StartAsync("whitebit")));
        var row = FlowSecrets.Fingerprint(browser.PendingReturn(landed).ShouldNotBeNull().Code);

        using (fixture.BrokerClock.AdvanceFor(TimeSpan.FromMinutes(5) + UnconfirmedLinksTask.RevocationRetryWindow + TimeSpan.FromMinutes(1)))
        {
            fixture.SandboxFaults.Add(new OAuthBroker.Sandbox.Faults.Fault("/whitebit/oauth2/api-key/", 503, "down", Times: 50));
            try
            {
                await fixture.Broker<IEnumerable<IHousekeepingTask>>().Single(t => t.Name == "unconfirmed-links").RunAsync(DateTimeOffset.MaxValue, default);
            }
            finally
            {
                fixture.SandboxFaults.Clear();
            }
        }

        (await RowAsync(row)).ShouldBeNull("an unconfirmed grant is not kept indefinitely either");
    }

    [Fact]
    public async Task Start_tickets_are_spread_over_partitions()
    {
        var token = await SandboxIdentity.SignInAsync(fixture, "partition-user");
        var partitions = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < 8; i++)
        {
            var fingerprint = FlowSecrets.Fingerprint(await TicketAsync(token));
            var row = (await RowAsync(fingerprint)).ShouldNotBeNull();
            row.PartitionKey.ShouldBe("tk-" + fingerprint[..2]);
            partitions.Add(row.PartitionKey);
        }

        // 8 random fingerprints in one of 4,096 partitions each: all in one would happen once in 2^84 runs.
        partitions.Count.ShouldBeGreaterThan(1);
    }
}

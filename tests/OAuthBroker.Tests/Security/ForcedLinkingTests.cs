using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using OAuthBroker.Sandbox.WhiteBit;
using OAuthBroker.Scheduling;
using OAuthBroker.Storage.Tables;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Security;

/// <summary>
/// Forced account linking (login CSRF on account linking; security review F2): an attacker, an ordinary platform user,
/// mints a start ticket with their own token and gets it opened in a victim's browser (a pop-up or a link on their
/// page). The victim approves at the provider with their own exchange account. Before the completion step the
/// victim's exchange API key and secret were then linked to the attacker. Now the provider leg ends in a pending link
/// that only the attacker's own user could confirm, and only from the victim's browser: nobody can.
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class ForcedLinkingTests(BrokerEnvironmentFixture fixture)
{
    /// <summary>The attacker's side: a platform token and a fresh start ticket for it (the attacker's page mints one per visit).</summary>
    private async Task<(string Token, Uri AuthorizeUrl)> AttackerTicketAsync(string provider)
    {
        var token = await SandboxIdentity.SignInAsync(fixture, "attacker-" + Guid.NewGuid().ToString("N")[..8]);
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(fixture.BrokerUri, $"api/oauth/{provider}/start?returnUrl={Uri.EscapeDataString("http://localhost:5173/connected")}"));
        request.Headers.Authorization = new("Bearer", token);
        using var response = await http.SendAsync(request);
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        fixture.SeenSecrets.Add(body.GetProperty("ticket").GetString());
        return (token, new Uri(fixture.BrokerUri, body.GetProperty("authorizeUrl").GetString()!));
    }

    /// <summary>The victim's browser opens the attacker's authorize URL and the victim approves with their own account.</summary>
    private static async Task<Uri> VictimConsentsAsync(BrowserSession victim, Uri attackersAuthorizeUrl, long uid = 0)
    {
        using var authorize = await victim.GetRawAsync(attackersAuthorizeUrl);
        authorize.StatusCode.ShouldBe(HttpStatusCode.Found, "a ticket starts a flow in any browser that presents it");
        return await victim.ConsentAsync(authorize.Headers.Location!, uid);
    }

    private async Task<JsonElement> LinksOfAsync(string token)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(fixture.BrokerUri, "api/links"));
        request.Headers.Authorization = new("Bearer", token);
        using var response = await http.SendAsync(request);
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private TableClient FlowsTable => new(new Uri($"http://127.0.0.1:{fixture.Environment.Azurite.Port}/devstoreaccount1"), "AuthorizationFlows",
        new TableSharedKeyCredential(TableConnectionString.DevelopmentAccountName, TableConnectionString.DevelopmentAccountKey));

    [Fact]
    public async Task An_attackers_ticket_opened_in_a_victims_browser_links_the_victims_Bybit_keys_to_nobody()
    {
        var vaultBefore = fixture.Environment.KeyVault.Store.ActiveCount;
        var (attackerToken, authorizeUrl) = await AttackerTicketAsync("bybit");
        using var victim = fixture.NewBrowser("victim-" + Guid.NewGuid().ToString("N")[..8]);

        var callback = await VictimConsentsAsync(victim, authorizeUrl, uid: 424200017);
        // The callback lands in the victim's browser; the victim's own frontend completes, as the victim.
        using var landed = await victim.GetAsync(callback);

        (await LinksOfAsync(attackerToken)).GetArrayLength().ShouldBe(0, "the victim's exchange account must not become the attacker's");
        landed.Headers.Location!.Query.ShouldContain("oauth_error=completion_refused");
        (await victim.LinksAsync()).ShouldBeEmpty("the victim never asked for this link either");
        fixture.Environment.KeyVault.Store.ActiveCount.ShouldBe(vaultBefore, "nothing of the victim's grant reached the vault");
    }

    [Fact]
    public async Task A_leaked_completion_code_is_useless_outside_the_victims_browser()
    {
        var (attackerToken, authorizeUrl) = await AttackerTicketAsync("bybit");
        using var victim = fixture.NewBrowser("victim-" + Guid.NewGuid().ToString("N")[..8]);
        var callback = await VictimConsentsAsync(victim, authorizeUrl, uid: 424200018);
        using var landed = await victim.GetRawAsync(callback);

        // Suppose the code leaks from the victim's return page (a careless postMessage, a script that reads the URL):
        // the attacker confirms with their own token, which does name the flow's user, from their own browser.
        var pending = victim.PendingReturn(landed);
        pending.ShouldNotBeNull("the provider leg ends pending, not linked");
        using var attacker = fixture.NewBrowser("attacker-browser");
        attacker.ForgetDevelopmentIdentity();
        using var confirm = await attacker.CompleteAsync("bybit", pending.Value.Code, bearer: attackerToken);

        confirm.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await confirm.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString().ShouldBe("completion_refused");
        (await LinksOfAsync(attackerToken)).GetArrayLength().ShouldBe(0);

        // Used up: not even the right browser can use it now.
        using var again = await victim.CompleteAsync("bybit", pending.Value.Code);
        (await again.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString().ShouldBe("invalid_completion");
        (await LinksOfAsync(attackerToken)).GetArrayLength().ShouldBe(0);
    }

    [Fact]
    public async Task An_unconfirmed_grant_is_revoked_at_the_provider_and_removed_after_the_pending_window()
    {
        using var quickKey = OAuthBroker.Tests.Sandbox.SandboxSwitch.Set(fixture.SandboxOptions.WhiteBit, o => o.KeyCreatedAfter = TimeSpan.Zero); // WhiteBIT's key at the callback's look
        var vaultBefore = fixture.Environment.KeyVault.Store.ActiveCount;
        var whiteBit = fixture.Sandbox<WhiteBitSandboxEndpoints.State>();
        var keysBefore = whiteBit.KeysById.Keys.ToHashSet();
        var (attackerToken, authorizeUrl) = await AttackerTicketAsync("whitebit");
        using var victim = fixture.NewBrowser("victim-" + Guid.NewGuid().ToString("N")[..8]);

        // The victim's browser lands on a return page that does nothing: the pending link just waits.
        var callback = await VictimConsentsAsync(victim, authorizeUrl);
        using (await victim.GetRawAsync(callback))
        {
        }

        (await LinksOfAsync(attackerToken)).GetArrayLength().ShouldBe(0);
        var victimsKey = whiteBit.KeysById.Values.Where(k => !keysBefore.Contains(k.ExternalId)).ShouldHaveSingleItem();
        victimsKey.Deleted.ShouldBeFalse("WhiteBIT created the victim's API key on consent");
        var pendingRows = await PendingRowsAsync();
        pendingRows.ShouldNotBeEmpty();
        foreach (var row in pendingRows)
        {
            row.Properties.Values.OfType<string>().ShouldAllBe(value => !value.Contains(victimsKey.Secret, StringComparison.Ordinal), "the pending grant is held sealed");
        }

        using (fixture.BrokerClock.AdvanceFor(TimeSpan.FromMinutes(6)))
        {
            var housekeeping = fixture.Broker<IEnumerable<IHousekeepingTask>>().Single(t => t.Name == "unconfirmed-links");
            (await housekeeping.RunAsync(DateTimeOffset.MaxValue, default)).ShouldBeGreaterThanOrEqualTo(1);
        }

        victimsKey.Deleted.ShouldBeTrue("the unconfirmed grant was revoked at WhiteBIT: the victim's new API key is deleted");
        (await PendingRowsAsync()).ShouldBeEmpty();
        fixture.Environment.KeyVault.Store.ActiveCount.ShouldBe(vaultBefore, "nothing was ever vaulted");
        (await LinksOfAsync(attackerToken)).GetArrayLength().ShouldBe(0);
    }

    private async Task<List<TableEntity>> PendingRowsAsync()
    {
        var rows = new List<TableEntity>();
        await foreach (var row in FlowsTable.QueryAsync(null))
        {
            if (row.PartitionKey.StartsWith("pl-", StringComparison.Ordinal))
            {
                rows.Add(row);
            }
        }

        return rows;
    }
}

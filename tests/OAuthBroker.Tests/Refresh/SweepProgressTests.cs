using System.Globalization;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using OAuthBroker.Links;
using OAuthBroker.Refresh;
using OAuthBroker.Sandbox.Faults;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Refresh;

/// <summary>
/// The sweep always progresses: links it cannot act on never stand in front of the rest, a link is not refreshed
/// over and over in one run, an entry a writer is about to point a link at is not removed, and reads do not hammer a
/// provider whose refresh just failed.
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class SweepProgressTests(BrokerEnvironmentFixture fixture)
{
    private IAccountLinkStore Links => fixture.Broker<IAccountLinkStore>();
    private IRefreshSchedule Schedule => fixture.Broker<IRefreshSchedule>();

    [Fact]
    public async Task Three_hundred_links_of_a_disabled_provider_do_not_block_the_due_links_behind_them()
    {
        var now = fixture.BrokerClock.GetUtcNow();
        var retiredUser = "retired-" + Guid.NewGuid().ToString("N")[..8];
        var retired = Enumerable.Range(0, 300).Select(i => new AccountLink
        {
            UserId = retiredUser,
            // Not configured (a provider retired or switched off with Enabled=false).
            ProviderId = "retired",
            AccountId = i.ToString(CultureInfo.InvariantCulture),
            Status = LinkStatus.Active,
            CredentialName = OAuthBroker.Credentials.CredentialNames.New(),
            Scopes = [],
            HasApiKey = false,
            HasRefreshToken = true,
            CreatedAt = now.AddDays(-40),
            UpdatedAt = now.AddDays(-40),
        }).ToList();
        // Due a month ago: at the very head of the index.
        await Parallel.ForEachAsync(retired, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (link, ct) =>
        {
            var due = now.AddDays(-30).AddSeconds(int.Parse(link.AccountId, CultureInfo.InvariantCulture));
            var key = await Schedule.AddAsync(link, due, ct);
            await Links.TryInsertAsync(link with { NextRefreshAt = due, DueKey = key }, ct);
        });

        using var browser = fixture.NewBrowser();
        await browser.LinkAsync(uid: 676767001);
        using (fixture.BrokerClock.AdvanceFor(TimeSpan.FromHours(24)))
        {
            await fixture.Broker<RefreshSweep>().RunAsync(default);
        }

        (await Links.GetAsync(browser.User, "bybit", "676767001", default))!.LastRefreshAt.ShouldNotBeNull("the due link behind them was refreshed");
        var parked = (await Links.GetAsync(retiredUser, "retired", "7", default))!;
        parked.LastFailure.ShouldBe("provider_unavailable");
        parked.NextRefreshAt!.Value.ShouldBeGreaterThan(now.AddHours(24), "moved out of the way until the keep-alive interval has passed");
    }

    [Fact]
    public async Task A_refresh_token_expiry_a_refresh_cannot_move_does_not_make_the_link_due_again_in_the_same_run()
    {
        using var browser = fixture.NewBrowser();
        await browser.LinkAsync(uid: 676767002);
        var link = (await Links.GetAsync(browser.User, "bybit", "676767002", default))!;
        // Bybit answers without a new refresh token: the old one, and its absolute expiry, stay.
        var fault = new Fault("/bybit/oauth/v1/public/refresh_token", 200, """{"access_token":"at-without-rotation","token_type":"bearer","expires_in":86400}""", "application/json", Times: 1000);
        fixture.SandboxFaults.Add(fault);
        var sweep = ActivatorUtilities.CreateInstance<RefreshSweep>(fixture.Environment.Broker.Services,
            Options.Create(new RefreshOptions { SweepBudget = TimeSpan.FromSeconds(60) }));
        var versionsBefore = fixture.Environment.KeyVault.VersionsOf(link.CredentialName);
        try
        {
            // Inside the refresh token's margin: due because it is about to expire, and refreshing cannot change that.
            using (fixture.BrokerClock.AdvanceFor(link.RefreshTokenExpiresAt!.Value - fixture.BrokerClock.GetUtcNow() - TimeSpan.FromMinutes(2)))
            {
                await sweep.RunAsync(default);
            }
        }
        finally
        {
            fixture.SandboxFaults.Clear();
        }

        // One refresh (plus at most one write proving the vault takes writes), not one per loop of the sweep.
        (fixture.Environment.KeyVault.VersionsOf(link.CredentialName) - versionsBefore).ShouldBeLessThanOrEqualTo(2);
        var after = (await Links.GetAsync(browser.User, "bybit", "676767002", default))!;
        after.LastRefreshAt.ShouldNotBeNull();
        // The expiry that could not move is no reason to refresh again: the next refresh is for the new access token
        // (a day), not "as soon as allowed" (Refresh:MinRefreshInterval, a minute) over and over until it expires.
        after.RefreshTokenExpiresAt.ShouldBe(link.RefreshTokenExpiresAt);
        after.NextRefreshAt!.Value.ShouldBeGreaterThan(after.LastRefreshAt!.Value + TimeSpan.FromHours(1));
    }

    [Fact]
    public async Task A_link_whose_refresh_throws_is_moved_back_by_the_backoff_instead_of_staying_in_front()
    {
        using var browser = fixture.NewBrowser();
        await browser.LinkAsync(uid: 676767005);
        var link = (await Links.GetAsync(browser.User, "bybit", "676767005", default))!;
        // A document the broker cannot read (written by a broken version, which named it on the row).
        var poison = await fixture.SecretClient.SetSecretAsync(link.CredentialName, "not a credential document");
        link = await Links.ReplaceAsync(link with { CredentialVersion = poison.Value.Properties.Version }, default);

        using (fixture.BrokerClock.AdvanceFor(TimeSpan.FromHours(24)))
        {
            var report = await fixture.Broker<RefreshSweep>().RunAsync(default);
            report.Errors.ShouldBeGreaterThanOrEqualTo(1);
            var moved = (await Links.GetAsync(browser.User, "bybit", "676767005", default))!;
            moved.LastFailure.ShouldBe("error_JsonException");
            moved.RefreshFailures.ShouldBe(1);
            moved.NextRefreshAt!.Value.ShouldBeGreaterThan(fixture.BrokerClock.GetUtcNow(), "not due again before its backoff");
            moved.DueKey.ShouldNotBe(link.DueKey);
        }
    }

    [Fact]
    public async Task An_entry_written_just_now_that_the_link_does_not_point_at_yet_is_kept()
    {
        using var browser = fixture.NewBrowser();
        await browser.LinkAsync(uid: 676767003);
        var link = (await Links.GetAsync(browser.User, "bybit", "676767003", default))!;
        // A writer (refresh or re-link) adds the new entry first and points the row at it next: a sweep in between
        // must not take the entry away, or the link would never be swept again.
        var key = await Schedule.AddAsync(link, fixture.BrokerClock.GetUtcNow().AddMinutes(-1), default);
        var listed = (await Schedule.ListDueAsync(fixture.BrokerClock.GetUtcNow(), 5000, null, default)).Single(e => e.Key == key);

        (await fixture.Broker<LinkRefresher>().RefreshDueAsync(listed, default)).ShouldBe(RefreshOutcome.Skipped);

        (await Schedule.ListDueAsync(fixture.BrokerClock.GetUtcNow(), 5000, null, default)).ShouldContain(e => e.Key == key);
        await Schedule.RemoveAsync(key, default);
    }

    [Fact]
    public async Task Reads_of_an_expiring_link_do_not_call_the_provider_again_while_its_refresh_backs_off()
    {
        using var browser = fixture.NewBrowser();
        await browser.LinkAsync(uid: 676767004, provider: "builtbybit");
        // The access token (1 hour) is within its margin, and the provider turns the refresh away (429: not processed).
        var fault = new Fault("/builtbybit/oauth2/token", 429, "slow down", Times: 100);
        fixture.SandboxFaults.Add(fault);
        using var http = new HttpClient();
        try
        {
            using (fixture.BrokerClock.AdvanceFor(TimeSpan.FromMinutes(57)))
            {
                for (var i = 0; i < 4; i++)
                {
                    using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(fixture.BrokerUri, $"api/links/builtbybit/676767004/credential?userId={browser.User}"));
                    request.Headers.Add("X-Api-Key", fixture.BackendKey);
                    using var response = await http.SendAsync(request);
                    response.StatusCode.ShouldBe(HttpStatusCode.OK, "the access token is still valid for three minutes");
                }
            }
        }
        finally
        {
            fixture.SandboxFaults.Clear();
        }

        fault.Used.ShouldBe(1, "the first read tried; the rest waited for the backoff");
        (await Links.GetAsync(browser.User, "builtbybit", "676767004", default))!.RefreshFailures.ShouldBe(1);
    }
}

using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using OAuthBroker.Credentials;
using OAuthBroker.Host.Refresh;
using OAuthBroker.Links;
using OAuthBroker.Refresh;
using OAuthBroker.Scheduling;
using OAuthBroker.Storage;
using OAuthBroker.Storage.Vault;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Refresh;

/// <summary>
/// How long a found spend marker is held, against the latest moment the holder's own rules let its
/// result land. The holder renews its lease and sets the marker in one write (LinkRefresher.StartSpendAsync, SpendStartedAt
/// and LeaseUntil from the same storage-clock reading), then sends while
/// Remaining − VaultWrite ≥ Spend (LinkRefresher.SpendAsync; Remaining = LeaseDuration − ClockAllowance − elapsed), so a
/// marker write that took a while moves the send, and the result's write ends as late as the marker + LeaseDuration −
/// ClockAllowance; reads show it KeyVault:WriteVisibleWithin later. Defaults: 120 − 5 + 60 = marker + 175 s (counted from
/// ForSpend alone, 103 + 60 + 5 = 168 s, the hold ended before a result the holder was still allowed to write could show).
/// </summary>
public sealed class PendingSpendInDoubtBoundTests
{
    [Fact]
    public void The_hold_lasts_until_the_latest_result_the_holders_own_spend_rule_allows_can_show()
    {
        var clock = new ManualClock();
        var refresh = new RefreshOptions();
        var vaultOptions = new KeyVaultOptions();
        var hold = Hold(clock, refresh, vaultOptions);
        var marker = clock.GetUtcNow();
        var row = Marked(marker, accessTokenExpiresAt: null);

        var budget = refresh.BudgetWith(vaultOptions.WorstCaseCall);
        // The latest send the holder allows itself (Remaining − VaultWrite ≥ Spend), then the whole spend and the write.
        var latestSend = marker + (refresh.LeaseDuration - refresh.ClockAllowance - budget.VaultWrite - budget.Spend);
        var latestWriteEnds = latestSend + budget.Spend + budget.VaultWrite;
        var look = hold.LookAt(row).ShouldNotBeNull("a young marker is held");
        look.ShouldBeGreaterThanOrEqualTo(latestWriteEnds + vaultOptions.WriteVisibleWithin,
            "a result the holder may still write at its lease's end must have had time to show before the flow is ended");
    }

    private static PendingSpendInDoubt Hold(ManualClock clock, RefreshOptions refresh, KeyVaultOptions vaultOptions)
    {
        var provider = new ServiceCollection()
            .AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["FUNCTIONS_CUSTOMHANDLER_PORT"] = "7071" }).Build())
            .AddSingleton<TimeProvider>(clock)
            .AddSingleton(Options.Create(refresh))
            .AddSingleton(Options.Create(vaultOptions))
            .AddSingleton<IVaultWriteBudget, KeyVaultWriteBudget>()
            .AddSingleton<IRunCadence, CrontabRunCadence>()
            .AddSingleton<PendingRenewalHorizon>()
            .BuildServiceProvider();
        var options = Options.Create(refresh);
        var leases = new LinkLeases(null!, new SameClock(clock), options, clock);
        var hold = new PendingSpendInDoubt(null!, leases, provider.GetRequiredService<IVaultWriteBudget>(),
            provider.GetRequiredService<PendingRenewalHorizon>(), options, clock, NullLogger<PendingSpendInDoubt>.Instance);
        return hold;
    }

    private static AccountLink Marked(DateTimeOffset marker, DateTimeOffset? accessTokenExpiresAt) => new()
    {
        UserId = "user-1",
        ProviderId = "whitebit",
        AccountId = "pending-1",
        Status = LinkStatus.PendingKey,
        CredentialName = "cred-pending-1",
        Scopes = [],
        HasApiKey = false,
        HasRefreshToken = true,
        CredentialVersion = "v1",
        SpendingVersion = "v1",
        SpendStartedAt = marker,
        AccessTokenExpiresAt = accessTokenExpiresAt,
        CreatedAt = marker,
        UpdatedAt = marker,
    };

    private sealed class SameClock(TimeProvider time) : ILeaseClock
    {
        public DateTimeOffset UtcNow => time.GetUtcNow();
    }
}

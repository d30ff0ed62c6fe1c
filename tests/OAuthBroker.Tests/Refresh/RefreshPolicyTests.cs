using Microsoft.Extensions.Options;
using OAuthBroker.Links;
using OAuthBroker.Providers;
using OAuthBroker.Refresh;

namespace OAuthBroker.Tests.Refresh;

/// <summary>Due selection with a pinned clock: margins, the half-life cap, keep-alive, refresh-token expiry, retries.</summary>
public sealed class RefreshPolicyTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);

    private static RefreshPolicy Policy(TimeSpan? providerMargin = null) => new(
        Options.Create(new RefreshOptions { DefaultMargin = TimeSpan.FromMinutes(5), KeepAliveInterval = TimeSpan.FromHours(24), RetryInitialDelay = TimeSpan.FromMinutes(1), RetryMaxDelay = TimeSpan.FromHours(1) }),
        new ProviderCatalog([new FixedProvider(providerMargin)]));

    private static AccountLink Link(TimeSpan? accessLeft, TimeSpan? refreshLeft = null, bool hasRefresh = true, LinkStatus status = LinkStatus.Active) => new()
    {
        UserId = "u",
        ProviderId = "p",
        AccountId = "a",
        Status = status,
        CredentialName = "cred-x",
        Scopes = [],
        HasApiKey = false,
        HasRefreshToken = hasRefresh,
        AccessTokenExpiresAt = Now + accessLeft,
        RefreshTokenExpiresAt = Now + refreshLeft,
        CreatedAt = Now,
        UpdatedAt = Now,
    };

    [Fact]
    public void A_link_is_due_one_margin_before_its_access_token_expires_with_at_most_a_tenth_of_jitter()
    {
        var due = Policy().NextDue(Link(TimeSpan.FromHours(1)), Now)!.Value;
        due.ShouldBeInRange(Now + TimeSpan.FromMinutes(54.5), Now + TimeSpan.FromMinutes(55));
    }

    [Fact]
    public void WhiteBITs_300_s_tokens_with_the_suggested_60_s_margin_are_renewed_after_four_minutes_not_at_half_life()
    {
        // The newest WhiteBIT reading: 300 s access token, 600 s refresh token (refresh-token page). The default margin (5 min)
        // is capped at half the token's life; Providers:whitebit:RefreshMargin = 00:01:00 uses four of its five minutes.
        var issued = Link(TimeSpan.FromSeconds(300), refreshLeft: TimeSpan.FromSeconds(600)) with { LastRefreshAt = Now };
        Policy().NextDue(issued, Now)!.Value.ShouldBeInRange(Now + TimeSpan.FromSeconds(135), Now + TimeSpan.FromSeconds(150));
        Policy(TimeSpan.FromSeconds(60)).NextDue(issued, Now)!.Value.ShouldBeInRange(Now + TimeSpan.FromSeconds(234), Now + TimeSpan.FromSeconds(240));
    }

    [Fact]
    public void A_providers_own_margin_wins_over_the_default()
    {
        var due = Policy(TimeSpan.FromMinutes(30)).NextDue(Link(TimeSpan.FromHours(1)), Now)!.Value;
        due.ShouldBeInRange(Now + TimeSpan.FromMinutes(27), Now + TimeSpan.FromMinutes(30));
    }

    [Fact]
    public void A_token_shorter_than_twice_the_margin_is_refreshed_at_half_its_life()
    {
        // WhiteBIT classic: 300 s tokens against a 5 min margin.
        var due = Policy().NextDue(Link(TimeSpan.FromSeconds(300)), Now)!.Value;
        due.ShouldBeInRange(Now + TimeSpan.FromSeconds(135), Now + TimeSpan.FromSeconds(150));
    }

    [Fact]
    public void Long_lived_tokens_are_still_refreshed_every_keep_alive_interval()
    {
        var due = Policy().NextDue(Link(TimeSpan.FromDays(7)), Now)!.Value;
        due.ShouldBeInRange(Now + TimeSpan.FromHours(23.9), Now + TimeSpan.FromHours(24));
    }

    [Fact]
    public void A_refresh_token_about_to_expire_makes_the_link_due_first()
    {
        var due = Policy().NextDue(Link(TimeSpan.FromHours(12), refreshLeft: TimeSpan.FromHours(1)), Now)!.Value;
        due.ShouldBeInRange(Now + TimeSpan.FromMinutes(54.5), Now + TimeSpan.FromMinutes(55));
    }

    [Fact]
    public void Without_a_refresh_token_the_link_is_looked_at_when_its_access_token_expires()
    {
        Policy().NextDue(Link(TimeSpan.FromHours(4), hasRefresh: false), Now).ShouldBe(Now + TimeSpan.FromHours(4));
    }

    [Theory]
    [InlineData(LinkStatus.ReauthRequired)]
    [InlineData(LinkStatus.Expired)]
    public void Links_that_need_the_user_are_not_scheduled(LinkStatus status)
    {
        Policy().NextDue(Link(TimeSpan.FromHours(1), status: status), Now).ShouldBeNull();
    }

    [Fact]
    public void An_overdue_link_is_due_now()
    {
        Policy().NextDue(Link(TimeSpan.FromMinutes(-10)), Now).ShouldBe(Now);
    }

    [Fact]
    public void Retries_back_off_exponentially_with_jitter_and_honour_a_longer_Retry_After()
    {
        var policy = Policy();
        policy.RetryDelay(1, null).ShouldBeInRange(TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1.2));
        policy.RetryDelay(3, null).ShouldBeInRange(TimeSpan.FromMinutes(4), TimeSpan.FromMinutes(4.8));
        policy.RetryDelay(30, null).ShouldBeInRange(TimeSpan.FromHours(1), TimeSpan.FromHours(1.2));
        policy.RetryDelay(1, TimeSpan.FromMinutes(10)).ShouldBe(TimeSpan.FromMinutes(10));
    }

    [Fact]
    public void A_Retry_After_longer_than_the_longest_retry_delay_is_capped()
    {
        // An HTTP date far ahead, or a provider asking for a day, must not park a link past its keep-alive.
        Policy().RetryDelay(1, TimeSpan.FromHours(10)).ShouldBeLessThanOrEqualTo(TimeSpan.FromHours(1.2));
    }

    [Fact]
    public void A_retry_never_lands_after_the_refresh_token_expires()
    {
        // WhiteBIT classic: a 600 s refresh token; after failures the backoff would run past it.
        var link = Link(TimeSpan.FromSeconds(120), refreshLeft: TimeSpan.FromSeconds(400));
        var at = Policy().RetryAt(link, Now, TimeSpan.FromMinutes(30));
        at.ShouldBeLessThan(link.RefreshTokenExpiresAt!.Value);
        at.ShouldBeGreaterThanOrEqualTo(Now);
        Policy().RetryAt(Link(TimeSpan.FromHours(1)), Now, TimeSpan.FromMinutes(2)).ShouldBe(Now + TimeSpan.FromMinutes(2));
    }

    [Fact]
    public void A_refresh_token_expiry_the_last_refresh_could_not_move_is_no_reason_to_refresh_again()
    {
        var link = Link(TimeSpan.FromHours(12), refreshLeft: TimeSpan.FromMinutes(3)) with { LastRefreshAt = Now };
        Policy().NextDue(link, Now, refreshTokenExpiryMovable: false)!.Value.ShouldBeGreaterThan(Now + TimeSpan.FromHours(11));
        // And never sooner than the least interval after the last refresh.
        Policy().NextDue(link, Now)!.Value.ShouldBeGreaterThanOrEqualTo(Now + TimeSpan.FromMinutes(1));
    }

    [Fact]
    public void Expiring_means_within_the_margin()
    {
        // Tokens issued an hour ago: the full margin applies.
        Policy().IsExpiring(Link(TimeSpan.FromMinutes(4)) with { LastRefreshAt = Now.AddHours(-1) }, Now).ShouldBeTrue();
        Policy().IsExpiring(Link(TimeSpan.FromMinutes(6)) with { LastRefreshAt = Now.AddHours(-1) }, Now).ShouldBeFalse();
    }

    private sealed class FixedProvider(TimeSpan? margin) : OAuthProviderBase
    {
        public override ProviderDescriptor Descriptor { get; } = new("p", "P", new ProviderCapabilities(false, true, false, false)) { RefreshMargin = margin };

        public override Task<ProviderResult<Uri>> BuildAuthorizationUrlAsync(AuthorizationRequest request, CancellationToken ct) => throw new NotSupportedException();

        public override Task<ProviderResult<ProviderGrant>> CompleteAuthorizationAsync(AuthorizationCompletion completion, CancellationToken ct) => throw new NotSupportedException();
    }
}

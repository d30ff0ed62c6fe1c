using Microsoft.Extensions.Options;
using OAuthBroker.Credentials;
using OAuthBroker.Links;
using OAuthBroker.Providers;
using OAuthBroker.Refresh;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Refresh;

/// <summary>Backend load must not reach Key Vault's limits, and a refresh anywhere must be seen at once.</summary>
public sealed class CredentialCacheTests
{
    private static readonly DateTimeOffset Version1 = new(2026, 11, 22, 10, 0, 0, TimeSpan.Zero);
    private readonly CountingVault _vault = new();
    private readonly ManualClock _clock = new();

    private CredentialCache Cache(int capacity = 10_000) => new(_vault, Options.Create(new RefreshOptions { VaultCacheDuration = TimeSpan.FromSeconds(30), CredentialCacheCapacity = capacity }), _clock);

    private static AccountLink Link(DateTimeOffset version, string name = "cred-1") => new()
    {
        UserId = "u",
        ProviderId = "p",
        AccountId = "a",
        Status = LinkStatus.Active,
        CredentialName = name,
        Scopes = [],
        HasApiKey = false,
        HasRefreshToken = true,
        CreatedAt = Version1,
        UpdatedAt = Version1,
        CredentialStoredAt = version,
    };

    [Fact]
    public async Task Repeated_reads_of_the_same_version_hit_the_vault_once_until_the_cache_ages_out()
    {
        var cache = Cache();
        _vault.Current = new VaultedCredential("p", new ProviderCredential { AccessToken = "at1" }, Version1);

        for (var i = 0; i < 50; i++)
        {
            (await cache.ReadAsync(Link(Version1), default))!.Credential.AccessToken.ShouldBe("at1");
        }

        _vault.Reads.ShouldBe(1);
        _clock.Advance(TimeSpan.FromSeconds(31));
        await cache.ReadAsync(Link(Version1), default);
        _vault.Reads.ShouldBe(2);
    }

    [Fact]
    public async Task A_link_naming_a_newer_version_bypasses_the_cache()
    {
        var cache = Cache();
        _vault.Current = new VaultedCredential("p", new ProviderCredential { AccessToken = "at1" }, Version1);
        await cache.ReadAsync(Link(Version1), default);

        var version2 = Version1.AddHours(1);
        _vault.Current = new VaultedCredential("p", new ProviderCredential { AccessToken = "at2" }, version2);
        (await cache.ReadAsync(Link(version2), default))!.Credential.AccessToken.ShouldBe("at2");
        _vault.Reads.ShouldBe(2);
    }

    [Fact]
    public async Task The_cache_never_keeps_a_refresh_token()
    {
        var cache = Cache();
        _vault.Current = new VaultedCredential("p", new ProviderCredential { AccessToken = "at1", RefreshToken = "rt1", ApiSecret = "s1" }, Version1);

        var served = (await cache.ReadAsync(Link(Version1), default))!;

        served.Credential.RefreshToken.ShouldBeNull("the refresh token never leaves the broker and is not needed to serve a backend");
        served.Credential.ApiSecret.ShouldBe("s1");
    }

    [Fact]
    public async Task The_cache_is_bounded_and_forgets_an_unlinked_links_credential()
    {
        var cache = Cache(capacity: 3);
        _vault.Current = new VaultedCredential("p", new ProviderCredential { AccessToken = "at1" }, Version1);
        for (var i = 0; i < 10; i++)
        {
            await cache.ReadAsync(Link(Version1, "cred-" + i), default);
        }

        cache.Count.ShouldBeLessThanOrEqualTo(3);
        cache.Forget("cred-9");
        var reads = _vault.Reads;
        await cache.ReadAsync(Link(Version1, "cred-9"), default);
        _vault.Reads.ShouldBe(reads + 1, "a forgotten credential is read from the vault again");
    }

    private sealed class CountingVault : ICredentialVault
    {
        public VaultedCredential? Current { get; set; }
        public int Reads { get; private set; }

        public Task<string> WriteAsync(string name, VaultedCredential credential, CancellationToken ct) => throw new NotSupportedException();

        public Task<VaultedCredential?> ReadAsync(string name, CancellationToken ct)
        {
            Reads++;
            return Task.FromResult(Current);
        }

        public Task<VaultedCredential?> ReadVersionAsync(string name, string version, CancellationToken ct) => ReadAsync(name, ct);

        public Task<CredentialErasure> DeleteAsync(string name, CancellationToken ct) => throw new NotSupportedException();

        public Task<VaultListing> ListAsync(string? continuation, CancellationToken ct) => throw new NotSupportedException();
    }
}

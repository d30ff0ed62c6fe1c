using System.Net;
using Azure.Core.Pipeline;
using Azure.Security.KeyVault.Secrets;
using OAuthBroker.Credentials;
using OAuthBroker.Errors;
using OAuthBroker.LocalKeyVault;
using OAuthBroker.Providers;
using OAuthBroker.Storage.Vault;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Vault;

/// <summary>The vault through the real SecretClient against the local Key Vault endpoint over HTTPS.</summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class KeyVaultCredentialVaultTests(BrokerEnvironmentFixture fixture)
{
    private static readonly ProviderCredential Credential = new()
    {
        AccessToken = "at-" + Guid.NewGuid(),
        RefreshToken = "rt-" + Guid.NewGuid(),
        ApiKey = "key",
        ApiSecret = "secret-" + Guid.NewGuid(),
        AccessTokenExpiresAt = DateTimeOffset.UtcNow.AddHours(1),
    };

    private KeyVaultCredentialVault Vault => new(fixture.SecretClient);

    [Fact]
    public async Task A_credential_round_trips_and_a_deleted_one_reads_as_absent()
    {
        var name = CredentialNames.New();
        var version = await Vault.WriteAsync(name, new VaultedCredential("bybit", Credential, DateTimeOffset.UtcNow), default);

        var read = await Vault.ReadAsync(name, default);
        read!.Credential.ShouldBe(Credential);
        read.ProviderId.ShouldBe("bybit");
        read.Version.ShouldBe(version);
        (await Vault.ReadVersionAsync(name, version, default))!.Credential.ShouldBe(Credential);
        var newer = await Vault.WriteAsync(name, new VaultedCredential("bybit", Credential with { AccessToken = "at-2" }, DateTimeOffset.UtcNow), default);
        newer.ShouldNotBe(version);
        (await Vault.ReadVersionAsync(name, version, default))!.Credential.AccessToken.ShouldBe(Credential.AccessToken, "an earlier version stays readable by its id");

        await Vault.DeleteAsync(name, default);
        await Vault.DeleteAsync(name, default); // idempotent
        (await Vault.ReadAsync(name, default)).ShouldBeNull();
        (await Vault.ReadAsync(CredentialNames.New(), default)).ShouldBeNull();
    }

    [Fact]
    public async Task A_soft_deleted_name_cannot_be_written_again_which_is_why_names_are_never_reused()
    {
        var name = CredentialNames.New();
        await Vault.WriteAsync(name, new VaultedCredential("bybit", Credential, DateTimeOffset.UtcNow), default);
        // Soft-deleted, not purged (purge protection, or no purge permission): the name stays blocked.
        await fixture.SecretClient.StartDeleteSecretAsync(name);

        var conflict = await Should.ThrowAsync<VaultUnavailableException>(() => Vault.WriteAsync(name, new VaultedCredential("bybit", Credential, DateTimeOffset.UtcNow), default));
        conflict.Failure.ShouldBe(VaultFailure.NameDeleted);
        Enumerable.Range(0, 1000).Select(_ => CredentialNames.New()).Distinct().Count().ShouldBe(1000);
    }

    [Fact]
    public void Secret_names_fit_Key_Vault_and_carry_no_personal_data()
    {
        var name = CredentialNames.New();
        name.ShouldMatch("^cred-[0-9a-f]{32}$");
        CredentialNames.IsValid(name).ShouldBeTrue();
        CredentialNames.IsValid("cred_with_underscore").ShouldBeFalse();
        CredentialNames.IsValid(new string('a', 128)).ShouldBeFalse();
    }

    [Fact]
    public async Task The_endpoint_challenges_unauthenticated_requests_like_Key_Vault()
    {
        using var handler = new HttpClientHandler { ServerCertificateCustomValidationCallback = HttpClientHandler.DangerousAcceptAnyServerCertificateValidator };
        using var http = new HttpClient(handler);
        using var response = await http.GetAsync(new Uri(fixture.Environment.KeyVault.VaultUri, "secrets/anything?api-version=7.6"));

        response.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        response.Headers.WwwAuthenticate.ToString().ShouldStartWith("Bearer authorization=");
        response.Headers.WwwAuthenticate.ToString().ShouldContain("resource=\"https://vault.azure.net\"");
    }

    [Fact]
    public async Task A_client_that_does_not_pin_the_local_certificate_cannot_connect()
    {
        var unpinned = new SecretClient(fixture.Environment.KeyVault.VaultUri, new LocalVaultCredential(fixture.VaultAccessToken),
            new SecretClientOptions { DisableChallengeResourceVerification = true, Retry = { MaxRetries = 0 } });

        await Should.ThrowAsync<Exception>(() => unpinned.GetSecretAsync("anything"));
    }

    [Fact]
    public async Task A_throttled_vault_is_VaultUnavailable_and_nothing_is_half_written()
    {
        var directory = Path.Combine(Path.GetTempPath(), "oauth-broker-tests", Guid.NewGuid().ToString("N"));
        await using var throttled = await LocalKeyVaultApp.StartAsync(new LocalKeyVaultSettings
        {
            Port = OAuthBroker.LocalEnvironment.FreePort.Next(),
            AccessToken = fixture.VaultAccessToken,
            CertificateDirectory = directory,
            WritesPer10Seconds = 1,
        });
        var pinned = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(File.ReadAllText(throttled.CertificatePath));
        var client = new SecretClient(throttled.VaultUri, new LocalVaultCredential(fixture.VaultAccessToken), new SecretClientOptions
        {
            DisableChallengeResourceVerification = true,
            Retry = { MaxRetries = 0 },
            Transport = new HttpClientTransport(new HttpClientHandler
            {
                ServerCertificateCustomValidationCallback = (_, certificate, _, _) => certificate!.RawDataMemory.Span.SequenceEqual(pinned.RawDataMemory.Span),
            }),
        });
        var vault = new KeyVaultCredentialVault(client);

        await vault.WriteAsync(CredentialNames.New(), new VaultedCredential("bybit", Credential, DateTimeOffset.UtcNow), default);
        var second = CredentialNames.New();
        await Should.ThrowAsync<VaultUnavailableException>(() => vault.WriteAsync(second, new VaultedCredential("bybit", Credential, DateTimeOffset.UtcNow), default));

        (await vault.ReadAsync(second, default)).ShouldBeNull();
        throttled.Store.ActiveCount.ShouldBe(1);
    }

    [Theory]
    [InlineData(400)]
    [InlineData(413)]
    public async Task A_credential_over_25_KB_is_refused_as_too_large_in_either_reading(int status)
    {
        fixture.Environment.KeyVault.RefuseOversizeWith(status);
        try
        {
            var huge = Credential with { AccessToken = new string('a', 26 * 1024) };
            var refused = await Should.ThrowAsync<VaultUnavailableException>(() => Vault.WriteAsync(CredentialNames.New(), new VaultedCredential("bybit", huge, DateTimeOffset.UtcNow), default));
            refused.Failure.ShouldBe(VaultFailure.TooLarge);
        }
        finally
        {
            fixture.Environment.KeyVault.RefuseOversizeWith(400);
        }
    }

    [Theory]
    [InlineData(WriteFault.Forbidden, VaultFailure.WritesForbidden)]
    [InlineData(WriteFault.Throttled, VaultFailure.Throttled)]
    [InlineData(WriteFault.ReadOnlyForbidden, VaultFailure.WritesForbidden)]
    [InlineData(WriteFault.ReadOnlyUnavailable, VaultFailure.Unavailable)]
    public async Task A_vault_that_refuses_writes_still_reads_and_says_why_it_refused(WriteFault fault, VaultFailure expected)
    {
        var name = CredentialNames.New();
        await Vault.WriteAsync(name, new VaultedCredential("bybit", Credential, DateTimeOffset.UtcNow), default);
        fixture.Environment.KeyVault.FailWrites(fault);
        try
        {
            (await Vault.ReadAsync(name, default)).ShouldNotBeNull();
            var refused = await Should.ThrowAsync<VaultUnavailableException>(() => Vault.WriteAsync(name, new VaultedCredential("bybit", Credential, DateTimeOffset.UtcNow), default));
            refused.Failure.ShouldBe(expected);
            refused.Failure.AffectsWholeVault().ShouldBeTrue();
        }
        finally
        {
            fixture.Environment.KeyVault.FailWrites(WriteFault.None);
        }
    }

    [Fact]
    public async Task A_Retry_After_longer_than_the_cap_is_not_waited_for()
    {
        // The broker's client: KeyVault:RetryAfterCap (4 s) against a vault asking for 30 s (the reading with a header).
        fixture.Environment.KeyVault.ThrottleRetryAfter = TimeSpan.FromSeconds(30);
        fixture.Environment.KeyVault.FailWrites(WriteFault.Throttled);
        var refusedBefore = fixture.Environment.KeyVault.RefusedWrites;
        try
        {
            var refused = await Should.ThrowAsync<VaultUnavailableException>(() => Vault.WriteAsync(CredentialNames.New(), new VaultedCredential("bybit", Credential, DateTimeOffset.UtcNow), default));
            refused.Failure.ShouldBe(VaultFailure.Throttled);
        }
        finally
        {
            fixture.Environment.KeyVault.FailWrites(WriteFault.None);
            fixture.Environment.KeyVault.ThrottleRetryAfter = null;
        }

        (fixture.Environment.KeyVault.RefusedWrites - refusedBefore).ShouldBe(1, "not retried: the 30 s asked for are not waited");
    }

    [Fact]
    public async Task A_throttled_write_without_Retry_After_is_tried_again_after_a_backoff()
    {
        // The reading the throttling guidance documents: a bare 429. Azure.Core then backs off exponentially
        // (KeyVault:RetryDelay, 1 s) and tries again, by when the vault takes writes again.
        fixture.Environment.KeyVault.FailWrites(WriteFault.Throttled);
        var refusedBefore = fixture.Environment.KeyVault.RefusedWrites;
        var name = CredentialNames.New();
        Task<string> write;
        try
        {
            write = Vault.WriteAsync(name, new VaultedCredential("bybit", Credential, DateTimeOffset.UtcNow), default);
            for (var i = 0; i < 200 && fixture.Environment.KeyVault.RefusedWrites == refusedBefore; i++)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(10));
            }
        }
        finally
        {
            fixture.Environment.KeyVault.FailWrites(WriteFault.None);
        }

        var version = await write;
        (fixture.Environment.KeyVault.RefusedWrites - refusedBefore).ShouldBe(1, "one attempt refused, the next after the backoff taken");
        (await Vault.ReadVersionAsync(name, version, default))!.Credential.ShouldBe(Credential);
    }

    [Fact]
    public async Task Throttling_that_outlasts_the_retries_fails_as_throttled_in_either_reading()
    {
        foreach (var retryAfter in new TimeSpan?[] { null, TimeSpan.FromSeconds(1) })
        {
            fixture.Environment.KeyVault.ThrottleRetryAfter = retryAfter;
            fixture.Environment.KeyVault.FailWrites(WriteFault.Throttled);
            var refusedBefore = fixture.Environment.KeyVault.RefusedWrites;
            try
            {
                var refused = await Should.ThrowAsync<VaultUnavailableException>(() => Vault.WriteAsync(CredentialNames.New(), new VaultedCredential("bybit", Credential, DateTimeOffset.UtcNow), default));
                refused.Failure.ShouldBe(VaultFailure.Throttled);
            }
            finally
            {
                fixture.Environment.KeyVault.FailWrites(WriteFault.None);
                fixture.Environment.KeyVault.ThrottleRetryAfter = null;
            }

            (fixture.Environment.KeyVault.RefusedWrites - refusedBefore).ShouldBe(3, $"KeyVault:MaxRetries (2) retries after the first attempt (Retry-After: {retryAfter?.ToString() ?? "none"})");
        }
    }

    [Fact]
    public async Task Secrets_carry_their_links_reference_and_grant_and_are_listed_page_by_page_without_values()
    {
        var names = new List<string>();
        for (var i = 0; i < 30; i++)
        {
            var name = CredentialNames.New();
            names.Add(name);
            await Vault.WriteAsync(name, new VaultedCredential("bybit", Credential, DateTimeOffset.UtcNow) { Link = "pk/rk" + i, GrantId = "g" + i }, default);
        }

        var seen = new Dictionary<string, VaultEntry>();
        string? continuation = null;
        var pages = 0;
        do
        {
            var page = await Vault.ListAsync(continuation, default);
            page.Entries.Count.ShouldBeLessThanOrEqualTo(25);
            foreach (var entry in page.Entries)
            {
                seen[entry.Name] = entry;
            }

            continuation = page.Continuation;
            pages++;
        }
        while (continuation is not null);

        pages.ShouldBeGreaterThan(1);
        foreach (var (name, i) in names.Select((n, i) => (n, i)))
        {
            seen[name].Link.ShouldBe("pk/rk" + i);
            seen[name].GrantId.ShouldBe("g" + i);
            seen[name].ProviderId.ShouldBe("bybit");
        }
    }

    [Fact]
    public void Vaulted_credentials_never_print_their_secrets()
    {
        var vaulted = new VaultedCredential("bybit", Credential, DateTimeOffset.UtcNow);
        foreach (var text in new[] { vaulted.ToString(), Credential.ToString(), new ProviderGrant("1", null, Credential, []).ToString() })
        {
            text.ShouldNotContain(Credential.AccessToken);
            text.ShouldNotContain(Credential.RefreshToken!);
            text.ShouldNotContain(Credential.ApiSecret!);
        }
    }
}

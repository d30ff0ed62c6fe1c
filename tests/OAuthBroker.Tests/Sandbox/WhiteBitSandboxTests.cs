using System.Net;
using System.Text.Json;
using OAuthBroker.Sandbox;
using OAuthBroker.Sandbox.WhiteBit;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Sandbox;

/// <summary>
/// The WhiteBIT sandbox against WhiteBIT's texts (openapi/oauth2.yaml — the api-reference pages get-access-token,
/// refresh-token, api-key-info, api-key-secret, api-key-delete —, guides/fast-api-key-via-oauth and
/// guides/fast-api-key-integration), each switch in both readings. Without the broker: a sandbox that imitates the
/// adapter instead of the documents would let a wrong adapter pass.
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class WhiteBitSandboxTests(BrokerEnvironmentFixture fixture) : IDisposable
{
    private const string Client = "sandbox-whitebit-client";
    private readonly SandboxHttp _sandbox = new(fixture);

    private WhiteBitSandboxOptions WhiteBit => fixture.SandboxOptions.WhiteBit;

    public void Dispose()
    {
        // Direct refreshes here must not count against the broker's next refresh in another test.
        fixture.Sandbox<WhiteBitSandboxEndpoints.State>().LastRefreshByAddress.Clear();
        _sandbox.Dispose();
    }

    /// <summary>Fast API Key flow by hand: authorize with PKCE, consent as <paramref name="account"/>, exchange.</summary>
    private async Task<JsonElement> FastGrantAsync(string account)
    {
        var (verifier, challenge) = SandboxHttp.Pkce();
        var redirect = _sandbox.BrokerCallback("whitebit").AbsoluteUri;
        using var consent = await _sandbox.ConsentAsync($"whitebit/auth/login?clientId={Client}&redirect_uri={Uri.EscapeDataString(redirect)}&state=s&code_challenge={challenge}&code_challenge_method=S256", account);
        consent.StatusCode.ShouldBe(HttpStatusCode.Redirect);
        using var token = await _sandbox.PostFormAsync("whitebit/oauth2/token", new()
        {
            ["client_id"] = Client,
            ["client_secret"] = fixture.WhiteBitClientSecret,
            ["code"] = _sandbox.CodeOf(consent),
            ["code_verifier"] = verifier,
        });
        token.StatusCode.ShouldBe(HttpStatusCode.OK);
        return (await _sandbox.JsonAsync(token)).GetProperty("data");
    }

    private async Task<HttpResponseMessage> RefreshAsync(string refreshToken) =>
        await _sandbox.PostFormAsync("whitebit/oauth2/refresh_token", new() { ["client_id"] = Client, ["client_secret"] = fixture.WhiteBitClientSecret, ["token"] = refreshToken });

    private async Task<JsonElement> InfoAsync(string accessToken)
    {
        using var info = await _sandbox.GetAsync("whitebit/oauth2/api-key/info", accessToken);
        info.StatusCode.ShouldBe(HttpStatusCode.OK);
        return (await _sandbox.JsonAsync(info)).GetProperty("data");
    }

    private static string Account() => "wbt" + Guid.NewGuid().ToString("N")[..10];

    [Fact]
    public async Task The_newest_reading_issues_a_300_second_token_with_a_refresh_token_and_the_older_a_4_hour_one_without()
    {
        using (SandboxSwitch.Set(WhiteBit, o => o.FastTokens = FastTokenReading.ShortLivedWithRefresh))
        {
            var tokens = await FastGrantAsync(Account());
            tokens.GetProperty("expires_in").GetInt64().ShouldBe(300);
            tokens.GetProperty("refresh_token").GetString().ShouldNotBeNullOrEmpty();
            // fast-api-key-integration 0.4: "apikeys.create, apikeys.read, and apikeys.delete"; get-access-token: comma-separated.
            tokens.GetProperty("scope").GetString().ShouldBe("apikeys.create,apikeys.read,apikeys.delete");
        }

        using (SandboxSwitch.Set(WhiteBit, o => o.FastTokens = FastTokenReading.FourHoursNoRefresh))
        {
            var tokens = await FastGrantAsync(Account());
            tokens.GetProperty("expires_in").GetInt64().ShouldBe(14400);
            tokens.TryGetProperty("refresh_token", out _).ShouldBeFalse();
        }
    }

    [Fact]
    public async Task A_refresh_token_rotates_and_expires_after_its_documented_life()
    {
        using var reading = SandboxSwitch.Set(WhiteBit, o => { o.FastTokens = FastTokenReading.ShortLivedWithRefresh; o.RefreshRateLimitWindow = TimeSpan.Zero; });
        var first = (await FastGrantAsync(Account())).GetProperty("refresh_token").GetString()!;
        using var rotated = await RefreshAsync(first);
        var second = (await _sandbox.JsonAsync(rotated)).GetProperty("data").GetProperty("refresh_token").GetString()!;
        second.ShouldNotBe(first, "refresh-token: \"New refresh token\"");

        // refresh-token: "Refresh token duration is 600 seconds" — with a zero lifetime every refresh token is already expired.
        using var expiring = SandboxSwitch.Set(WhiteBit, o => o.RefreshTokenLifetime = TimeSpan.Zero);
        var stale = (await FastGrantAsync(Account())).GetProperty("refresh_token").GetString()!;
        using var refused = await RefreshAsync(stale);
        refused.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await refused.Content.ReadAsStringAsync()).ShouldContain("Invalid token.");
    }

    [Theory]
    // WhiteBIT documents only the rotation; whether the old token keeps working is the switch.
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_rotated_away_refresh_token_is_refused_and_ends_the_grant_only_in_the_replay_reading(bool revokesGrant)
    {
        using var reading = SandboxSwitch.Set(WhiteBit, o => { o.FastTokens = FastTokenReading.ShortLivedWithRefresh; o.ReusedRefreshTokenRevokesGrant = revokesGrant; o.RefreshRateLimitWindow = TimeSpan.Zero; });
        var first = (await FastGrantAsync(Account())).GetProperty("refresh_token").GetString()!;
        using var rotated = await RefreshAsync(first);
        var second = (await _sandbox.JsonAsync(rotated)).GetProperty("data").GetProperty("refresh_token").GetString()!;

        using (var replay = await RefreshAsync(first))
        {
            replay.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        }

        using var current = await RefreshAsync(second);
        current.StatusCode.ShouldBe(revokesGrant ? HttpStatusCode.BadRequest : HttpStatusCode.OK);
        await _sandbox.JsonAsync(current);
    }

    [Fact]
    public async Task The_refresh_endpoint_answers_429_to_a_second_request_within_its_window()
    {
        // refresh-token: "Rate limit: 1 request per second" (the window is widened so no machine is too slow for it).
        using var reading = SandboxSwitch.Set(WhiteBit, o => { o.FastTokens = FastTokenReading.ShortLivedWithRefresh; o.RefreshRateLimitWindow = TimeSpan.Zero; });
        var refreshToken = (await FastGrantAsync(Account())).GetProperty("refresh_token").GetString()!;
        using var first = await RefreshAsync(refreshToken);
        var rotated = (await _sandbox.JsonAsync(first)).GetProperty("data").GetProperty("refresh_token").GetString()!;
        WhiteBit.RefreshRateLimitWindow = TimeSpan.FromHours(1);

        using var second = await RefreshAsync(rotated);

        first.StatusCode.ShouldBe(HttpStatusCode.OK);
        second.StatusCode.ShouldBe((HttpStatusCode)429);
    }

    [Fact]
    public async Task After_the_exchange_the_key_appears_only_once_the_user_created_it_and_absence_has_no_permissions()
    {
        // fast-api-key-integration 0.6; api-key-info: permissions "Empty array when exists is false".
        using var reading = SandboxSwitch.Set(WhiteBit, o => { o.KeyCreation = KeyCreationReading.AfterExchange; o.KeyCreatedAfter = TimeSpan.FromMinutes(5); });
        var before = await InfoAsync((await FastGrantAsync(Account())).GetProperty("access_token").GetString()!);
        before.GetProperty("exists").GetBoolean().ShouldBeFalse();
        before.GetProperty("permissions").GetArrayLength().ShouldBe(0);
        before.GetProperty("externalId").ValueKind.ShouldBe(JsonValueKind.Null);

        WhiteBit.KeyCreatedAfter = TimeSpan.Zero;
        var after = await InfoAsync((await FastGrantAsync(Account())).GetProperty("access_token").GetString()!);
        after.GetProperty("exists").GetBoolean().ShouldBeTrue();
        after.GetProperty("isEnabled").GetBoolean().ShouldBeTrue();
        after.GetProperty("permissions").GetArrayLength().ShouldBeGreaterThan(0);
    }

    [Fact]
    public async Task During_consent_the_key_exists_before_the_exchange_and_shows_after_a_few_polls()
    {
        // fast-api-key-via-oauth: "the WhiteBIT frontend creates the key as part of the consent flow, so the value appears shortly after".
        using var reading = SandboxSwitch.Set(WhiteBit, o => { o.KeyCreation = KeyCreationReading.DuringConsent; o.KeyReadyAfterPolls = 2; });
        var access = (await FastGrantAsync(Account())).GetProperty("access_token").GetString()!;

        (await InfoAsync(access)).GetProperty("exists").GetBoolean().ShouldBeFalse();
        (await InfoAsync(access)).GetProperty("exists").GetBoolean().ShouldBeTrue();
    }

    [Fact]
    public async Task One_active_key_per_user_and_partner_the_gate_blocks_a_second_consent()
    {
        using var reading = SandboxSwitch.Set(WhiteBit, o => { o.KeyCreation = KeyCreationReading.DuringConsent; o.KeyReadyAfterPolls = 1; o.ExistingActiveKey = ExistingKeyReading.GateBlocks; });
        var account = Account();
        await FastGrantAsync(account);

        var (_, challenge) = SandboxHttp.Pkce();
        var redirect = Uri.EscapeDataString(_sandbox.BrokerCallback("whitebit").AbsoluteUri);
        using var blocked = await _sandbox.ConsentAsync($"whitebit/auth/login?clientId={Client}&redirect_uri={redirect}&state=s&code_challenge={challenge}&code_challenge_method=S256", account);

        blocked.StatusCode.ShouldBe(HttpStatusCode.OK, "0.3: no authorization code is issued and the partner receives no callback");
        fixture.Sandbox<WhiteBitSandboxEndpoints.State>().KeysById.Values.Count(k => k.Account == account).ShouldBe(1);
    }

    [Fact]
    public async Task One_active_key_per_user_and_partner_the_older_consent_redirects_and_info_shows_the_existing_key()
    {
        using var reading = SandboxSwitch.Set(WhiteBit, o => { o.KeyCreation = KeyCreationReading.DuringConsent; o.KeyReadyAfterPolls = 1; o.ExistingActiveKey = ExistingKeyReading.ConsentRedirects; });
        var account = Account();
        var firstInfo = await InfoAsync((await FastGrantAsync(account)).GetProperty("access_token").GetString()!);
        var existing = firstInfo.GetProperty("externalId").GetString()!;
        var firstAccess = (await FastGrantAsync(account)).GetProperty("access_token").GetString()!;

        var secondInfo = await InfoAsync(firstAccess);

        secondInfo.GetProperty("externalId").GetString().ShouldBe(existing, "partner_key_active_exists: no second key is created");
        fixture.Sandbox<WhiteBitSandboxEndpoints.State>().KeysById.Values.Count(k => k.Account == account).ShouldBe(1);
    }

    [Fact]
    public async Task The_secret_comes_once_with_no_store_and_never_for_another_users_token()
    {
        using var reading = SandboxSwitch.Set(WhiteBit, o => { o.KeyCreation = KeyCreationReading.AfterExchange; o.KeyCreatedAfter = TimeSpan.Zero; });
        var access = (await FastGrantAsync(Account())).GetProperty("access_token").GetString()!;
        var externalId = (await InfoAsync(access)).GetProperty("externalId").GetString()!;
        var otherUser = (await FastGrantAsync(Account())).GetProperty("access_token").GetString()!;

        // fast-api-key-integration, Error handling 404: "or the key is not owned by the user the token identifies".
        using (var foreign = await _sandbox.GetAsync($"whitebit/oauth2/api-key/{externalId}/secret", otherUser))
        {
            foreign.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        }

        using (var foreignDelete = await _sandbox.DeleteAsync($"whitebit/oauth2/api-key/{externalId}", otherUser))
        {
            foreignDelete.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        }

        using (var secret = await _sandbox.GetAsync($"whitebit/oauth2/api-key/{externalId}/secret", access))
        {
            secret.StatusCode.ShouldBe(HttpStatusCode.OK);
            secret.Headers.CacheControl!.NoStore.ShouldBeTrue("api-key-secret: Cache-Control \"Always no-store\"");
        }

        using var again = await _sandbox.GetAsync($"whitebit/oauth2/api-key/{externalId}/secret", access);
        again.StatusCode.ShouldBe(HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task A_held_lock_answers_423_and_a_disabled_key_cannot_be_deleted_by_the_partner()
    {
        using var reading = SandboxSwitch.Set(WhiteBit, o => { o.KeyCreation = KeyCreationReading.AfterExchange; o.KeyCreatedAfter = TimeSpan.Zero; o.SecretLockedFor = TimeSpan.FromMinutes(1); o.DisabledKeyDeleteStatus = 422; });
        var access = (await FastGrantAsync(Account())).GetProperty("access_token").GetString()!;
        var externalId = (await InfoAsync(access)).GetProperty("externalId").GetString()!;

        using (var locked = await _sandbox.GetAsync($"whitebit/oauth2/api-key/{externalId}/secret", access))
        {
            locked.StatusCode.ShouldBe((HttpStatusCode)423);
            locked.Headers.RetryAfter.ShouldBeNull("api-key-secret 423 comes without Retry-After");
        }

        fixture.Sandbox<WhiteBitSandboxEndpoints.State>().KeysById[externalId].Enabled = false;
        using var delete = await _sandbox.DeleteAsync($"whitebit/oauth2/api-key/{externalId}", access);
        ((int)delete.StatusCode).ShouldBe(422, "api-key-delete: \"disabled keys must be removed by the user from the WhiteBIT dashboard\"");
    }

    [Fact]
    public async Task A_client_registered_for_the_Fast_flow_refuses_an_authorize_request_without_PKCE()
    {
        // fast-api-key-integration, Security checklist: "Use Authorization Code with PKCE (S256) on every authorization request".
        var client = WhiteBit.Clients.First(c => c.ClientId == Client);
        using var reading = SandboxSwitch.Set(client, c => c.WhiteBitFlow = WhiteBitClientFlow.FastApiKey);
        var redirect = Uri.EscapeDataString(_sandbox.BrokerCallback("whitebit").AbsoluteUri);

        using var page = await _sandbox.GetAsync($"whitebit/auth/login?clientId={Client}&redirect_uri={redirect}&state=s");

        page.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
    }
}

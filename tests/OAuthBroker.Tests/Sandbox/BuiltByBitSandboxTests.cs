using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using OAuthBroker.Sandbox;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Sandbox;

/// <summary>
/// The BuiltByBit sandbox against BuiltByBit's texts (https://builtbybit.com/wiki/oauth2/; spec.yaml /oauth2/token,
/// /oauth2/token/revoke, components.responses.Error; the wrappers' Oauth2Api docs and rate-limit handling), each switch
/// in both readings.
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class BuiltByBitSandboxTests(BrokerEnvironmentFixture fixture) : IDisposable
{
    private readonly SandboxHttp _sandbox = new(fixture);

    private BuiltByBitSandboxOptions BuiltByBit => fixture.SandboxOptions.BuiltByBit;

    public void Dispose() => _sandbox.Dispose();

    private string ClientId => BuiltByBit.Clients[0].ClientId;

    private AuthenticationHeaderValue Raw() => new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(ClientId + ":" + fixture.BuiltByBitClientSecret)));

    private AuthenticationHeaderValue FormEncoded() => new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(
        WebUtility.UrlEncode(ClientId) + ":" + WebUtility.UrlEncode(fixture.BuiltByBitClientSecret))));

    private async Task<string> CodeAsync(string scope = "members.self")
    {
        var redirect = Uri.EscapeDataString(_sandbox.BrokerCallback("builtbybit").AbsoluteUri);
        using var consent = await _sandbox.ConsentAsync($"builtbybit/account/external/authorize?client_id={Uri.EscapeDataString(ClientId)}&response_type=code&redirect_uri={redirect}&scope={Uri.EscapeDataString(scope)}&state=s", "4242");
        return _sandbox.CodeOf(consent);
    }

    private async Task<HttpResponseMessage> TokenAsync(Dictionary<string, string> form, AuthenticationHeaderValue? basic = null) =>
        await _sandbox.PostFormAsync("builtbybit/oauth2/token", form, r => r.Headers.Authorization = basic ?? Raw());

    private async Task<JsonElement> GrantAsync()
    {
        using var token = await TokenAsync(new() { ["grant_type"] = "authorization_code", ["code"] = await CodeAsync() });
        token.StatusCode.ShouldBe(HttpStatusCode.OK);
        return await _sandbox.JsonAsync(token);
    }

    [Fact]
    public async Task The_Basic_header_is_read_as_switched_raw_form_encoded_or_either()
    {
        // The fixture's secret has '/' and '+': the raw and the RFC 6749 §2.3.1 encodings differ.
        (await TokenAsync(new() { ["grant_type"] = "authorization_code", ["code"] = await CodeAsync() }, FormEncoded())).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);

        using (SandboxSwitch.Set(BuiltByBit, o => o.BasicEncoding = BasicEncoding.FormEncoded))
        {
            using var formEncoded = await TokenAsync(new() { ["grant_type"] = "authorization_code", ["code"] = await CodeAsync() }, FormEncoded());
            formEncoded.StatusCode.ShouldBe(HttpStatusCode.OK);
            await _sandbox.JsonAsync(formEncoded);
            (await TokenAsync(new() { ["grant_type"] = "authorization_code", ["code"] = await CodeAsync() }, Raw())).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        }

        using (SandboxSwitch.Set(BuiltByBit, o => o.BasicEncoding = BasicEncoding.Either))
        {
            using var either = await TokenAsync(new() { ["grant_type"] = "authorization_code", ["code"] = await CodeAsync() }, FormEncoded());
            either.StatusCode.ShouldBe(HttpStatusCode.OK);
            await _sandbox.JsonAsync(either);
        }
    }

    [Fact]
    public async Task Revocation_answers_the_documented_boolean_true_or_false()
    {
        var tokens = await GrantAsync();
        var access = tokens.GetProperty("access_token").GetString()!;
        using (SandboxSwitch.Set(BuiltByBit, o => o.RevokeAnswer = RevokeAnswer.NotRevoked))
        {
            using var refused = await _sandbox.PostFormAsync("builtbybit/oauth2/token/revoke", new() { ["token"] = access, ["token_hint"] = "access_token" }, r => r.Headers.Authorization = Raw());
            (await _sandbox.JsonAsync(refused)).GetProperty("revoked").GetBoolean().ShouldBeFalse();
            (await _sandbox.GetAsync("builtbybit/v2/members/self", access)).StatusCode.ShouldBe(HttpStatusCode.OK, "nothing was revoked");
        }

        using var revoked = await _sandbox.PostFormAsync("builtbybit/oauth2/token/revoke", new() { ["token"] = access, ["token_hint"] = "access_token" }, r => r.Headers.Authorization = Raw());
        (await _sandbox.JsonAsync(revoked)).GetProperty("revoked").GetBoolean().ShouldBeTrue();
        (await _sandbox.GetAsync("builtbybit/v2/members/self", access)).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task A_disabled_API_token_gets_403_in_the_error_envelope_on_token_and_revoke()
    {
        var code = await CodeAsync();
        using var reading = SandboxSwitch.Set(BuiltByBit, o => o.ApiTokenDisabled = true);

        using var token = await TokenAsync(new() { ["grant_type"] = "authorization_code", ["code"] = code });
        using var revoke = await _sandbox.PostFormAsync("builtbybit/oauth2/token/revoke", new() { ["token"] = "x" }, r => r.Headers.Authorization = Raw());

        foreach (var response in new[] { token, revoke })
        {
            response.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
            (await _sandbox.JsonAsync(response)).GetProperty("result").GetString().ShouldBe("error");
        }
    }

    [Theory]
    // The wait is what remains of the window that request opened: the whole minute, in the switched unit.
    [InlineData(RetryAfterUnit.Milliseconds, "60000")]
    [InlineData(RetryAfterUnit.Seconds, "60")]
    public async Task Rate_limits_answer_429_with_Retry_After_in_the_switched_unit(RetryAfterUnit unit, string expected)
    {
        var access = (await GrantAsync()).GetProperty("access_token").GetString()!;
        fixture.Sandbox<OAuthBroker.Sandbox.BuiltByBit.BuiltByBitRateLimits>().Reset();
        using var reading = SandboxSwitch.Set(BuiltByBit, o => { o.ReadRequestsPerMinute = 0; o.RetryAfterUnit = unit; });

        using var limited = await _sandbox.GetAsync("builtbybit/v2/members/self", access);

        limited.StatusCode.ShouldBe((HttpStatusCode)429);
        limited.Headers.GetValues("Retry-After").Single().ShouldBe(expected);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Refresh_rotates_or_returns_the_same_token_as_switched(bool rotate)
    {
        using var reading = SandboxSwitch.Set(BuiltByBit, o => o.RotateRefreshTokens = rotate);
        var first = (await GrantAsync()).GetProperty("refresh_token").GetString()!;

        using var refreshed = await TokenAsync(new() { ["grant_type"] = "refresh_token", ["refresh_token"] = first });
        var next = (await _sandbox.JsonAsync(refreshed)).GetProperty("refresh_token").GetString()!;

        (next == first).ShouldBe(!rotate);
    }

    [Fact]
    public async Task Scopes_not_enabled_on_the_API_token_are_refused_at_authorize()
    {
        // The wiki: "OAuth2 grants may only use scopes which are enabled on the token".
        using var reading = SandboxSwitch.Set(BuiltByBit, o => o.EnabledScopes = ["members.self"]);
        var redirect = Uri.EscapeDataString(_sandbox.BrokerCallback("builtbybit").AbsoluteUri);

        using var refused = await _sandbox.GetAsync($"builtbybit/account/external/authorize?client_id={Uri.EscapeDataString(ClientId)}&response_type=code&redirect_uri={redirect}&scope=resources.write&state=s");
        using var allowed = await _sandbox.GetAsync($"builtbybit/account/external/authorize?client_id={Uri.EscapeDataString(ClientId)}&response_type=code&redirect_uri={redirect}&scope=members.self&state=s");

        refused.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        allowed.StatusCode.ShouldBe(HttpStatusCode.OK);
    }
}

using OAuthBroker.Sandbox.Pages;

namespace OAuthBroker.Sandbox.Bybit;

/// <summary>Bybit's consent page: a UID to act as, and a switch for an account without 2FA (Bybit then answers 20039).</summary>
public static class BybitConsentPage
{
    public static IResult Render(string clientId, string redirectUri, string scope, string? state) => ConsentPage.Render(
        "Bybit", clientId, scope, BybitSandboxEndpoints.Prefix + "/en/oauth/consent",
        new Dictionary<string, string?> { ["client_id"] = clientId, ["redirect_uri"] = redirectUri, ["scope"] = scope, ["state"] = state },
        Random.Shared.NextInt64(100_000_000, 999_999_999).ToString(System.Globalization.CultureInfo.InvariantCulture),
        "    <label><input type=\"checkbox\" name=\"no_2fa\"> This account has no 2FA (Bybit then refuses: 20039)</label>\n");

    // Help centre phase 2: "Failure or Cancellation: The pop-up remains on the Bybit page."
    public static IResult Cancelled() => ConsentPage.Message("Authorization cancelled. You can close this window.");

    public static IResult Error(string message) => ConsentPage.Error(message);
}

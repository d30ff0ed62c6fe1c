namespace OAuthBroker.Providers.BuiltByBit;

/// <summary>
/// BuiltByBit OAuth2 (API v2) endpoints, per https://builtbybit.com/wiki/oauth2/ and the API's OpenAPI spec
/// (BuiltByBit/api-openapi-spec spec.yaml); provider-contracts.md §3, X-A … X-U.
/// </summary>
public static class BuiltByBitDefaults
{
    public const string DialectName = "builtbybit";
    public const string DisplayName = "BuiltByBit";

    /// <summary>X-A. Parameters UNCONFIRMED officially; integrations send the standard ones, and at least one scope.</summary>
    public const string AuthorizeUrl = "https://builtbybit.com/account/external/authorize";

    public const string ApiBaseUrl = "https://api.builtbybit.com";

    /// <summary>X-T: both grants, HTTP Basic client credentials, flat answer.</summary>
    public const string TokenPath = "/oauth2/token";

    /// <summary>X-V: <c>token</c> + <c>token_hint</c> (not RFC 7009's <c>token_type_hint</c>), answers <c>{"revoked":true}</c>.</summary>
    public const string RevokePath = "/oauth2/token/revoke";

    /// <summary>X-U: <c>{"result":"success","data":{"self":{…}}}</c>.</summary>
    public const string MembersSelfPath = "/v2/members/self";

    /// <summary>Third-party code's scope name (UNCONFIRMED); the only documented fact is that one is required.</summary>
    public const string DefaultScope = "members.self";
}

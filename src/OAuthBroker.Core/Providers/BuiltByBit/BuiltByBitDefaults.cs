namespace OAuthBroker.Providers.BuiltByBit;

/// <summary>
/// BuiltByBit OAuth2 (API v2) endpoints, per https://builtbybit.com/wiki/oauth2/ and the API's OpenAPI spec
/// (BuiltByBit/api-openapi-spec spec.yaml) and its generated wrappers' docs (getV2MembersSelf).
/// </summary>
public static class BuiltByBitDefaults
{
    public const string DialectName = "builtbybit";
    public const string DisplayName = "BuiltByBit";

    /// <summary>Authorize (wiki; spec.yaml securitySchemes.oauth2.authorizationUrl). Parameters undocumented; integrations send the standard ones, and at least one scope.</summary>
    public const string AuthorizeUrl = "https://builtbybit.com/account/external/authorize";

    public const string ApiBaseUrl = "https://api.builtbybit.com";

    /// <summary>/oauth2/token: both grants, HTTP Basic client credentials, flat answer.</summary>
    public const string TokenPath = "/oauth2/token";

    /// <summary>/oauth2/token/revoke: <c>token</c> + <c>token_hint</c> (not RFC 7009's <c>token_type_hint</c>), answers 200 <c>{"revoked": boolean}</c>.</summary>
    public const string RevokePath = "/oauth2/token/revoke";

    /// <summary>getV2MembersSelf: <c>{"result":"success","data":{"self":{…}}}</c>.</summary>
    public const string MembersSelfPath = "/v2/members/self";

    /// <summary>Third-party code's scope name (UNCONFIRMED); the only documented fact is that one is required.</summary>
    public const string DefaultScope = "members.self";
}

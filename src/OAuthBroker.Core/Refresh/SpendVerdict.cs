namespace OAuthBroker.Refresh;

/// <summary>What the broker knows about a refresh token after a failed spend.</summary>
public enum SpendVerdict
{
    /// <summary>The request never reached the provider, or the provider answered that it issued nothing: the token is as it was.</summary>
    NotSpent,
    /// <summary>The provider rejected the token (invalid_grant).</summary>
    Rejected,
    /// <summary>The provider may have processed the request and rotated the token; nothing usable came back.</summary>
    Unknown,
}

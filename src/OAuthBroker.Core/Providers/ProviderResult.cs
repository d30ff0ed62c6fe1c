using System.Diagnostics.CodeAnalysis;

namespace OAuthBroker.Providers;

/// <summary>
/// Either a value or a <see cref="ProviderFailure"/>. Expected provider behaviour (a rejected code, an outage,
/// a garbage body) is a value; misconfiguration and bugs stay exceptions.
/// </summary>
public sealed class ProviderResult<T>
{
    private ProviderResult(T? value, ProviderFailure? failure)
    {
        Value = value;
        Failure = failure;
    }

    public T? Value { get; }
    public ProviderFailure? Failure { get; }

    [MemberNotNullWhen(true, nameof(Value))]
    [MemberNotNullWhen(false, nameof(Failure))]
    public bool Succeeded => Failure is null;

#pragma warning disable CA2225 // Operator overloads have named alternates: Success/Fail are the named forms.
    public static implicit operator ProviderResult<T>(T value) => Success(value);
    public static implicit operator ProviderResult<T>(ProviderFailure failure) => Fail(failure);
#pragma warning restore CA2225

#pragma warning disable CA1000 // Static members on generic types: these are the factory methods of the result type.
    public static ProviderResult<T> Success(T value) => new(value, null);
    public static ProviderResult<T> Fail(ProviderFailure failure) => new(default, failure);
#pragma warning restore CA1000
}

/// <summary>How a provider call failed, sorted by what the broker must do about it.</summary>
public enum ProviderFailureKind
{
    /// <summary>The code or refresh token is invalid, expired or used: the user must authorize again.</summary>
    InvalidGrant,
    /// <summary>The provider rejects the broker's client credentials: an operator must fix configuration.</summary>
    InvalidClient,
    /// <summary>The user declined consent.</summary>
    AccessDenied,
    /// <summary>The user's account cannot be linked as it is (e.g. Bybit 20039: no 2FA).</summary>
    AccountNotEligible,
    /// <summary>The provider rejected an access token on a resource call.</summary>
    TokenRejected,
    /// <summary>The provider refused for a reason the broker has no specific handling for.</summary>
    Rejected,
    /// <summary>429 from the provider.</summary>
    RateLimited,
    /// <summary>5xx, timeout or network failure: transient, retry later.</summary>
    Unavailable,
    /// <summary>The provider answered something that is not its documented shape.</summary>
    InvalidResponse,
    /// <summary>The authorization response came from, or claims, another issuer (RFC 9207 mix-up defence).</summary>
    IssuerMismatch,
    /// <summary>The provider's own recovery is to start over (e.g. WhiteBIT 409: key secret already fetched).</summary>
    RestartRequired,
}

/// <param name="Kind">What the broker must do about it.</param>
/// <param name="ProviderCode">The provider's own code (e.g. <c>10001</c>, <c>http_503</c>, <c>timeout</c>), safe to log.</param>
/// <param name="Description">Broker-written explanation; never echoes provider text or secrets.</param>
/// <param name="RetryAfter">How long the provider asked us to wait, when it said.</param>
public sealed record ProviderFailure(
    ProviderFailureKind Kind,
    string ProviderCode,
    string Description,
    TimeSpan? RetryAfter = null);

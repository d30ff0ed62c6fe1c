namespace OAuthBroker.Errors;

/// <summary>
/// An expected failure the broker reports to its caller. <see cref="Code"/> is stable and machine-readable;
/// <see cref="Detail"/> is written by the broker and never contains a token, code, state or secret.
/// </summary>
/// <param name="Code">Stable identifier, e.g. <c>unknown_provider</c>; also used as the redirect error code.</param>
/// <param name="Status">HTTP status for a problem response.</param>
/// <param name="Title">Short, constant summary of the problem type.</param>
/// <param name="Detail">Explanation of this occurrence.</param>
public sealed record BrokerError(string Code, int Status, string Title, string Detail)
{
    public BrokerError WithDetail(string detail) => this with { Detail = detail };

    /// <summary>When set, the seconds after which a retry can succeed (RFC 9110 §10.2.3 Retry-After, sent with the problem).</summary>
    public int? RetryAfterSeconds { get; init; }
}

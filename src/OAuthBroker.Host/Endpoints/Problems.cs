using Microsoft.AspNetCore.Http.HttpResults;
using OAuthBroker.Errors;

namespace OAuthBroker.Host.Endpoints;

/// <summary>RFC 9457 problem responses from the broker's error catalogue.</summary>
public static class Problems
{
    public const string TypePrefix = "urn:oauth-broker:problem:";

    public static ProblemHttpResult From(BrokerError error) => TypedResults.Problem(
        detail: error.Detail,
        statusCode: error.Status,
        title: error.Title,
        type: TypePrefix + error.Code.Replace('_', '-'),
        extensions: new Dictionary<string, object?> { ["code"] = error.Code });
}

using Microsoft.OpenApi;

namespace OAuthBroker.Host.OpenApi;

/// <summary>
/// A query parameter an endpoint reads from the request itself (so that it can refuse repeats and bad shapes with its own
/// problem codes): not a delegate parameter, so the OpenAPI generator cannot see it and <see cref="RouteContract"/> names it.
/// </summary>
internal sealed record QueryInput(string Name, bool Required, string Description)
{
    public JsonSchemaType Type { get; init; } = JsonSchemaType.String;
}

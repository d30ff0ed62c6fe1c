namespace OAuthBroker.Host.OpenApi;

/// <summary>
/// What one route answers: its success status and body (a CLR type the description derives the schema from with the
/// app's JSON options, or a hand-written schema for a body written by hand), and the problem codes it can answer with.
/// </summary>
internal sealed record RouteContract(int Status, string Description, Type? Body, IReadOnlyList<string> Problems)
{
    /// <summary>A <c>302</c> to the given place (its <c>200</c>, when it also has one, is <see cref="Body"/>).</summary>
    public bool Redirects { get; init; }

    /// <summary>A schema for a body the endpoint writes itself (no CLR type to derive one from).</summary>
    public Func<Microsoft.OpenApi.OpenApiSchema>? Schema { get; init; }

    /// <summary>The query parameters the endpoint reads itself.</summary>
    public IReadOnlyList<QueryInput> Query { get; init; } = [];

    /// <summary>The JSON request body the endpoint reads itself, when it takes one.</summary>
    public Func<Microsoft.OpenApi.OpenApiSchema>? RequestBody { get; init; }
}

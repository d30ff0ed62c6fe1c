using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Host;

/// <summary>The OpenAPI 3.1 description at /api/openapi.json is true to the app: every route, the security schemes, the webhook.</summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed partial class OpenApiDescriptionTests(BrokerEnvironmentFixture fixture)
{
    private async Task<JsonElement> DescriptionAsync()
    {
        using var http = new HttpClient();
        using var response = await http.GetAsync(new Uri(fixture.BrokerUri, "api/openapi.json"));
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private static IEnumerable<(string Method, string Path)> Described(JsonElement document) =>
        document.GetProperty("paths").EnumerateObject().SelectMany(path => path.Value.EnumerateObject()
            .Where(operation => operation.Name is "get" or "post" or "put" or "delete" or "patch")
            .Select(operation => (operation.Name.ToUpperInvariant(), path.Name)));

    [Fact]
    public async Task Every_mapped_api_route_and_method_is_described_in_OpenAPI_3_1()
    {
        var document = await DescriptionAsync();
        document.GetProperty("openapi").GetString()!.ShouldStartWith("3.1");
        var described = Described(document).ToHashSet();

        var mapped = fixture.Environment.Broker.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText!.StartsWith("/api/", StringComparison.Ordinal))
            .SelectMany(e => e.Metadata.GetMetadata<HttpMethodMetadata>()!.HttpMethods.Select(m => (m, e.RoutePattern.RawText!)))
            .ToList();

        mapped.Count.ShouldBeGreaterThan(10);
        foreach (var route in mapped)
        {
            described.ShouldContain(route, $"{route.m} {route.Item2} is mapped but not described");
        }
    }

    [Fact]
    public async Task The_security_schemes_and_the_event_webhook_are_described_and_backend_routes_require_a_backend_credential()
    {
        var document = await DescriptionAsync();
        var schemes = document.GetProperty("components").GetProperty("securitySchemes");
        schemes.GetProperty("backendKey").GetProperty("name").GetString().ShouldBe("X-Api-Key");
        schemes.GetProperty("functionKey").GetProperty("name").GetString().ShouldBe("x-functions-key");
        schemes.GetProperty("appRoleToken").GetProperty("scheme").GetString().ShouldBe("bearer");
        schemes.GetProperty("userBearer").GetProperty("scheme").GetString().ShouldBe("bearer");

        var events = document.GetProperty("paths").GetProperty("/api/events").GetProperty("get");
        events.GetProperty("security").EnumerateArray().SelectMany(r => r.EnumerateObject().Select(p => p.Name)).ShouldBe(["backendKey", "appRoleToken"], ignoreOrder: true);
        var webhook = document.GetProperty("webhooks").GetProperty("linkEvent").GetProperty("post");
        webhook.GetProperty("parameters").EnumerateArray().Select(p => p.GetProperty("name").GetString()).ShouldBe(["webhook-id", "webhook-timestamp", "webhook-signature"]);
    }

    [Fact]
    public async Task The_README_route_tables_and_the_description_name_the_same_routes()
    {
        var described = Described(await DescriptionAsync()).Where(r => r.Path.StartsWith("/api/", StringComparison.Ordinal)).ToHashSet();
        var readme = File.ReadAllText(Path.Combine(OAuthBroker.LocalEnvironment.RepositoryRoot.Find(), "README.md"));
        var listed = ReadmeRoute().Matches(readme).Select(m => (m.Groups[1].Value, m.Groups[2].Value)).ToHashSet();

        listed.ShouldBe(described, ignoreOrder: true);
    }

    [GeneratedRegex(@"^\| `(GET|POST|PUT|DELETE) (/api/[^`?\s]*)", RegexOptions.Multiline)]
    private static partial Regex ReadmeRoute();
}

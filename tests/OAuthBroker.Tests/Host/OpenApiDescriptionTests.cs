using System.Net;
using System.Net.Http.Json;
using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using OAuthBroker.Errors;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Host;

/// <summary>
/// The OpenAPI 3.1 description at /api/openapi.json is true to the app and the README: every route, its answers (real
/// bodies fit their schemas) and problem codes, the security schemes, the webhook.
/// </summary>
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
    public async Task The_README_route_tables_and_the_description_name_the_same_routes_statuses_and_problem_codes()
    {
        var document = await DescriptionAsync();
        var described = Described(document).Where(r => r.Path.StartsWith("/api/", StringComparison.Ordinal)).ToHashSet();
        var rows = ReadmeRoute().Matches(Readme()).Select(m => (Method: m.Groups[1].Value, Path: m.Groups[2].Value, Text: m.Groups[3].Value)).ToList();

        rows.Select(r => (r.Method, r.Path)).ToHashSet().ShouldBe(described, ignoreOrder: true);
        foreach (var (method, path, text) in rows)
        {
            var responses = document.GetProperty("paths").GetProperty(path).GetProperty(method.ToLowerInvariant()).GetProperty("responses");
            foreach (Match answer in ReadmeAnswer().Matches(text))
            {
                var status = answer.Groups[1].Value;
                responses.TryGetProperty(status, out var response).ShouldBeTrue($"README: {method} {path} answers {status}; the description does not say so");
                if (answer.Groups[2].Success)
                {
                    ProblemCodesOf(response).ShouldContain(answer.Groups[2].Value, $"README: {method} {path} answers {status} {answer.Groups[2].Value}");
                }
            }
        }
    }

    [Fact]
    public async Task The_query_parameters_the_README_routes_take_and_the_completion_body_are_described_so_a_generated_client_can_send_them()
    {
        var document = await DescriptionAsync();
        var rows = ReadmeRouteQuery().Matches(Readme());
        rows.Count.ShouldBeGreaterThanOrEqualTo(5);
        foreach (Match row in rows)
        {
            var operation = document.GetProperty("paths").GetProperty(row.Groups[2].Value).GetProperty(row.Groups[1].Value.ToLowerInvariant());
            var described = operation.TryGetProperty("parameters", out var parameters)
                ? parameters.EnumerateArray().Where(p => p.GetProperty("in").GetString() == "query").Select(p => p.GetProperty("name").GetString()).ToHashSet()
                : [];
            foreach (var name in row.Groups[3].Value.Split('&').Select(pair => pair.Split('=')[0]))
            {
                described.ShouldContain(name, $"{row.Groups[1].Value} {row.Groups[2].Value} takes {name} (README) but the description does not say so");
            }
        }

        var credential = document.GetProperty("paths").GetProperty("/api/links/{provider}/{accountId}/credential").GetProperty("get").GetProperty("parameters")
            .EnumerateArray().Single(p => p.GetProperty("name").GetString() == "userId");
        credential.GetProperty("required").GetBoolean().ShouldBeTrue();
        var body = document.GetProperty("paths").GetProperty("/api/oauth/{provider}/complete").GetProperty("post").GetProperty("requestBody")
            .GetProperty("content").GetProperty("application/json").GetProperty("schema");
        body.GetProperty("required").EnumerateArray().Select(r => r.GetString()).ShouldBe(["completion"]);
        body.GetProperty("properties").EnumerateObject().Select(p => p.Name).ShouldBe(["completion", "verifier"], ignoreOrder: true);
    }

    [Fact]
    public async Task The_README_problem_code_list_and_the_description_give_the_same_codes_and_statuses()
    {
        var listed = ReadmeProblemCodes();
        var described = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var responses in (await DescriptionAsync()).GetProperty("paths").EnumerateObject().SelectMany(p => p.Value.EnumerateObject()).Select(o => o.Value.GetProperty("responses")))
        {
            foreach (var response in responses.EnumerateObject().Where(r => r.Name != "default"))
            {
                foreach (var code in ProblemCodesOf(response.Value))
                {
                    described[code] = int.Parse(response.Name, System.Globalization.CultureInfo.InvariantCulture);
                }
            }
        }

        described.OrderBy(p => p.Key, StringComparer.Ordinal).ShouldBe(listed.OrderBy(p => p.Key, StringComparer.Ordinal));
    }

    [Fact]
    public async Task The_problem_codes_described_are_the_ones_the_error_catalogue_answers_with_at_the_same_status()
    {
        var catalogue = typeof(BrokerErrors).GetMembers(BindingFlags.Public | BindingFlags.Static).SelectMany(ErrorsOf).ToList();
        catalogue.Count.ShouldBeGreaterThan(20);
        var document = await DescriptionAsync();
        var described = document.GetProperty("paths").EnumerateObject().SelectMany(p => p.Value.EnumerateObject())
            .SelectMany(o => o.Value.GetProperty("responses").EnumerateObject())
            .SelectMany(r => ProblemCodesOf(r.Value).Select(code => (code, r.Name))).ToHashSet();

        foreach (var error in catalogue)
        {
            described.ShouldContain((error.Code, error.Status.ToString(System.Globalization.CultureInfo.InvariantCulture)), $"{error.Code} ({error.Status}) is in the catalogue");
        }
    }

    /// <summary>
    /// Every described route is called on the running broker: its success answer (a body that fits the success schema, or
    /// the described redirect) and, for every route where a request can cause one here, a problem whose body fits the
    /// problem schema at its status. <c>GET /api/health</c> can only fail with <c>internal_error</c>, and the other anonymous
    /// routes' edge problems need a rate-limited instance (<see cref="OpenApiServingTests"/>).
    /// </summary>
    [Fact]
    public async Task Every_route_answers_with_success_and_problem_bodies_that_fit_the_described_schemas()
    {
        var document = await DescriptionAsync();
        var check = new AnswerCheck(document);
        using var browser = fixture.NewBrowser();
        using var http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false });

        await check.SuccessAsync("GET", "/api/openapi.json", await http.GetAsync(new Uri(fixture.BrokerUri, "api/openapi.json")));
        await check.SuccessAsync("GET", "/api/health", await http.GetAsync(new Uri(fixture.BrokerUri, "api/health")));
        await check.SuccessAsync("GET", "/api/providers", await http.GetAsync(new Uri(fixture.BrokerUri, "api/providers")));

        // The flow, step by step: authorize (as JSON, then as the browser's redirect), the callback's redirect, the completion.
        using var asJson = new HttpRequestMessage(HttpMethod.Get, new Uri(fixture.BrokerUri, "api/oauth/bybit/authorize?returnUrl=%2Fdemo%2Fcallback.html"));
        asJson.Headers.Accept.ParseAdd("application/json");
        var started = await check.SuccessAsync("GET", "/api/oauth/{provider}/authorize", await browser.Http.SendAsync(asJson));
        await check.RedirectAsync("GET", "/api/oauth/{provider}/authorize", await browser.AuthorizeAsync());
        var authorization = new Uri(started.GetProperty("authorizationUrl").GetString()!);
        fixture.SeenSecrets.Add(System.Web.HttpUtility.ParseQueryString(authorization.Query)["state"]);
        var callback = await browser.ConsentAsync(authorization, uid: 616161001);
        using var returned = await browser.GetRawAsync(callback);
        await check.RedirectAsync("GET", "/api/oauth/{provider}/callback", returned);
        var pending = browser.PendingReturn(returned).ShouldNotBeNull();
        await check.SuccessAsync("POST", "/api/oauth/{provider}/complete", await browser.CompleteAsync(pending.Provider, pending.Code));

        using var start = await browser.Http.PostAsync(new Uri(fixture.BrokerUri, "api/oauth/bybit/start?returnUrl=%2Fdemo%2Fcallback.html"), null);
        fixture.SeenSecrets.Add((await check.SuccessAsync("POST", "/api/oauth/{provider}/start", start)).GetProperty("ticket").GetString());
        await check.SuccessAsync("GET", "/api/links", await browser.Http.GetAsync(new Uri(fixture.BrokerUri, "api/links")));
        await check.SuccessAsync("GET", "/api/links/{provider}/{accountId}/credential", await BackendAsync(http, HttpMethod.Get, $"api/links/bybit/616161001/credential?userId={browser.User}"));
        await check.SuccessAsync("POST", "/api/links/{provider}/{accountId}/refresh", await BackendAsync(http, HttpMethod.Post, $"api/links/bybit/616161001/refresh?userId={browser.User}"));
        var page = await check.SuccessAsync("GET", "/api/events", await BackendAsync(http, HttpMethod.Get, "api/events?limit=5"));
        await check.SuccessAsync("DELETE", "/api/links/{provider}/{accountId}", await browser.UnlinkAsync("bybit", "616161001"));

        check.Succeeded.ShouldBe(Described(document).Where(r => r.Path.StartsWith("/api/", StringComparison.Ordinal)).ToHashSet(), ignoreOrder: true, "every described API route and method was called");

        // A problem each route can be made to answer.
        await check.ProblemAsync("GET", "/api/oauth/{provider}/authorize", "unknown_provider", await browser.AuthorizeAsync("no-such-provider"));
        await check.ProblemAsync("POST", "/api/oauth/{provider}/start", "invalid_return_url",
            await browser.Http.PostAsync(new Uri(fixture.BrokerUri, "api/oauth/bybit/start?returnUrl=https%3A%2F%2Fevil.example%2F"), null));
        await check.ProblemAsync("GET", "/api/oauth/{provider}/callback", "missing_state", await browser.GetRawAsync(new Uri(fixture.BrokerUri, "api/oauth/bybit/callback?code=x")));
        await check.ProblemAsync("POST", "/api/oauth/{provider}/complete", "invalid_completion", await browser.CompleteAsync("bybit", "not-a-completion-code"));
        await check.ProblemAsync("GET", "/api/links", "unauthenticated", await http.GetAsync(new Uri(fixture.BrokerUri, "api/links")));
        await check.ProblemAsync("DELETE", "/api/links/{provider}/{accountId}", "link_not_found", await browser.UnlinkAsync("bybit", "616161001"));
        await check.ProblemAsync("GET", "/api/links/{provider}/{accountId}/credential", "link_not_found",
            await BackendAsync(http, HttpMethod.Get, $"api/links/bybit/616161001/credential?userId={browser.User}"));
        await check.ProblemAsync("GET", "/api/links/{provider}/{accountId}/credential", "backend_unauthenticated",
            await http.GetAsync(new Uri(fixture.BrokerUri, $"api/links/bybit/616161001/credential?userId={browser.User}")));
        await check.ProblemAsync("POST", "/api/links/{provider}/{accountId}/refresh", "link_not_found",
            await BackendAsync(http, HttpMethod.Post, $"api/links/bybit/616161001/refresh?userId={browser.User}"));
        await check.ProblemAsync("GET", "/api/events", "invalid_parameter", await BackendAsync(http, HttpMethod.Get, "api/events?limit=0"));

        var logged = page.GetProperty("events");
        logged.GetArrayLength().ShouldBeGreaterThan(0);
        var webhook = document.GetProperty("webhooks").GetProperty("linkEvent").GetProperty("post").GetProperty("requestBody")
            .GetProperty("content").GetProperty("application/json").GetProperty("schema");
        var payload = JsonSerializer.Deserialize<JsonElement>(OAuthBroker.Events.LinkEventJson.Serialize(OAuthBroker.Events.LinkEventJson.Read(logged[0].GetRawText())));
        DescribedSchemas.Fits(document, payload, webhook, "webhook");
    }

    private async Task<HttpResponseMessage> BackendAsync(HttpClient http, HttpMethod method, string path)
    {
        using var request = new HttpRequestMessage(method, new Uri(fixture.BrokerUri, path));
        request.Headers.Add("X-Api-Key", fixture.BackendKey);
        return await http.SendAsync(request);
    }

    private static IEnumerable<string> ProblemCodesOf(JsonElement response) =>
        response.TryGetProperty("content", out var content) && content.TryGetProperty("application/problem+json", out var problem)
            ? problem.GetProperty("schema").GetProperty("properties").GetProperty("code").GetProperty("enum").EnumerateArray().Select(c => c.GetString()!)
            : [];

    private static IEnumerable<BrokerError> ErrorsOf(MemberInfo member) => member switch
    {
        FieldInfo { FieldType: var t } field when t == typeof(BrokerError) => [(BrokerError)field.GetValue(null)!],
        MethodInfo { ReturnType: var t } method when t == typeof(BrokerError) =>
            [(BrokerError)method.Invoke(null, [.. method.GetParameters().Select(_ => (object)"x")])!],
        _ => [],
    };

    private static string Readme() => File.ReadAllText(Path.Combine(OAuthBroker.LocalEnvironment.RepositoryRoot.Find(), "README.md"));

    /// <summary>
    /// The README's "Problem codes:" list: codes in backticks, each group's status in the parenthesis or "all NNN" that
    /// ends it.
    /// </summary>
    private static Dictionary<string, int> ReadmeProblemCodes()
    {
        var readme = Readme();
        var start = readme.IndexOf("Problem codes:", StringComparison.Ordinal);
        var list = readme[start..readme.IndexOf("Details are the broker's own words", start, StringComparison.Ordinal)];
        var codes = new Dictionary<string, int>(StringComparer.Ordinal);
        var pending = new List<string>();
        foreach (Match token in ProblemListToken().Matches(list))
        {
            if (token.Groups[1].Success)
            {
                pending.Add(token.Groups[1].Value);
                continue;
            }

            foreach (var code in pending)
            {
                codes[code] = int.Parse(token.Groups[2].Success ? token.Groups[2].Value : token.Groups[3].Value, System.Globalization.CultureInfo.InvariantCulture);
            }

            pending.Clear();
        }

        pending.ShouldBeEmpty("every code in the README's list has a status");
        return codes;
    }

    [GeneratedRegex(@"^\| `(GET|POST|PUT|DELETE) (/api/[^`?\s]*)[^`]*` \|(.*)$", RegexOptions.Multiline)]
    private static partial Regex ReadmeRoute();

    /// <summary>A README route row whose route takes query parameters: method, path, and <c>name=…&amp;name=…</c>.</summary>
    [GeneratedRegex(@"^\| `(GET|POST|PUT|DELETE) (/api/[^`?\s]*)\?([^`]*)` \|", RegexOptions.Multiline)]
    private static partial Regex ReadmeRouteQuery();

    /// <summary>An answer a route row names: <c>`409 reauth_required`</c>, or a success status such as <c>`302`</c> or <c>`200 {…}`</c>.</summary>
    [GeneratedRegex(@"`(\d{3})(?: ([a-z_]+)`)?")]
    private static partial Regex ReadmeAnswer();

    [GeneratedRegex(@"`([a-z_]+)`|\((\d{3})|all (\d{3})")]
    private static partial Regex ProblemListToken();
}

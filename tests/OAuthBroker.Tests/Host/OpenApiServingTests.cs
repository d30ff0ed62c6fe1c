using System.Globalization;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.Extensions.DependencyInjection;
using OAuthBroker.Host;
using OAuthBroker.LocalEnvironment;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Host;

/// <summary>
/// How /api/openapi.json is served: generated once per process, not per request, and under the per-client limit of the
/// other anonymous routes (anyone can call it, and generating it walks every endpoint).
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class OpenApiServingTests(BrokerEnvironmentFixture fixture)
{
    [Fact]
    public async Task The_description_is_generated_once_per_process_and_rate_limited_like_the_other_anonymous_routes()
    {
        var generated = 0;
        var port = FreePort.Next();
        var arguments = fixture.Environment.BrokerArguments
            .Where(a => !a.StartsWith("--urls=", StringComparison.Ordinal))
            .Append(string.Create(CultureInfo.InvariantCulture, $"--urls=http://127.0.0.1:{port}"))
            .Append("--Broker:AnonymousRequestsPerMinute=3")
            .ToArray();
        // Counts the generator's runs: document transformers run once per generated document.
        await using var app = BrokerApp.Create(arguments, builder => builder.Services.Configure<OpenApiOptions>("v1", options =>
            options.AddDocumentTransformer((_, _, _) =>
            {
                Interlocked.Increment(ref generated);
                return Task.CompletedTask;
            })));
        await app.StartAsync();
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            var bodies = new List<string>();
            for (var i = 0; i < 3; i++)
            {
                using var answer = await http.GetAsync("/api/openapi.json");
                answer.StatusCode.ShouldBe(HttpStatusCode.OK);
                bodies.Add(await answer.Content.ReadAsStringAsync());
            }

            bodies.Distinct().ShouldHaveSingleItem("the same description every time");
            bodies[0].ShouldContain("\"openapi\": \"3.1");
            Volatile.Read(ref generated).ShouldBe(1, "generated once, then kept");

            // The limit's answer is a described problem, here and on the other anonymous routes.
            var check = new AnswerCheck(JsonSerializer.Deserialize<JsonElement>(bodies[0]));
            await check.ProblemAsync("GET", "/api/openapi.json", "rate_limited", await http.GetAsync("/api/openapi.json"));
            await check.ProblemAsync("GET", "/api/providers", "rate_limited", await http.GetAsync("/api/providers"));
        }
        finally
        {
            await app.StopAsync();
        }
    }
}

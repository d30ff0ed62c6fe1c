using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using OAuthBroker.Events;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Events;

/// <summary><c>GET /api/events</c>: replay by cursor range, authenticated like the credential endpoints.</summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class EventListingTests(BrokerEnvironmentFixture fixture)
{
    private async Task<(HttpStatusCode Status, JsonElement Body)> ListAsync(string query, string? key)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(fixture.BrokerUri, "api/events" + query));
        if (key is not null)
        {
            request.Headers.Add("X-Api-Key", key);
        }

        using var response = await http.SendAsync(request);
        response.Headers.CacheControl?.NoStore.ShouldBeTrue();
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        return (response.StatusCode, body);
    }

    private static string[] Users(JsonElement body) =>
        body.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("data").TryGetProperty("user_id", out var u) ? u.GetString()! : "").ToArray();

    [Fact]
    public async Task A_backend_replays_exactly_the_events_after_a_cursor_page_by_page()
    {
        var users = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            using var browser = fixture.NewBrowser();
            await browser.LinkAsync();
            users.Add(browser.User);
        }

        var all = await EventLogReading.AllAsync(fixture.Broker<IEventLog>());
        var first = all.Single(l => l.Event.UserId == users[0]);

        var (status, page) = await ListAsync($"?after={first.Cursor}&limit=1", fixture.BackendKey);
        status.ShouldBe(HttpStatusCode.OK);
        Users(page).ShouldBe([users[1]]);
        var (_, next) = await ListAsync($"?after={page.GetProperty("next").GetString()}&limit=5", fixture.BackendKey);
        Users(next).ShouldBe([users[2]]);
        var listed = next.GetProperty("events")[0];
        listed.GetProperty("id").GetString().ShouldBe(all.Single(l => l.Event.UserId == users[2]).Event.Id);
        listed.GetProperty("type").GetString().ShouldBe(LinkEventTypes.Created);
        listed.GetProperty("data").GetProperty("provider").GetString().ShouldBe("bybit");
        var (_, end) = await ListAsync($"?after={next.GetProperty("next").GetString()}", fixture.BackendKey);
        end.GetProperty("events").GetArrayLength().ShouldBe(0);
        end.GetProperty("next").GetString().ShouldBe(next.GetProperty("next").GetString(), "at the end, next stays where it was");
    }

    [Fact]
    public async Task A_backend_limited_to_some_providers_sees_only_their_events_and_still_moves_on()
    {
        using var browser = fixture.NewBrowser();
        await browser.LinkAsync();
        var ours = (await EventLogReading.AllAsync(fixture.Broker<IEventLog>())).Single(l => l.Event.UserId == browser.User);
        var before = (await EventLogReading.AllAsync(fixture.Broker<IEventLog>())).TakeWhile(l => l != ours).LastOrDefault();

        var (status, page) = await ListAsync(before is null ? "" : $"?after={before.Cursor}&limit=1", fixture.LimitedBackendKey);

        status.ShouldBe(HttpStatusCode.OK);
        page.GetProperty("events").GetArrayLength().ShouldBe(0, "the limited backend reads BuiltByBit only");
        page.GetProperty("next").GetString().ShouldBe(ours.Cursor);
    }

    [Theory]
    [InlineData("", null, HttpStatusCode.Unauthorized, "backend_unauthenticated")]
    [InlineData("?after=yesterday", "key", HttpStatusCode.BadRequest, "invalid_parameter")]
    [InlineData("?limit=0", "key", HttpStatusCode.BadRequest, "invalid_parameter")]
    [InlineData("?limit=1001", "key", HttpStatusCode.BadRequest, "invalid_parameter")]
    [InlineData("?limit=1&limit=2", "key", HttpStatusCode.BadRequest, "invalid_parameter")]
    public async Task Bad_requests_get_a_precise_problem(string query, string? key, HttpStatusCode expected, string code)
    {
        var (status, body) = await ListAsync(query, key is null ? null : fixture.BackendKey);

        status.ShouldBe(expected);
        body.GetProperty("code").GetString().ShouldBe(code);
    }
}

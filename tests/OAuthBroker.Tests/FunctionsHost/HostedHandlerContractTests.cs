using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using OAuthBroker.Tests.FunctionsHost.Emulation;

namespace OAuthBroker.Tests.FunctionsHost;

/// <summary>
/// The custom-handler contract through the emulated host, with the handler started the way the host starts it: routes
/// and keys at the host, the timer resolved from the app settings and fired with the host's payload, the handler's
/// console as the host's log.
/// </summary>
[Collection(HostedBrokerEnvironmentGroup.Name)]
public sealed class HostedHandlerContractTests(HostedBrokerEnvironmentFixture fixture)
{
    [Fact]
    public async Task The_host_starts_the_handler_and_forwards_every_route_with_keys_checked_first()
    {
        await using var host = await HostedHandler.StartAsync(fixture, "Contract");
        using var http = new HttpClient { BaseAddress = host.Uri };

        (await http.GetAsync("api/health")).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await http.GetStringAsync("api/providers")).ShouldContain("\"bybit\"");
        (await http.GetAsync("api/links")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized, "outside Development there is no development identity");
        host.Invocations.Select(i => i.Function).ShouldBe(["Health", "Providers", "Links"]);

        // Backend functions: the host's empty 401 without a function key; with one, the app still wants its own credential.
        using var noKey = await http.GetAsync("api/links/bybit/1/credential?userId=u");
        noKey.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        (await noKey.Content.ReadAsByteArrayAsync()).ShouldBeEmpty("the host answers, not the app");
        using var keyOnly = new HttpRequestMessage(HttpMethod.Get, "api/links/bybit/1/credential?userId=u");
        keyOnly.Headers.Add("x-functions-key", host.Keys.DefaultHostKey);
        using var keyOnlyAnswer = await http.SendAsync(keyOnly);
        keyOnlyAnswer.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        (await keyOnlyAnswer.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString().ShouldBe("backend_unauthenticated");
        using var both = new HttpRequestMessage(HttpMethod.Get, "api/links/bybit/1/credential?userId=u");
        both.Headers.Add("x-functions-key", host.Keys.KeyOf("Credential"));
        both.Headers.Add("X-Api-Key", fixture.BackendKey);
        (await http.SendAsync(both)).StatusCode.ShouldBe(HttpStatusCode.NotFound, "authenticated twice; the link does not exist");

        // No function has these methods or paths: the host's bare 404, the handler never asked.
        (await http.PostAsync("api/health", null)).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await http.PostAsync("RefreshTokens", null)).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        host.Invocations.Count.ShouldBe(5);
    }

    [Fact]
    public async Task The_timer_schedule_resolves_from_the_app_setting_infra_sets_and_the_sweep_runs()
    {
        await using var host = await HostedHandler.StartAsync(fixture, "Timer");
        host.FunctionErrors.ShouldBeEmpty();
        host.Timers["RefreshTokens"].ResolvedSchedule.ShouldBe("0 */5 * * * *");

        // The handler takes the occurrence from its own clock (RefreshTokensFunction), so the replay below is "the same
        // occurrence" only if both land in one five-minute slot: the first run may take seconds (the Production handler
        // cannot reach the local vault, whose certificate only Development settings pin, so the orphaned-credentials
        // housekeeping retries and fails). Start clear of a slot boundary (a slot begins the early-firing allowance before
        // its occurrence: the whole minute, five minutes apart).
        var slotClock = DateTime.UtcNow + OAuthBroker.Host.FunctionsHost.ScheduleOccurrences.MaxEarlyFiring;
        var untilBoundary = TimeSpan.FromMinutes(5) - TimeSpan.FromTicks(slotClock.Ticks % TimeSpan.FromMinutes(5).Ticks);
        if (untilBoundary < TimeSpan.FromSeconds(45))
        {
            await Task.Delay(untilBoundary + TimeSpan.FromSeconds(1));
        }

        var logs = await host.FireTimerAsync("RefreshTokens");
        logs.ShouldHaveSingleItem().ShouldStartWith("Scheduled run:");
        host.Log.Entries.ShouldContain(e => e.Category == "Function.RefreshTokens.User" && e.Message.StartsWith("Scheduled run:", StringComparison.Ordinal));

        // Fired again for the same occurrence (a past-due replay, another instance, or anyone who reached the route):
        // claimed already, so skipped; the invocation still succeeds.
        (await host.FireTimerAsync("RefreshTokens", isPastDue: true)).ShouldHaveSingleItem().ShouldStartWith("Scheduled run skipped:");
    }

    [Fact]
    public async Task One_scheduled_run_per_occurrence_whatever_triggers_it()
    {
        await using var host = await HostedHandler.StartAsync(fixture, "Claims", new Dictionary<string, string>
        {
            // Every second: consecutive occurrences, so a later one is claimed again after the first.
            [OAuthBroker.Host.FunctionsHost.RefreshScheduleSetting.Name] = "* * * * * *",
        });
        var fired = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => host.FireTimerAsync("RefreshTokens")));
        fired.SelectMany(l => l).Count(l => l.StartsWith("Scheduled run:", StringComparison.Ordinal)).ShouldBeLessThanOrEqualTo(2,
            "four at once cover at most two adjacent occurrences");
        fired.SelectMany(l => l).ShouldContain(l => l.StartsWith("Scheduled run skipped:", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_handlers_log_lines_reach_the_host_whole_with_their_level_and_category()
    {
        // Storage nobody listens on: the credential read fails, and the app logs that at Error.
        await using var host = await HostedHandler.StartAsync(fixture, "Logs", new Dictionary<string, string>
        {
            ["Storage__ConnectionString"] = $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={OAuthBroker.Storage.Tables.TableConnectionString.DevelopmentAccountKey};TableEndpoint=http://127.0.0.1:{OAuthBroker.LocalEnvironment.FreePort.Next()}/devstoreaccount1;",
        });
        using var http = new HttpClient { BaseAddress = host.Uri };
        using var request = new HttpRequestMessage(HttpMethod.Get, "api/links/bybit/1/credential?userId=u");
        request.Headers.Add("x-functions-key", host.Keys.DefaultHostKey);
        request.Headers.Add("X-Api-Key", fixture.BackendKey);
        using var answer = await http.SendAsync(request);
        answer.StatusCode.ShouldBe(HttpStatusCode.ServiceUnavailable);

        // The failure's line is written while answering but read from the handler's pipe afterwards: wait for it.
        static bool IsFailureLine(HostLogEntry e) => e.Category == "Host.Function.Console" && e.Level == LogLevel.Error
            && e.Message.StartsWith("fail: OAuthBroker.Host.Endpoints.BrokerExceptionHandler[", StringComparison.Ordinal) && e.Message.Contains("storage_unavailable", StringComparison.Ordinal);
        (await host.Log.WaitForAsync(IsFailureLine, TimeSpan.FromSeconds(30))).ShouldBeTrue("the app's error line reaches the host's log at Error");

        var lines = host.Log.Entries.Where(e => e.Category == "Host.Function.Console").ToList();
        lines.ShouldContain(e => e.Level == LogLevel.Information && e.Message.StartsWith("info: Microsoft.Hosting.Lifetime[", StringComparison.Ordinal) && e.Message.Contains("Now listening on", StringComparison.Ordinal));
        lines.ShouldAllBe(e => e.Message.StartsWith("info: ", StringComparison.Ordinal) || e.Message.StartsWith("warn: ", StringComparison.Ordinal)
            || e.Message.StartsWith("fail: ", StringComparison.Ordinal) || e.Message.StartsWith("crit: ", StringComparison.Ordinal), "one entry per line, each with its level and category");
    }
}

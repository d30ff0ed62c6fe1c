using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using NCrontab;

namespace OAuthBroker.Tests.FunctionsHost.Emulation;

/// <summary>
/// A timer function as the host indexes and fires it.
/// <para>Indexing: the schedule is <c>function.json</c>'s <c>schedule</c> with every <c>%name%</c> resolved from the app
/// settings, then read as NCRONTAB (six fields when it has seconds) or a TimeSpan (azure-webjobs-sdk-extensions
/// <c>src/WebJobs.Extensions/Extensions/Timers/Scheduling/TimerSchedule.cs:61-92</c>, <c>CronSchedule.cs:214-243</c>). A
/// failure puts the function in error and it never fires; the other functions run on.</para>
/// <para>Firing: a non-HTTP trigger is posted to <c>/{FunctionName}</c> (<c>DefaultHttpWorkerService.cs:179-191</c>) as
/// <c>{"Data": {binding name: input}, "Metadata": {binding data except "...trigger"}}</c>
/// (<c>Workers/MessageExtensions/ScriptInvocationContextExtensions.cs:18-54</c>) written by a <c>JsonMediaTypeFormatter</c>
/// into an <c>ObjectContent</c>, so chunked, <c>application/json; charset=utf-8</c>
/// (<c>HttpScriptInvocationContextExtensions.cs:13-23</c>). The input is <c>JObject.FromObject(TimerInfo)</c>: <c>Schedule</c>
/// (a <c>CronSchedule</c>'s public properties: <c>AdjustForDST</c>), <c>ScheduleStatus</c> (<c>Last</c>, <c>Next</c>,
/// <c>LastUpdated</c>; null without the monitor) and <c>IsPastDue</c> (azure-webjobs-sdk-extensions <c>Timers/TimerInfo.cs</c>,
/// <c>Scheduling/ScheduleStatus.cs</c>, <c>Scheduling/CronSchedule.cs:68</c>); the binding data is <c>sys</c>
/// (<c>MethodName</c>, <c>UtcNow</c>, <c>RandGuid</c>; azure-webjobs-sdk <c>Bindings/SystemBindingData.cs:17-46</c>), since
/// <c>TimerTrigger</c> ends in "trigger" (<c>TimerTriggerBinding.cs:108-114</c>).</para>
/// <para>The answer: any non-2xx fails the invocation (<c>EnsureSuccessStatusCode</c>); the body must be
/// <c>{ReturnValue, Outputs, Logs}</c> JSON or the invocation fails; each <c>Logs</c> entry becomes an Information log of
/// the function (<c>DefaultHttpWorkerService.cs:193-261</c>).</para>
/// </summary>
public sealed class TimerTrigger
{
    private TimerTrigger(FunctionDefinition function, string? schedule, string? error)
    {
        Function = function;
        ResolvedSchedule = schedule;
        Error = error;
    }

    public FunctionDefinition Function { get; }

    /// <summary>The resolved schedule; null when indexing failed.</summary>
    public string? ResolvedSchedule { get; }

    /// <summary>Why the function is in error (the host's indexing message); null when it indexed.</summary>
    public string? Error { get; }

    public bool UseMonitor => !Function.Trigger.TryGetProperty("useMonitor", out var m) || m.GetBoolean();

    public static TimerTrigger Index(FunctionDefinition function, AppSettings settings)
    {
        var expression = function.Trigger.GetProperty("schedule").GetString()!;
        try
        {
            var resolved = settings.ResolveWholeString(expression);
            var seconds = resolved.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length == 6;
            if (CrontabSchedule.TryParse(resolved, new CrontabSchedule.ParseOptions { IncludingSeconds = seconds }) is null && !TimeSpan.TryParse(resolved, out _))
            {
                throw new ArgumentException($"The schedule expression '{resolved}' was not recognized as a valid cron expression or timespan string.");
            }

            return new TimerTrigger(function, resolved, null);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            return new TimerTrigger(function, null, $"The '{function.Name}' function is in error: {e.Message}");
        }
    }

    public HttpRequestMessage InvocationRequest(int handlerPort, string hostVersion, bool isPastDue, DateTime now)
    {
        if (Error is not null)
        {
            throw new InvalidOperationException(Error + " The host never fires it.");
        }

        var next = CrontabSchedule.Parse(ResolvedSchedule!, new CrontabSchedule.ParseOptions { IncludingSeconds = ResolvedSchedule!.Split(' ').Length == 6 });
        var status = UseMonitor
            ? new JsonObject { ["Last"] = Iso(next.GetNextOccurrence(now.AddDays(-1))), ["Next"] = Iso(now), ["LastUpdated"] = Iso(now) }
            : null;
        var payload = new JsonObject
        {
            ["Data"] = new JsonObject
            {
                [Function.Trigger.GetProperty("name").GetString()!] = new JsonObject
                {
                    ["Schedule"] = new JsonObject { ["AdjustForDST"] = true },
                    ["ScheduleStatus"] = status,
                    ["IsPastDue"] = isPastDue,
                },
            },
            ["Metadata"] = new JsonObject
            {
                ["sys"] = new JsonObject { ["MethodName"] = Function.Name, ["UtcNow"] = Iso(now), ["RandGuid"] = Guid.NewGuid().ToString() },
            },
        };
        var request = new HttpRequestMessage(HttpMethod.Post, new UriBuilder("http", "127.0.0.1", handlerPort, Function.Name).ToString())
        {
            Content = new ChunkedJsonContent(payload),
        };
        request.Headers.Add("X-Azure-Functions-HostVersion", hostVersion);
        request.Headers.Add("X-Azure-Functions-InvocationId", Guid.NewGuid().ToString());
        request.Headers.UserAgent.ParseAdd($"Azure-Functions-Host/{hostVersion}");
        return request;
    }

    /// <summary>What the host makes of the handler's answer; throws where the host fails the invocation.</summary>
    public async Task<IReadOnlyList<string>> ReadResultAsync(HttpResponseMessage answer, HostLog log)
    {
        answer.EnsureSuccessStatusCode();
        JsonElement result;
        try
        {
            result = JsonDocument.Parse(await answer.Content.ReadAsStringAsync()).RootElement;
        }
        catch (JsonException e)
        {
            throw new InvalidOperationException("Invalid HttpResponseMessage: the body is not JSON.", e);
        }

        if (result.ValueKind == JsonValueKind.Null)
        {
            // The host's `if (result != null)` never completes the invocation: it hangs until the function timeout.
            throw new TimeoutException("A null result leaves the invocation hanging until the function timeout.");
        }

        var logs = result.TryGetProperty("Logs", out var l) && l.ValueKind == JsonValueKind.Array
            ? l.EnumerateArray().Select(e => e.GetString() ?? "").ToList()
            : [];
        foreach (var line in logs)
        {
            log.Add(Microsoft.Extensions.Logging.LogLevel.Information, $"Function.{Function.Name}.User", line);
        }

        return logs;
    }

    private static string Iso(DateTime time) => time.ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Like <c>ObjectContent</c>: no length known up front, so the request is chunked.</summary>
    private sealed class ChunkedJsonContent : HttpContent
    {
        private readonly JsonNode _payload;

        public ChunkedJsonContent(JsonNode payload)
        {
            _payload = payload;
            Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        }

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            await using var writer = new Utf8JsonWriter(stream);
            _payload.WriteTo(writer);
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}

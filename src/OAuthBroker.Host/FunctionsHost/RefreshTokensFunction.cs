using System.Text.Json;
using System.Text.Json.Serialization;
using OAuthBroker.Scheduling;

namespace OAuthBroker.Host.FunctionsHost;

/// <summary>
/// The timer function under the Functions host: the host posts <c>{Data, Metadata}</c> to <c>/RefreshTokens</c> on the
/// schedule in <c>RefreshTokens/function.json</c> (app setting <see cref="RefreshScheduleSetting.Name"/>) and expects
/// <c>{Outputs, Logs, ReturnValue}</c>; a non-2xx answer fails the invocation. Only the host can reach this route:
/// it is mapped only when the handler listens on the host's loopback port.
/// </summary>
public static class RefreshTokensFunction
{
    public const string Name = "RefreshTokens";

    public static void MapRefreshTokensFunction(this IEndpointRouteBuilder app) =>
        app.MapPost("/" + Name, async (InvocationRequest request, ScheduledRun run, CancellationToken ct) =>
        {
            var pastDue = request.Data?.TryGetValue("timer", out var timer) == true && timer.ValueKind == JsonValueKind.Object
                && timer.TryGetProperty("IsPastDue", out var flag) && flag.ValueKind == JsonValueKind.True;
            var report = await run.RunAsync(ct);
            return TypedResults.Ok(new InvocationResponse(new Dictionary<string, object?>(), [report.Summary(pastDue)], report));
        });
}

/// <summary>What the Functions host sends for a non-HTTP trigger.</summary>
public sealed record InvocationRequest(Dictionary<string, JsonElement>? Data, Dictionary<string, JsonElement>? Metadata);

/// <summary>What the Functions host expects back (names are the contract's, PascalCase).</summary>
public sealed record InvocationResponse(
    [property: JsonPropertyName("Outputs")] Dictionary<string, object?> Outputs,
    [property: JsonPropertyName("Logs")] IReadOnlyList<string> Logs,
    [property: JsonPropertyName("ReturnValue")] object? ReturnValue);

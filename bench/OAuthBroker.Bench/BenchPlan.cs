namespace OAuthBroker.Bench;

/// <summary>How much of everything one run does: <c>--quick</c> (the CI smoke step) or full.</summary>
internal sealed record BenchPlan(bool Quick, int StartUps, int LoadSeconds, int LoadRepeats, int Flows, int IndexSize, int CountedRefreshes)
{
    public const int Connections = 16;

    public static BenchPlan For(bool quick) => quick
        ? new BenchPlan(true, StartUps: 3, LoadSeconds: 5, LoadRepeats: 1, Flows: 60, IndexSize: 20_000, CountedRefreshes: 10)
        : new BenchPlan(false, StartUps: 7, LoadSeconds: 10, LoadRepeats: 3, Flows: 300, IndexSize: 100_000, CountedRefreshes: 40);

    public string Describe() => $"{(Quick ? "quick" : "full")} run ({StartUps} start-ups per side, {LoadRepeats} × {LoadSeconds} s loads, {Flows} link flows)";
}

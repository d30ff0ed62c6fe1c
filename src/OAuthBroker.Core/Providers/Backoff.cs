namespace OAuthBroker.Providers;

/// <summary>Exponential waits: <c>initial</c>, doubling, capped at <c>max</c>, until <c>total</c> is spent.</summary>
public static class Backoff
{
    public static IEnumerable<TimeSpan> Delays(TimeSpan initial, TimeSpan max, TimeSpan total)
    {
        var spent = TimeSpan.Zero;
        var next = initial;
        while (spent + next <= total)
        {
            yield return next;
            spent += next;
            next = next * 2 > max ? max : next * 2;
        }
    }
}

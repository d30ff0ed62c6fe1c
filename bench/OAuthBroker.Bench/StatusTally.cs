namespace OAuthBroker.Bench;

/// <summary>
/// Answers counted per status: the expected one is success, everything else (another status, a connection error, a
/// time-out) is an error the table prints with its count, so a load that measured refusals cannot pass for a result.
/// </summary>
internal sealed class StatusTally(int expectedStatus)
{
    private readonly Dictionary<string, long> _unexpected = new(StringComparer.Ordinal);

    public int ExpectedStatus { get; } = expectedStatus;

    public long Expected { get; private set; }

    public long Unexpected => _unexpected.Values.Sum();

    public long Total => Expected + Unexpected;

    /// <summary>Share of the answers that were not the expected status; 0 when nothing was sent.</summary>
    public double UnexpectedShare => Total == 0 ? 0 : (double)Unexpected / Total;

    public void Add(int status, long count = 1)
    {
        if (status == ExpectedStatus)
        {
            Expected += count;
        }
        else
        {
            AddError(status.ToString(System.Globalization.CultureInfo.InvariantCulture), count);
        }
    }

    public void AddExpected(long count = 1) => Expected += count;

    /// <summary>An answer that never came: "connection error", "timeout", or what a flow stage got instead.</summary>
    public void AddError(string what, long count = 1)
    {
        if (count > 0)
        {
            _unexpected[what] = _unexpected.GetValueOrDefault(what) + count;
        }
    }

    /// <summary>Adds another tally's answers; <paramref name="prefix"/> names their source (e.g. "grant ").</summary>
    public void AddAll(StatusTally other, string prefix = "")
    {
        Expected += other.Expected;
        foreach (var (what, count) in other._unexpected)
        {
            AddError(prefix + what, count);
        }
    }

    /// <summary>"none", or e.g. "429 ×1,204; timeout ×3".</summary>
    public string Describe() => _unexpected.Count == 0
        ? "none"
        : string.Join("; ", _unexpected.OrderByDescending(p => p.Value).Select(p => $"{p.Key} ×{p.Value:N0}"));
}

using System.Globalization;
using System.Text;

namespace OAuthBroker.Bench;

/// <summary>
/// The one table the benchmark prints. Each row says what it measured, against what, the goal, whether it was met,
/// and every answer that was not the expected one. A row whose errors exceed <see cref="MaxErrorShare"/> of its
/// answers is marked INVALID: it measured something other than what it names, and the run exits non-zero.
/// </summary>
internal sealed class ResultTable
{
    /// <summary>Above this share of non-expected answers a row is no measurement (the harness or the broker broke).</summary>
    public const double MaxErrorShare = 0.01;

    private readonly List<string[]> _rows = [];

    public List<string> InvalidRows { get; } = [];

    public void Add(string measure, string broker, string detail, string ratio, string goal, bool? met, StatusTally? answers = null)
    {
        var errors = answers?.Describe() ?? "";
        var invalid = answers is not null && (answers.UnexpectedShare > MaxErrorShare || answers.Expected == 0);
        if (invalid)
        {
            InvalidRows.Add(measure);
        }

        _rows.Add([measure, broker, detail, ratio, goal, invalid ? "INVALID" : met switch { true => "yes", false => "no", null => "—" }, errors]);
    }

    /// <summary>A stage that could not run (a crash inside it): the row says so, and the run exits non-zero.</summary>
    public void AddFailure(string stage, Exception exception)
    {
        InvalidRows.Add(stage);
        _rows.Add([stage, "—", $"stage failed: {exception.GetType().Name}: {exception.Message.ReplaceLineEndings(" ")}", "", "", "INVALID", "stage failed"]);
    }

    public string Render(string heading)
    {
        var table = new StringBuilder();
        table.AppendLine(heading);
        table.AppendLine();
        table.AppendLine("| Measure | Broker | Peer / baseline / detail | Ratio | Goal | Met | Errors (non-expected answers) |");
        table.AppendLine("|---|---|---|---|---|---|---|");
        foreach (var row in _rows)
        {
            table.AppendLine(CultureInfo.InvariantCulture, $"| {string.Join(" | ", row.Select(c => c.Replace("|", "/", StringComparison.Ordinal)))} |");
        }

        return table.ToString();
    }
}

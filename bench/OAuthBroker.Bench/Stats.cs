using System.Globalization;

namespace OAuthBroker.Bench;

/// <summary>Medians and invariant formatting for the table.</summary>
internal static class Stats
{
    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? double.NaN : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    public static string F(double value, string format = "0.0") =>
        double.IsNaN(value) ? "—" : value.ToString(format, CultureInfo.InvariantCulture);

    public static string Ratio(double value, string format = "0.00") => double.IsNaN(value) || double.IsInfinity(value) ? "" : F(value, format) + "×";
}

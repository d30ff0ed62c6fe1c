using System.Globalization;

namespace OAuthBroker.Storage.Tables;

/// <summary>
/// Builds OData <c>$filter</c> expressions with correctly quoted literals. Only the simple comparisons Azurite
/// supports are offered (it does not support "complex conditions").
/// </summary>
public static class TableFilter
{
    public static string Equal(string property, string value) => $"{property} eq {Quote(value)}";

    public static string GreaterThanOrEqual(string property, string value) => $"{property} ge {Quote(value)}";

    public static string GreaterThan(string property, string value) => $"{property} gt {Quote(value)}";

    public static string LessThan(string property, string value) => $"{property} lt {Quote(value)}";

    public static string LessThanOrEqual(string property, DateTimeOffset value) =>
        $"{property} le datetime'{value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture)}'";

    public static string And(params string[] conditions) => string.Join(" and ", conditions.Select(c => "(" + c + ")"));

    /// <summary>OData string literal: single quotes doubled.</summary>
    public static string Quote(string value) => "'" + value.Replace("'", "''", StringComparison.Ordinal) + "'";
}

using System.Text.RegularExpressions;

namespace OAuthBroker.Storage.Tables;

/// <summary>
/// The Table service's rule for table names (3–63 alphanumeric characters, starting with a letter; "Understanding the
/// Table service data model", Table names). The pattern is compiled at build time: the options validation runs it at
/// start-up, where constructing an interpreted <see cref="Regex"/> cost the cold start its parser and cache.
/// </summary>
internal static partial class TableNames
{
    public static bool IsValid(string? name) => name is not null && Pattern().IsMatch(name);

    [GeneratedRegex("^[A-Za-z][A-Za-z0-9]{2,62}$", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}

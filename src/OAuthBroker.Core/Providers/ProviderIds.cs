namespace OAuthBroker.Providers;

public static class ProviderIds
{
    /// <summary>Provider ids are lowercase letters, digits and dashes, at most 32 characters.</summary>
    public static bool IsWellFormed(string value) =>
        value.Length is > 0 and <= 32 && value.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-');
}

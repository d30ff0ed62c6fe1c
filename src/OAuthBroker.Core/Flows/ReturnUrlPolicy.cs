using Microsoft.Extensions.Options;
using OAuthBroker.Errors;
using OAuthBroker.Providers;

namespace OAuthBroker.Flows;

/// <summary>
/// Decides where a finished flow may send the browser: only to allow-listed origins (exact match), so the
/// broker is never an open redirector (RFC 9700 §4.11.1).
/// </summary>
public sealed class ReturnUrlPolicy(IOptions<BrokerOptions> options)
{
    /// <summary>Longest return URL, as given and once escaped; it bounds the flow cookie (see <c>FlowCookieTests</c>).</summary>
    public const int MaxLength = 2048;

    /// <summary>Resolves the caller's returnUrl (absolute, or a path on the broker) or explains the refusal.</summary>
    public bool TryResolve(string? returnUrl, out Uri resolved, out BrokerError? error)
    {
        var broker = options.Value;
        resolved = broker.PublicBase;
        error = null;

        if (string.IsNullOrEmpty(returnUrl))
        {
            resolved = broker.DefaultReturnUrl is { Length: > 0 } configured ? new Uri(broker.PublicBase, configured) : broker.PublicBase;
            return true;
        }

        if (returnUrl.Length > MaxLength)
        {
            error = BrokerErrors.InvalidReturnUrl($"is longer than {MaxLength} characters");
            return false;
        }

        // Backslashes and control characters are normalised differently by browsers and servers; refuse them
        // outright rather than guess (e.g. "/\evil.example" is "//evil.example" to a browser).
        if (returnUrl.Any(c => c == '\\' || char.IsControl(c) || char.IsWhiteSpace(c)))
        {
            error = BrokerErrors.InvalidReturnUrl("contains a backslash, whitespace or a control character");
            return false;
        }

        Uri candidate;
        if (returnUrl.StartsWith('/'))
        {
            // A path on the broker itself; "//host" would be scheme-relative, i.e. another origin.
            if (returnUrl.StartsWith("//", StringComparison.Ordinal))
            {
                error = BrokerErrors.InvalidReturnUrl("is scheme-relative (starts with //)");
                return false;
            }

            candidate = new Uri(broker.PublicBase, returnUrl);
        }
        else if (!Uri.TryCreate(returnUrl, UriKind.Absolute, out candidate!))
        {
            error = BrokerErrors.InvalidReturnUrl("is neither an absolute URL nor a path starting with /");
            return false;
        }

        if (!string.IsNullOrEmpty(candidate.UserInfo))
        {
            error = BrokerErrors.InvalidReturnUrl("carries user information");
            return false;
        }

        if (!string.IsNullOrEmpty(candidate.Fragment))
        {
            // The broker puts the completion code in the fragment of the return URL; a caller's own fragment would be lost.
            error = BrokerErrors.InvalidReturnUrl("carries a fragment (#…); the broker uses the fragment to deliver the completion code");
            return false;
        }

        if (!IsFrontendOrigin(candidate) || (candidate.Scheme != Uri.UriSchemeHttps && candidate.Scheme != Uri.UriSchemeHttp))
        {
            error = BrokerErrors.InvalidReturnUrl("points to an origin that is not in Broker:AllowedReturnOrigins");
            return false;
        }

        if (candidate.AbsoluteUri.Length > MaxLength)
        {
            // The URL rides sealed in the flow's cookie: its escaped form is what counts (an 'é' is six characters there).
            error = BrokerErrors.InvalidReturnUrl($"is longer than {MaxLength} characters once escaped");
            return false;
        }

        resolved = candidate;
        return true;
    }

    /// <summary>
    /// True when <paramref name="url"/> is exactly one of <c>Broker:CompletionPages</c> (the whole URL, compared in its
    /// normalised form: no prefix, origin or path-segment matching).
    /// </summary>
    public bool IsCompletionPage(Uri url) =>
        url.IsAbsoluteUri && CompletionPages.Contains(url.AbsoluteUri, StringComparer.Ordinal);

    private string[] CompletionPages => _completionPages ??= [.. options.Value.CompletionPages
        .Select(p => Uri.TryCreate(p, UriKind.Absolute, out var uri) ? uri.AbsoluteUri : null)
        .OfType<string>()];

    private string[]? _completionPages;

    /// <summary>A completion page entry as start-up accepts it: absolute, http(s) (https unless loopback), no user information or fragment, on a frontend origin.</summary>
    public static bool IsAcceptableCompletionPage(string value, BrokerOptions broker)
    {
        if (!EndpointRules.IsAcceptableEndpoint(value, out var uri) || !string.IsNullOrEmpty(uri!.UserInfo) || !string.IsNullOrEmpty(uri.Fragment)
            || value.Contains('#', StringComparison.Ordinal) || uri.AbsoluteUri.Length > MaxLength)
        {
            return false;
        }

        return IsOnOneOf(uri, FrontendOriginsOf(broker));
    }

    /// <summary>True when the URL is on the broker's own origin or one of <c>Broker:AllowedReturnOrigins</c> (exact match).</summary>
    public bool IsFrontendOrigin(Uri url) => url.IsAbsoluteUri && IsOnOneOf(url, FrontendOrigins);

    /// <summary>The configured origins, parsed once (options are read once at start-up).</summary>
    private string[] FrontendOrigins => _frontendOrigins ??= FrontendOriginsOf(options.Value);

    private string[]? _frontendOrigins;

    /// <summary>
    /// The broker's own origin and each of <c>Broker:AllowedReturnOrigins</c>, as <c>scheme://host[:port]</c>. Also used
    /// by the start-up validator, so a setting that does not parse (refused there) contributes nothing rather than throwing.
    /// </summary>
    private static string[] FrontendOriginsOf(BrokerOptions broker) => [.. broker.AllowedReturnOrigins
        .Select(o => TryParseOrigin(o, out var parsed) ? parsed : null)
        .Append(Uri.TryCreate(broker.PublicBaseUrl, UriKind.Absolute, out var publicBase) ? publicBase.GetLeftPart(UriPartial.Authority) : null)
        .OfType<string>()];

    private static bool IsOnOneOf(Uri url, string[] origins)
    {
        var origin = url.GetLeftPart(UriPartial.Authority);
        return origins.Any(o => string.Equals(o, origin, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>Normalises a configured origin to <c>scheme://host[:port]</c>.</summary>
    public static bool TryParseOrigin(string value, out string? origin)
    {
        origin = null;
        if (!EndpointRules.IsAcceptableEndpoint(value, out var uri) || uri!.AbsolutePath != "/" || !string.IsNullOrEmpty(uri.Query))
        {
            return false;
        }

        origin = uri.GetLeftPart(UriPartial.Authority);
        return true;
    }
}

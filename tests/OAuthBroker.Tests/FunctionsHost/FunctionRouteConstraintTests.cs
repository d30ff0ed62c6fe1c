using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.DependencyInjection;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.FunctionsHost;

/// <summary>
/// Every <c>function.json</c> route's constraints, run the way the host runs them: an ASP.NET Core <see cref="Route"/> with
/// the full inline constraint resolver, matched against the path as Kestrel decoded it (every <c>%XX</c> but <c>%2F</c>;
/// <see cref="Emulation.FunctionRouter"/> cites the host's source). A parameter value the host could turn into another
/// path (<c>\</c> becomes <c>/</c>, a decoded <c>?</c>/<c>#</c> ends the path, dot segments are resolved) or that looks
/// like a legitimate value without being one (bidi controls, fullwidth forms, the Kelvin sign that a case-insensitive
/// <c>[a-z]</c> matches as <c>k</c>) must not match. A well-formed value must, so the check can fail.
/// </summary>
public sealed class FunctionRouteConstraintTests
{
    /// <summary>Decoded values, each one of the review's classes of hostile input.</summary>
    public static readonly string[] Hostile =
    [
        "\\", "a\\b", "..\\links",                      // backslash: '/' after new Uri(...)
        "%2F", "a%2Fb",                                 // an encoded slash stays encoded in the decoded path
        "?", "a?b", "#", "a#b",                         // a decoded ? or # ends the forwarded path
        "%", "%41", "%2e%2e", "a%b",                    // a literal % (sent as %25): decoded again by someone else
        ".", "..", "...",                               // dot segments
        " ", "a b", "\t", "a\u00A0b", "\u3000", "a\n",  // whitespace, ASCII and not
        "\u202Eab", "ab\u200F", "\u2066a\u2069", "\u061C1", // bidi controls
        "ｂｙｂｉｔ", "１２３", "\uFF0E\uFF0E", "a\uFF0Fb", // fullwidth letters, digits, dots, solidus
        "\u212A", "\u212Araken", "12\u212A",            // the Kelvin sign, case-equivalent to 'k'
        "\u017Fol", "\u0130d", "\u0131d",               // long s, dotted and dotless I
        "",                                              // nothing
    ];

    private static readonly Dictionary<string, string> WellFormed = new(StringComparer.Ordinal)
    {
        ["provider"] = "bybit",
        ["accountId"] = "424242",
    };

    private static readonly IServiceProvider Routing = new ServiceCollection().AddLogging().AddRouting().BuildServiceProvider();

    public static TheoryData<string, string> Parameters()
    {
        var data = new TheoryData<string, string>();
        foreach (var (function, route) in Routes())
        {
            foreach (var parameter in RoutePatternFactory.Parse(route).Parameters)
            {
                data.Add(function, parameter.Name);
            }
        }

        return data;
    }

    private static IEnumerable<(string Function, string Route)> Routes() =>
        Emulation.ScriptRoot.Read(HandlerProcess.ScriptRoot).Functions.Where(f => f.IsHttpTrigger).Select(f => (f.Name, f.Route));

    [Theory]
    [MemberData(nameof(Parameters))]
    public async Task Each_route_parameter_refuses_every_hostile_value_and_takes_a_well_formed_one(string function, string parameter)
    {
        var route = Routes().Single(r => r.Function == function).Route;
        var matcher = new Route(new RouteHandler(_ => Task.CompletedTask), "api/" + route, Routing.GetRequiredService<IInlineConstraintResolver>());
        WellFormed.ShouldContainKey(parameter, $"{function}: a new parameter needs a well-formed value here");

        (await MatchesAsync(matcher, Path(route, parameter, WellFormed[parameter]))).ShouldBeTrue($"{function}: {{{parameter}}} = {WellFormed[parameter]}");
        foreach (var value in Hostile)
        {
            (await MatchesAsync(matcher, Path(route, parameter, value))).ShouldBeFalse($"{function}: {{{parameter}}} = \"{Escape(value)}\" must not match");
        }
    }

    [Fact]
    public void Every_HTTP_function_has_its_parameters_covered_here()
    {
        Parameters().Count.ShouldBeGreaterThan(0);
        Routes().SelectMany(r => RoutePatternFactory.Parse(r.Route).Parameters).Select(p => p.Name).Distinct().ShouldAllBe(name => WellFormed.ContainsKey(name));
    }

    /// <summary>The decoded path with <paramref name="parameter"/> set to <paramref name="value"/> and the others well formed.</summary>
    private static string Path(string route, string parameter, string value) =>
        "/api/" + string.Join('/', RoutePatternFactory.Parse(route).PathSegments.Select(segment => string.Concat(segment.Parts.Select(part => part switch
        {
            RoutePatternLiteralPart literal => literal.Content,
            RoutePatternParameterPart p => p.Name == parameter ? value : WellFormed[p.Name],
            _ => throw new NotSupportedException(part.ToString()),
        }))));

    private static async Task<bool> MatchesAsync(Route route, string decodedPath)
    {
        var http = new DefaultHttpContext { RequestServices = Routing };
        http.Request.Path = new PathString(decodedPath);
        var context = new RouteContext(http);
        await route.RouteAsync(context);
        return context.Handler is not null;
    }

    private static string Escape(string value) => string.Concat(value.Select(c => c is >= ' ' and <= '~' ? c.ToString() : $"\\u{(int)c:X4}"));
}

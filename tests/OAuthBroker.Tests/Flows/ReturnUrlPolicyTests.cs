using Microsoft.Extensions.Options;
using OAuthBroker.Flows;

namespace OAuthBroker.Tests.Flows;

/// <summary>RFC 9700 §4.11.1: the broker is never an open redirector.</summary>
public sealed class ReturnUrlPolicyTests
{
    private static readonly ReturnUrlPolicy Policy = new(Options.Create(new BrokerOptions
    {
        PublicBaseUrl = "https://broker.example.com",
        AllowedReturnOrigins = ["https://app.example.com", "http://localhost:5173"],
    }));

    [Theory]
    [InlineData("https://app.example.com/connected?x=1", "https://app.example.com/connected?x=1")]
    [InlineData("https://APP.example.com/done", "https://app.example.com/done")]
    [InlineData("http://localhost:5173/cb", "http://localhost:5173/cb")]
    [InlineData("/demo/callback.html", "https://broker.example.com/demo/callback.html")]
    [InlineData("https://broker.example.com/x", "https://broker.example.com/x")]
    public void Allowed_return_urls_resolve(string returnUrl, string expected)
    {
        Policy.TryResolve(returnUrl, out var resolved, out var error).ShouldBeTrue();
        error.ShouldBeNull();
        resolved.AbsoluteUri.ShouldBe(expected);
    }

    [Fact]
    public void No_return_url_means_the_broker_itself()
    {
        Policy.TryResolve(null, out var resolved, out _).ShouldBeTrue();
        resolved.AbsoluteUri.ShouldBe("https://broker.example.com/");
    }

    [Theory]
    [InlineData("https://evil.example.com/")]
    [InlineData("https://app.example.com.evil.example/")]
    [InlineData("https://app.example.com:444/")]
    [InlineData("http://app.example.com/")]
    [InlineData("//evil.example.com/")]
    [InlineData("/\\evil.example.com")]
    [InlineData("\\\\evil.example.com")]
    [InlineData("https:evil.example.com")]
    [InlineData("javascript:alert(1)")]
    [InlineData("data:text/html,hi")]
    [InlineData("https://user:pass@app.example.com/")]
    [InlineData("https://app.example.com@evil.example.com/")]
    [InlineData("/%2F%2Fevil.example.com")]
    [InlineData(" https://app.example.com/")]
    [InlineData("https://app.example.com/\r\nSet-Cookie:x")]
    [InlineData("evil.example.com")]
    public void Everything_else_is_refused(string returnUrl)
    {
        var accepted = Policy.TryResolve(returnUrl, out var resolved, out var error);
        if (accepted)
        {
            // "/%2F%2F…" is a path on the broker itself, which is allowed; it must stay on the broker's origin.
            resolved.GetLeftPart(UriPartial.Authority).ShouldBe("https://broker.example.com");
            return;
        }

        error!.Code.ShouldBe("invalid_return_url");
    }

    [Fact]
    public void Overlong_return_urls_are_refused()
    {
        Policy.TryResolve("https://app.example.com/" + new string('a', 3000), out _, out var error).ShouldBeFalse();
        error!.Code.ShouldBe("invalid_return_url");
    }

    [Fact]
    public void Configuration_is_validated_at_start_up_with_every_error_at_once()
    {
        var result = new BrokerOptions.Validator().Validate(null, new BrokerOptions
        {
            PublicBaseUrl = "http://broker.example.com/path",
            AllowedReturnOrigins = ["ftp://x", "https://ok.example.com"],
            FlowLifetime = TimeSpan.FromHours(2),
        });

        result.Failed.ShouldBeTrue();
        result.Failures!.Count().ShouldBe(3);
    }

    [Fact]
    public void Completion_pages_match_as_whole_urls_and_bad_entries_fail_at_start_up()
    {
        var options = new BrokerOptions
        {
            PublicBaseUrl = "https://broker.example.com",
            AllowedReturnOrigins = ["https://app.example.com"],
            CompletionPages = ["https://APP.example.com/connected", "https://broker.example.com/demo/callback.html"],
        };
        new BrokerOptions.Validator().Validate(null, options).Succeeded.ShouldBeTrue();
        var policy = new ReturnUrlPolicy(Options.Create(options));
        policy.IsCompletionPage(new Uri("https://app.example.com/connected")).ShouldBeTrue("host case is normalised");
        policy.IsCompletionPage(new Uri("https://app.example.com:443/connected")).ShouldBeTrue("so is the default port");
        foreach (var other in new[] { "https://app.example.com/connected/", "https://app.example.com/connected?x=1", "https://app.example.com/Connected", "https://app.example.com/", "https://app.example.com/connected/more" })
        {
            policy.IsCompletionPage(new Uri(other)).ShouldBeFalse(other);
        }

        var bad = new BrokerOptions.Validator().Validate(null, new BrokerOptions
        {
            PublicBaseUrl = "https://broker.example.com",
            AllowedReturnOrigins = ["https://app.example.com"],
            CompletionPages = ["https://other.example.com/connected", "https://app.example.com/connected#x", "http://app.example.com/connected", "/connected", "https://u:p@app.example.com/c"],
        });
        bad.Failed.ShouldBeTrue();
        bad.Failures!.Count().ShouldBe(5);
    }

    [Fact]
    public void A_return_url_that_grows_past_the_limit_when_escaped_is_refused()
    {
        // 1,000 characters as given, six times that once each 'é' is escaped (%C3%A9): the escaped form rides in the flow cookie.
        var returnUrl = "https://app.example.com/" + new string('é', 1000);
        returnUrl.Length.ShouldBeLessThan(ReturnUrlPolicy.MaxLength);
        Policy.TryResolve(returnUrl, out _, out var error).ShouldBeFalse();
        error!.Detail.ShouldContain("once escaped");
        Policy.TryResolve("https://app.example.com/" + new string('é', 300), out var fits, out _).ShouldBeTrue();
        fits.AbsoluteUri.Length.ShouldBeLessThanOrEqualTo(ReturnUrlPolicy.MaxLength);
    }
}

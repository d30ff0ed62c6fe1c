using System.Globalization;
using System.Text.RegularExpressions;
using OAuthBroker.Events;
using OAuthBroker.LocalEnvironment;

namespace OAuthBroker.Tests.Deployment;

/// <summary>
/// The template's <c>webhookEndpoints</c> parameter bounds what the broker's options validation bounds: the endpoint
/// name (part of app setting names) and the vault secret name, so a deployment cannot carry a value the broker refuses
/// at start-up for its length. (Bicep has no pattern decorator; the characters are left to the broker, see the comment
/// in infra/types.bicep.)
/// </summary>
public sealed partial class WebhookEndpointBoundsTests
{
    private static readonly string Types = File.ReadAllText(Path.Combine(RepositoryRoot.Find(), "infra", "types.bicep"));

    [Theory]
    [InlineData("name", 'a')]
    [InlineData("secretName", 'A')]
    public void The_template_bounds_a_webhook_endpoint_field_exactly_as_the_broker_validates_it(string field, char valid)
    {
        var (min, max) = BoundsOf(field);

        Accepts(field, new string(valid, max)).ShouldBeTrue($"{field} of the template's greatest length {max}");
        Accepts(field, new string(valid, max + 1)).ShouldBeFalse($"the broker refuses {field} of length {max + 1}, so the template must too");
        min.ShouldBe(1);
        Accepts(field, "").ShouldBeFalse();
    }

    /// <summary>The <c>@minLength</c>/<c>@maxLength</c> decorators on the field of <c>webhookEndpointType</c>.</summary>
    private static (int Min, int Max) BoundsOf(string field)
    {
        var type = Types[Types.IndexOf("type webhookEndpointType", StringComparison.Ordinal)..];
        var decorated = Decorators().Matches(type).FirstOrDefault(m => m.Groups["field"].Value == field);
        decorated.ShouldNotBeNull($"webhookEndpointType.{field} has no @minLength and @maxLength");
        return (int.Parse(decorated.Groups["min"].Value, CultureInfo.InvariantCulture), int.Parse(decorated.Groups["max"].Value, CultureInfo.InvariantCulture));
    }

    private static bool Accepts(string field, string value)
    {
        var (name, secret) = field == "name" ? (value, "webhook-secret") : ("platform", value);
        var options = new EventsOptions();
        options.Endpoints[name] = new WebhookEndpointOptions { Url = "https://receiver.example/hook", SecretName = secret };
        return new EventsOptions.Validator().Validate(null, options).Succeeded;
    }

    [GeneratedRegex(@"^  @minLength\((?<min>\d+)\)\r?\n  @maxLength\((?<max>\d+)\)\r?\n  (?<field>\w+): ", RegexOptions.Multiline)]
    private static partial Regex Decorators();
}

using Microsoft.Extensions.Options;

namespace OAuthBroker.Host.Endpoints;

/// <summary>
/// Where the rate limit reads the client's address (section <c>RateLimit</c>). Standalone that is the connection's peer;
/// behind a front end it is the header that front end <b>overwrites</b>. Azure App Service: "The client-ip header is
/// added on the Front End role … App Service will overwrite any existing header so they cannot be spoofed"
/// (Azure/app-service-linux-docs <c>Things_You_Should_Know/headers.md</c>), with the peer as <c>ip:port</c>
/// (azure-webjobs-sdk <c>ApplicationInsightsLogger.cs:684-695</c>: "For Web sites in Azure header contains ip address with
/// port"). Behind Azure Front Door, <c>X-Azure-ClientIP</c> — but anyone who reaches the app directly can write that
/// header, so it is believed only on a request that carries this Front Door's own <c>X-Azure-FDID</c> ("a reference
/// string that identifies the request came from a specific Front Door resource … used to restrict your origin to a
/// specific Front Door", Learn frontdoor/front-door-http-headers-protocol, "From the Front Door to the backend").
/// X-Forwarded-For's left-most entry is whatever the client wrote; only the entry the nearest proxy appended (the
/// right-most) is that proxy's word, so a listed header is read right-most too.
/// </summary>
public sealed class ClientAddressOptions
{
    public const string SectionName = "RateLimit";

    /// <summary>The platform's own header under the Functions host (App Service front end).</summary>
    public const string AppServiceHeader = "Client-IP";

    /// <summary>Azure Front Door's client address header, and the header naming the Front Door profile that sent it.</summary>
    public const string FrontDoorHeader = "X-Azure-ClientIP";
    public const string FrontDoorIdHeader = "X-Azure-FDID";

    /// <summary>
    /// Header holding the client's address, written by a front end that overwrites what the client sent. Default:
    /// <see cref="AppServiceHeader"/> under the Functions host, none standalone (the connection's peer). Set it to
    /// <c>X-Azure-ClientIP</c> behind Front Door (with <see cref="FrontDoorId"/>), or to an empty string to use the
    /// connection's peer.
    /// </summary>
    public string? ClientAddressHeader { get; set; }

    /// <summary>
    /// The Front Door profile's id (its <c>frontDoorId</c>, sent as <c>X-Azure-FDID</c>). Required with
    /// <c>X-Azure-ClientIP</c>; when set, a request without this exact id gets no client address and is refused.
    /// </summary>
    public string? FrontDoorId { get; set; }

    /// <summary>What the rate limit reads, from configuration (the limiter is built before options exist).</summary>
    public static ClientAddressSource SourceFor(IConfiguration configuration, bool underFunctionsHost)
    {
        var section = configuration.GetSection(SectionName);
        var header = section[nameof(ClientAddressHeader)] switch
        {
            null => underFunctionsHost ? AppServiceHeader : null,
            "" => null,
            var named => named,
        };
        return new ClientAddressSource(header, string.IsNullOrWhiteSpace(section[nameof(FrontDoorId)]) ? null : section[nameof(FrontDoorId)]!.Trim());
    }

    internal sealed class Validator : IValidateOptions<ClientAddressOptions>
    {
        public ValidateOptionsResult Validate(string? name, ClientAddressOptions options)
        {
            var frontDoorHeader = string.Equals(options.ClientAddressHeader, FrontDoorHeader, StringComparison.OrdinalIgnoreCase);
            var frontDoorId = !string.IsNullOrWhiteSpace(options.FrontDoorId);
            return (frontDoorHeader, frontDoorId) switch
            {
                (true, false) => ValidateOptionsResult.Fail($"{SectionName}:{nameof(ClientAddressHeader)} is {FrontDoorHeader}, which anyone reaching the app directly can write: set {SectionName}:{nameof(FrontDoorId)} to the Front Door profile's id so only requests carrying it in {FrontDoorIdHeader} are believed."),
                // Behind Front Door the platform's Client-IP (or the peer) is Front Door's own edge: every client would
                // share a handful of buckets.
                (false, true) => ValidateOptionsResult.Fail($"{SectionName}:{nameof(FrontDoorId)} is set, so requests come through Front Door, but {SectionName}:{nameof(ClientAddressHeader)} is not {FrontDoorHeader}: the address read would be Front Door's own. Set {SectionName}:{nameof(ClientAddressHeader)} to {FrontDoorHeader}."),
                _ => ValidateOptionsResult.Success,
            };
        }
    }
}

/// <summary>The header the client's address comes from (null: the connection's peer) and the Front Door id a request must carry.</summary>
public sealed record ClientAddressSource(string? Header, string? FrontDoorId);

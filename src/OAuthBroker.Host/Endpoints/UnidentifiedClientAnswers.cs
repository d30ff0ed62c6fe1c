using OAuthBroker.Errors;

namespace OAuthBroker.Host.Endpoints;

/// <summary>
/// What a request without a client address is told, and what the operator is told (once per reason per process: the
/// cause is the deployment, not the request, and one line says it; a flood of them would bury everything else).
/// </summary>
public sealed partial class UnidentifiedClientAnswers(ILogger<UnidentifiedClientAnswers> logger)
{
    private int _headerMissingLogged;
    private int _notFromFrontDoorLogged;

    public BrokerError Answer(UnidentifiedClient failure, ClientAddressSource source)
    {
        switch (failure)
        {
            case UnidentifiedClient.NotFromFrontDoor:
                if (Interlocked.Exchange(ref _notFromFrontDoorLogged, 1) == 0)
                {
                    LogNotFromFrontDoor(logger, ClientAddressOptions.FrontDoorIdHeader);
                }

                return new BrokerError("not_through_front_door", 403, "Not through the front door",
                    "This endpoint answers only requests that come through the broker's front end.");
            default:
                if (Interlocked.Exchange(ref _headerMissingLogged, 1) == 0)
                {
                    LogHeaderMissing(logger, source.Header);
                }

                return new BrokerError("client_address_unavailable", 503, "Client address unavailable",
                    "The broker cannot tell which client sent this request, so it cannot apply its rate limit and refuses the request.");
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Requests arrive without a readable client address in {Header}; the rate-limited endpoints refuse them. Set RateLimit:ClientAddressHeader to the header the front end overwrites (empty: the connection's peer). Logged once.")]
    private static partial void LogHeaderMissing(ILogger logger, string? header);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Requests arrive without the configured Front Door id in {Header} (RateLimit:FrontDoorId); they are refused. Logged once.")]
    private static partial void LogNotFromFrontDoor(ILogger logger, string header);
}

namespace OAuthBroker.Host.Endpoints;

/// <summary>Why a request has no client address the rate limit can count it against.</summary>
public enum UnidentifiedClient
{
    /// <summary>The configured header is absent or unreadable: the front end in front of the app does not write it.</summary>
    HeaderMissing,

    /// <summary><see cref="ClientAddressOptions.FrontDoorId"/> is set and the request does not carry it: not from our Front Door.</summary>
    NotFromFrontDoor,
}

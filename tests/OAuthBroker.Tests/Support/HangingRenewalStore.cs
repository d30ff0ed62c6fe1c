using OAuthBroker.Errors;
using OAuthBroker.Links;

namespace OAuthBroker.Tests.Support;

/// <summary>
/// An instance's link store (the real one underneath) that, once <c>armed</c>, lets one write holding a lease on the
/// user's link never reach storage: the client waits <c>hang</c> (or until cancelled) and then gives up, as a Table
/// client retrying an unreachable service does (<see cref="StorageUnavailableException"/>).
/// </summary>
internal sealed class HangingRenewalStore(string user, Func<bool> armed, TimeSpan hang)
{
    private readonly TimeSpan _hang = hang;
    private int _hung;

    public bool Hung => _hung > 0;

    public IAccountLinkStore Over(IAccountLinkStore inner) => new Wrapped(inner, this);

    private bool HangsOn(AccountLink link) =>
        link.UserId == user && link.LeaseOwner is not null && armed() && Interlocked.CompareExchange(ref _hung, 1, 0) == 0;

    private sealed class Wrapped(IAccountLinkStore inner, HangingRenewalStore seam) : ForwardingLinkStore(inner)
    {
        public override async Task<AccountLink> ReplaceAsync(AccountLink link, CancellationToken ct)
        {
            if (seam.HangsOn(link))
            {
                await Task.Delay(seam._hang, ct);
                throw new StorageUnavailableException("The storage service did not answer.");
            }

            return await Inner.ReplaceAsync(link, ct);
        }
    }
}

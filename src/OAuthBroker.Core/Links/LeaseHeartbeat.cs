using OAuthBroker.Errors;

namespace OAuthBroker.Links;

/// <summary>
/// A held lease kept alive while work that may outlast it runs (<see cref="LinkLeases.KeepAsync"/>): renewed every
/// <c>every</c>, each renewal a conditional write of the row. A renewal refused (someone else wrote the row) or not
/// written before the lease's end less the clock allowance means the lease may be another's: <see cref="Lost"/> is
/// cancelled so the work stops, and <see cref="StopAsync"/> answers null. No lease reaches further ahead than one
/// <see cref="Refresh.RefreshOptions.LeaseDuration"/>, so a holder that dies stops pinning the link one lease later.
/// </summary>
public sealed class LeaseHeartbeat : IAsyncDisposable
{
    private readonly LinkLeases _leases;
    private readonly IAccountLinkStore _store;
    private readonly TimeSpan _every;
    private readonly TimeSpan _clockAllowance;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stop = new();
    private readonly CancellationTokenSource _lost = new();
    private readonly Task _beating;
    private AccountLink? _row;

    internal LeaseHeartbeat(AccountLink renewed, LinkLeases leases, IAccountLinkStore store, TimeSpan every, TimeSpan clockAllowance, TimeProvider time)
    {
        _row = renewed;
        _leases = leases;
        _store = store;
        _every = every;
        _clockAllowance = clockAllowance;
        _time = time;
        _beating = BeatAsync();
    }

    /// <summary>Cancelled once the lease may no longer be this holder's.</summary>
    public CT Lost => _lost.Token;

    /// <summary>Stops renewing; the row as last written (its ETag for the holder's next write), or null when the lease was lost.</summary>
    public async Task<AccountLink?> StopAsync()
    {
        await _stop.CancelAsync();
        await _beating;
        return _row;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stop.Dispose();
        _lost.Dispose();
    }

    private async Task BeatAsync()
    {
        try
        {
            while (_row is { } row)
            {
                await Task.Delay(_every, _time, _stop.Token);
                try
                {
                    // Note: not the stop token; a renewal sent is awaited, so the row's ETag stays known.
                    _row = await _store.ReplaceAsync(_leases.WithLease(row, row.LeaseOwner!), CT.None);
                }
                catch (StorageUnavailableException) when (_leases.Now < row.LeaseUntil - _clockAllowance)
                {
                    // Tried again at the next beat while the lease still holds.
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            // Stopped by the holder.
        }
        catch (Exception ex) when (ex is LinkConcurrencyException or StorageUnavailableException)
        {
            _row = null;
            await _lost.CancelAsync();
        }
    }
}

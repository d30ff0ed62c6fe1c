using OAuthBroker.Errors;

namespace OAuthBroker.Links;

/// <summary>
/// A held lease kept alive while work that may outlast it runs (<see cref="LinkLeases.KeepAsync"/>): renewed every
/// <c>every</c>, each renewal a conditional write of the row. The lease is this holder's only until its end less the
/// clock allowance (the deadline): a timer cancels <see cref="Lost"/> at that deadline, re-armed by each renewal
/// written, so the work stops there even while a renewal is still waiting on storage (a Table call with its retries can
/// outlast a whole lease). Each renewal is itself cancelled at the deadline, and the next one is tried early enough to
/// land before it. A renewal refused (someone else wrote the row), failed in any way, or not written by the deadline
/// means the lease may be another's: <see cref="Lost"/> is cancelled and <see cref="StopAsync"/> answers null. No lease
/// reaches further ahead than one <see cref="Refresh.RefreshOptions.LeaseDuration"/>, so a holder that dies stops
/// pinning the link one lease later.
/// </summary>
public sealed class LeaseHeartbeat : IAsyncDisposable
{
    private readonly LinkLeases _leases;
    private readonly IAccountLinkStore _store;
    private readonly TimeSpan _every;
    private readonly TimeSpan _clockAllowance;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stop = new();
    private readonly CancellationTokenSource _lost;
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
        // The deadline timer runs on the broker's TimeProvider; lease times are on the lease clock, so it is armed with
        // the time left, not an instant.
        _lost = new CancellationTokenSource(UntilDeadline(renewed), time);
        _beating = BeatAsync();
    }

    /// <summary>Cancelled once the lease may no longer be this holder's.</summary>
    public CT Lost => _lost.Token;

    /// <summary>
    /// True when the lease was lost because another holder wrote the row (a renewal refused); false when it was lost
    /// because storage did not take a renewal by the deadline (failed, or still unanswered), or not lost at all.
    /// </summary>
    public bool TakenByAnother { get; private set; }

    /// <summary>Stops renewing; the row as last written (its ETag for the holder's next write), or null when the lease was lost.</summary>
    public async Task<AccountLink?> StopAsync()
    {
        await _stop.CancelAsync();
        await _beating;
        return _lost.IsCancellationRequested ? null : _row;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stop.Dispose();
        _lost.Dispose();
    }

    /// <summary>Time left before the lease's end less the clock allowance; zero when already past.</summary>
    private TimeSpan UntilDeadline(AccountLink row)
    {
        var left = row.LeaseUntil!.Value - _clockAllowance - _leases.Now;
        return left > TimeSpan.Zero ? left : TimeSpan.Zero;
    }

    /// <summary>The next renewal: one beat on, but early enough that a renewal taking up to a quarter beat lands before the deadline.</summary>
    private TimeSpan NextBeat(AccountLink row)
    {
        var latest = UntilDeadline(row) - _every / 4;
        return latest < _every ? (latest > TimeSpan.Zero ? latest : TimeSpan.Zero) : _every;
    }

    private async Task BeatAsync()
    {
        try
        {
            while (!_lost.IsCancellationRequested && _row is { } row)
            {
                await Task.Delay(NextBeat(row), _time, _stop.Token);
                try
                {
                    // Note: not the stop token; a renewal sent is awaited, so the row's ETag stays known. It ends at the
                    // deadline (Lost): a renewal written after it could no longer vouch for the time between.
                    var renewed = await _store.ReplaceAsync(_leases.WithLease(row, row.LeaseOwner!), _lost.Token);
                    _row = renewed;
                    _lost.CancelAfter(UntilDeadline(renewed));
                }
                catch (StorageUnavailableException) when (!_lost.IsCancellationRequested && _leases.Now < row.LeaseUntil - _clockAllowance - _every / 4)
                {
                    // Storage busy or unreachable with time left before the deadline: tried again at the next beat.
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested && !_lost.IsCancellationRequested)
        {
            // Stopped by the holder.
            return;
        }
        catch (Exception ex)
        {
            // Refused (another holder wrote the row), cancelled at the deadline, or any other failure: the lease may be
            // another's. Never rethrown: the holder's work stops through Lost, and StopAsync answers null.
            TakenByAnother = ex is LinkConcurrencyException;
        }

        _row = null;
        try
        {
            await _lost.CancelAsync();
        }
        catch (Exception)
        {
            // A callback of the holder's work threw while cancelling; the lease is marked lost all the same.
        }
    }
}

using Azure;
using OAuthBroker.Scheduling;
using OAuthBroker.Storage.Tables;

namespace OAuthBroker.Storage.Scheduling;

/// <summary>
/// The claimed occurrence as one row of the schedule table (its own partition, which the due-index queries never
/// read), moved forward only by an insert-if-absent or an ETag-conditional replace: two instances claiming at once
/// cannot both win. The row says how long its run holds the occurrence and whether it finished.
/// </summary>
public sealed class TableScheduledRunClaims(TableHandle table) : IScheduledRunClaims
{
    private const string Partition = "claims";
    private const string Row = "scheduled-run";
    private const string OccurrenceProperty = "Occurrence";
    private const string HeldUntilProperty = "HeldUntil";
    private const string FinishedProperty = "Finished";

    /// <summary>A lost race is read again: the winner may have claimed an earlier occurrence than this caller's.</summary>
    private const int Attempts = 3;

    public Task<ScheduledRunClaim?> TryClaimAsync(DateTimeOffset occurrence, DateTimeOffset now, DateTimeOffset holdUntil, CT ct) =>
        table.RunAsync(async client =>
        {
            for (var attempt = 0; attempt < Attempts; attempt++)
            {
                var current = await client.GetEntityAsync(Partition, Row, ct);
                if (current is not null && !MayTakeOver(current, occurrence, now))
                {
                    return null;
                }

                var claim = Claim(occurrence, holdUntil, finished: false);
                try
                {
                    var version = current is null
                        ? await client.AddEntityAsync(claim, ct)
                        : await client.UpdateEntityAsync(claim, current.ETag!, TableUpdateMode.Replace, ct);
                    return new ScheduledRunClaim(occurrence, version);
                }
                catch (RequestFailedException ex) when (ex.Status is 409 or 412)
                {
                    // Someone else wrote first; read what they claimed.
                }
            }

            return (ScheduledRunClaim?)null;
        }, ct);

    public Task FinishAsync(ScheduledRunClaim claim, CT ct) => CloseAsync(claim, finished: true, ct);

    public Task ReleaseAsync(ScheduledRunClaim claim, CT ct) => CloseAsync(claim, finished: false, ct);

    /// <summary>
    /// A later occurrence's claim always wins; the same occurrence may be taken over only when its run neither finished
    /// nor still holds it (it died, or threw and released it).
    /// </summary>
    private static bool MayTakeOver(TableEntity current, DateTimeOffset occurrence, DateTimeOffset now)
    {
        var claimed = current.GetDateTimeOffset(OccurrenceProperty);
        if (claimed is null || claimed < occurrence)
        {
            return true;
        }

        return claimed == occurrence
            && current.GetBoolean(FinishedProperty) != true
            && (current.GetDateTimeOffset(HeldUntilProperty) ?? DateTimeOffset.MinValue) <= now;
    }

    /// <summary>Conditional on the claim as this run wrote it: a run that outlived its hold changes nobody else's claim.</summary>
    private Task CloseAsync(ScheduledRunClaim claim, bool finished, CT ct) =>
        table.RunAsync(async client =>
        {
            try
            {
                await client.UpdateEntityAsync(Claim(claim.Occurrence, DateTimeOffset.UnixEpoch, finished), claim.Version, TableUpdateMode.Replace, ct);
            }
            catch (RequestFailedException ex) when (ex.Status is 404 or 412)
            {
                // Taken over after this run's hold ran out: the newer claim is the one that counts.
            }

            return true;
        }, ct);

    private static TableEntity Claim(DateTimeOffset occurrence, DateTimeOffset heldUntil, bool finished) =>
        new(Partition, Row)
        {
            [OccurrenceProperty] = occurrence.ToUniversalTime(),
            [HeldUntilProperty] = heldUntil.ToUniversalTime(),
            [FinishedProperty] = finished,
        };
}

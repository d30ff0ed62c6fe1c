using Azure;
using OAuthBroker.Scheduling;
using OAuthBroker.Storage.Tables;

namespace OAuthBroker.Storage.Scheduling;

/// <summary>
/// The claimed occurrence as one row of the schedule table (its own partition, which the due-index queries never
/// read), moved forward only by an insert-if-absent or an ETag-conditional replace: two instances claiming at once
/// cannot both win.
/// </summary>
public sealed class TableScheduledRunClaims(TableHandle table) : IScheduledRunClaims
{
    private const string Partition = "claims";
    private const string Row = "scheduled-run";
    private const string OccurrenceProperty = "Occurrence";

    /// <summary>A lost race is read again: the winner may have claimed an earlier occurrence than this caller's.</summary>
    private const int Attempts = 3;

    public Task<bool> TryClaimAsync(DateTimeOffset occurrence, CT ct) =>
        table.RunAsync(async client =>
        {
            for (var attempt = 0; attempt < Attempts; attempt++)
            {
                var current = await client.GetEntityAsync(Partition, Row, ct);
                if (current?.GetDateTimeOffset(OccurrenceProperty) is { } claimed && claimed >= occurrence)
                {
                    return false;
                }

                var claim = new TableEntity(Partition, Row) { [OccurrenceProperty] = occurrence.ToUniversalTime() };
                try
                {
                    if (current is null)
                    {
                        await client.AddEntityAsync(claim, ct);
                    }
                    else
                    {
                        await client.UpdateEntityAsync(claim, current.ETag!, TableUpdateMode.Replace, ct);
                    }

                    return true;
                }
                catch (RequestFailedException ex) when (ex.Status is 409 or 412)
                {
                    // Someone else wrote first; read what they claimed.
                }
            }

            return false;
        }, ct);
}

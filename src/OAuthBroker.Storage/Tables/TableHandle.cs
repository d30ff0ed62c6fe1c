using Azure;
using OAuthBroker.Errors;

namespace OAuthBroker.Storage.Tables;

/// <summary>
/// A table the broker owns: created on first use (so start-up neither waits for nor depends on storage), and
/// every call's infrastructure failure turned into <see cref="StorageUnavailableException"/>.
/// </summary>
public sealed class TableHandle(TableClient client)
{
    private readonly Lock _gate = new();
    private Task? _creation;

    public TableClient Client => client;

    /// <summary>Runs <paramref name="operation"/> on the (existing) table, mapping unhandled storage failures.</summary>
    public async Task<T> RunAsync<T>(Func<TableClient, Task<T>> operation, CT ct)
    {
        await EnsureCreatedAsync(ct);
        try
        {
            return await operation(client);
        }
        catch (RequestFailedException ex) when (ex.Status is not (404 or 409 or 412))
        {
            throw new StorageUnavailableException($"Table '{client.Name}' failed: HTTP {ex.Status} {ex.ErrorCode}.", ex);
        }
        catch (AggregateException ex)
        {
            // Azure.Core reports exhausted retries of transport failures as an AggregateException.
            throw new StorageUnavailableException($"Table '{client.Name}' could not be reached.", ex);
        }
    }

    /// <summary>One creation attempt at a time; a failed attempt is forgotten so the next call tries again.</summary>
    private async Task EnsureCreatedAsync(CT ct)
    {
        Task creation;
        lock (_gate)
        {
            creation = _creation ??= CreateAsync();
        }

        try
        {
            await creation.WaitAsync(ct);
        }
        catch (StorageUnavailableException)
        {
            lock (_gate)
            {
                if (_creation == creation)
                {
                    _creation = null;
                }
            }

            throw;
        }
    }

    private async Task CreateAsync()
    {
        try
        {
            // Not the caller's token: one caller giving up must not fail the creation others are waiting on.
            await client.CreateIfNotExistsAsync(CT.None);
        }
        catch (RequestFailedException ex)
        {
            throw new StorageUnavailableException($"Table '{client.Name}' could not be created: HTTP {ex.Status} {ex.ErrorCode}.", ex);
        }
        catch (AggregateException ex)
        {
            throw new StorageUnavailableException($"Table '{client.Name}' could not be reached.", ex);
        }
    }
}

using System.Runtime.CompilerServices;
using System.Text.Json;
using Azure;
using Azure.Core;
using Azure.Core.Pipeline;

namespace OAuthBroker.Storage.Tables;

/// <summary>How a write treats properties the entity does not carry.</summary>
public enum TableUpdateMode
{
    /// <summary>PUT: the entity replaces the stored one entirely.</summary>
    Replace,
    /// <summary>MERGE: only the given properties change.</summary>
    Merge,
}

/// <summary>One page of a query: entities plus the continuation to send for the next page (null at the end).</summary>
public sealed record TablePage(IReadOnlyList<TableEntity> Entities, TableContinuation? Continuation);

/// <summary>The <c>NextPartitionKey</c>/<c>NextRowKey</c> pair a query page may carry.</summary>
public sealed record TableContinuation(string NextPartitionKey, string? NextRowKey);

/// <summary>
/// A small client for one table of the Azure Table service (or Azurite) on Azure.Core's <see cref="HttpPipeline"/>:
/// retries, logging and authentication (SharedKeyLite or an Entra ID <see cref="TokenCredential"/>) come from
/// the pipeline. Failures throw <see cref="RequestFailedException"/> with the service's status and error code.
/// Stands in for <c>Azure.Data.Tables</c>, which the package feed does not carry; the broker reaches it only
/// through its own store interfaces.
/// </summary>
public class TableClient
{
    private const string JsonMinimalMetadata = "application/json;odata=minimalmetadata";
    private static readonly ResponseClassifier Classifier = new();

    private readonly HttpPipeline _pipeline;
    private readonly Uri _serviceEndpoint;
    private readonly string _serviceVersion;

    /// <param name="serviceEndpoint">e.g. <c>https://account.table.core.windows.net</c> or Azurite's <c>http://127.0.0.1:10002/devstoreaccount1</c>.</param>
    public TableClient(Uri serviceEndpoint, string tableName, TableSharedKeyCredential credential, TableClientOptions? options = null)
        : this(serviceEndpoint, tableName, new TableSharedKeyPolicy(credential), options ?? new TableClientOptions())
    {
    }

    /// <summary>Entra ID (managed identity) access; needs the Storage Table Data Contributor role.</summary>
    public TableClient(Uri serviceEndpoint, string tableName, TokenCredential credential, TableClientOptions? options = null)
        : this(serviceEndpoint, tableName, new BearerTokenAuthenticationPolicy(credential, "https://storage.azure.com/.default"), options ?? new TableClientOptions())
    {
    }

    private TableClient(Uri serviceEndpoint, string tableName, HttpPipelinePolicy authentication, TableClientOptions options)
    {
        if (!TableNames.IsValid(tableName))
        {
            throw new ArgumentException("Table names are 3–63 letters and digits, starting with a letter.", nameof(tableName));
        }

        _serviceEndpoint = new Uri(serviceEndpoint.AbsoluteUri.TrimEnd('/'));
        _serviceVersion = options.ServiceVersion;
        Name = tableName;
        _pipeline = HttpPipelineBuilder.Build(options, [], [authentication], Classifier);
    }

    /// <summary>For test doubles only.</summary>
    protected TableClient()
    {
        _pipeline = null!;
        _serviceEndpoint = null!;
        _serviceVersion = null!;
        Name = null!;
    }

    public string Name { get; }

    /// <summary>Creates the table; an existing table (409) is success.</summary>
    public virtual async Task CreateIfNotExistsAsync(CT ct = default)
    {
        using var message = CreateMessage(RequestMethod.Post, "/Tables");
        message.Request.Content = RequestContent.Create(JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, string> { ["TableName"] = Name }, StorageJsonContext.Default.DictionaryStringString));
        message.Request.Headers.SetValue("Content-Type", "application/json");
        message.Request.Headers.SetValue("Prefer", "return-no-content");
        await _pipeline.SendAsync(message, ct);
        if (message.Response.Status is not (201 or 204 or 409))
        {
            throw new RequestFailedException(message.Response);
        }
    }

    /// <summary>Point read; null when the entity does not exist.</summary>
    public virtual async Task<TableEntity?> GetEntityAsync(string partitionKey, string rowKey, CT ct = default)
    {
        using var message = CreateMessage(RequestMethod.Get, EntityPath(partitionKey, rowKey));
        await _pipeline.SendAsync(message, ct);
        if (message.Response.Status == 404)
        {
            return null;
        }

        EnsureSuccess(message.Response, 200);
        using var document = await JsonDocument.ParseAsync(message.Response.ContentStream!, cancellationToken: ct);
        var entity = TableEntityJson.Read(document.RootElement);
        entity.ETag = ETagOf(message.Response) ?? entity.ETag;
        return entity;
    }

    /// <summary>Insert; throws 409 (EntityAlreadyExists) when the keys are taken. Returns the new ETag.</summary>
    public virtual async Task<string> AddEntityAsync(TableEntity entity, CT ct = default)
    {
        using var message = CreateMessage(RequestMethod.Post, "/" + Name);
        SetBody(message, entity);
        message.Request.Headers.SetValue("Prefer", "return-no-content");
        await _pipeline.SendAsync(message, ct);
        EnsureSuccess(message.Response, 201, 204);
        return ETagOf(message.Response)!;
    }

    /// <summary>Insert-or-replace / insert-or-merge, unconditional.</summary>
    public virtual Task<string> UpsertEntityAsync(TableEntity entity, TableUpdateMode mode = TableUpdateMode.Replace, CT ct = default) =>
        WriteAsync(entity, mode, ifMatch: null, ct);

    /// <summary>Replace or merge only if the stored entity still has <paramref name="ifMatch"/>; 412 otherwise.</summary>
    public virtual Task<string> UpdateEntityAsync(TableEntity entity, string ifMatch, TableUpdateMode mode = TableUpdateMode.Replace, CT ct = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(ifMatch);
        return WriteAsync(entity, mode, ifMatch, ct);
    }

    /// <summary>Delete if the stored entity still has <paramref name="ifMatch"/> (<c>*</c> for any); 404 and 412 throw.</summary>
    public virtual async Task DeleteEntityAsync(string partitionKey, string rowKey, string ifMatch, CT ct = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(ifMatch);
        using var message = CreateMessage(RequestMethod.Delete, EntityPath(partitionKey, rowKey));
        message.Request.Headers.SetValue("If-Match", ifMatch);
        await _pipeline.SendAsync(message, ct);
        EnsureSuccess(message.Response, 204);
    }

    /// <summary>One page of a filtered query. Pages may be empty and still carry a continuation.</summary>
    public virtual async Task<TablePage> QueryPageAsync(string? filter, int? top = null, TableContinuation? continuation = null, CT ct = default)
    {
        using var message = CreateMessage(RequestMethod.Get, "/" + Name + "()");
        var uri = message.Request.Uri;
        if (filter is not null)
        {
            uri.AppendQuery("$filter", filter);
        }

        if (top is not null)
        {
            uri.AppendQuery("$top", top.Value.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        if (continuation is not null)
        {
            uri.AppendQuery("NextPartitionKey", continuation.NextPartitionKey);
            if (continuation.NextRowKey is not null)
            {
                uri.AppendQuery("NextRowKey", continuation.NextRowKey);
            }
        }

        await _pipeline.SendAsync(message, ct);
        EnsureSuccess(message.Response, 200);
        using var document = await JsonDocument.ParseAsync(message.Response.ContentStream!, cancellationToken: ct);
        var entities = document.RootElement.GetProperty("value").EnumerateArray().Select(TableEntityJson.Read).ToArray();

        var headers = message.Response.Headers;
        TableContinuation? next = headers.TryGetValue("x-ms-continuation-NextPartitionKey", out var nextPartition)
            ? new TableContinuation(nextPartition, headers.TryGetValue("x-ms-continuation-NextRowKey", out var nextRow) ? nextRow : null)
            : null;
        return new TablePage(entities, next);
    }

    /// <summary>All entities matching <paramref name="filter"/>, following continuations.</summary>
    public virtual async IAsyncEnumerable<TableEntity> QueryAsync(string? filter, int pageSize = 1000, [EnumeratorCancellation] CT ct = default)
    {
        TableContinuation? continuation = null;
        do
        {
            var page = await QueryPageAsync(filter, pageSize, continuation, ct);
            foreach (var entity in page.Entities)
            {
                yield return entity;
            }

            continuation = page.Continuation;
        }
        while (continuation is not null);
    }

    private async Task<string> WriteAsync(TableEntity entity, TableUpdateMode mode, string? ifMatch, CT ct)
    {
        var method = mode == TableUpdateMode.Replace ? RequestMethod.Put : new RequestMethod("MERGE");
        using var message = CreateMessage(method, EntityPath(entity.PartitionKey, entity.RowKey));
        SetBody(message, entity);
        if (ifMatch is not null)
        {
            message.Request.Headers.SetValue("If-Match", ifMatch);
        }

        await _pipeline.SendAsync(message, ct);
        EnsureSuccess(message.Response, 204);
        return ETagOf(message.Response)!;
    }

    private HttpMessage CreateMessage(RequestMethod method, string path)
    {
        var message = _pipeline.CreateMessage();
        message.ResponseClassifier = Classifier;
        var request = message.Request;
        request.Method = method;
        request.Uri.Reset(_serviceEndpoint);
        request.Uri.AppendPath(path, escape: false);
        request.Headers.SetValue("x-ms-version", _serviceVersion);
        request.Headers.SetValue("Accept", JsonMinimalMetadata);
        request.Headers.SetValue("DataServiceVersion", "3.0");
        request.Headers.SetValue("MaxDataServiceVersion", "3.0;NetFx");
        return message;
    }

    private static void SetBody(HttpMessage message, TableEntity entity)
    {
        message.Request.Content = RequestContent.Create(TableEntityJson.Write(entity));
        message.Request.Headers.SetValue("Content-Type", "application/json");
    }

    /// <summary><c>/table(PartitionKey='…',RowKey='…')</c> with OData quoting, then percent-encoding.</summary>
    private string EntityPath(string partitionKey, string rowKey) =>
        $"/{Name}(PartitionKey='{EscapeKey(partitionKey)}',RowKey='{EscapeKey(rowKey)}')";

    private static string EscapeKey(string key) => Uri.EscapeDataString(key.Replace("'", "''", StringComparison.Ordinal));

    private static string? ETagOf(Response response) => response.Headers.TryGetValue("ETag", out var etag) ? etag : null;

    private static void EnsureSuccess(Response response, params int[] expected)
    {
        if (!expected.Contains(response.Status))
        {
            throw new RequestFailedException(response);
        }
    }
}

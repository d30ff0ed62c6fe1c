using Azure;
using Azure.Core;
using OAuthBroker.Errors;
using OAuthBroker.Storage.Tables;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Tables;

/// <summary>The Table client against Azurite: every operation the stores use, with its concurrency semantics.</summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class TableClientTests(BrokerEnvironmentFixture fixture)
{
    private TableClient NewTable() => new(
        new Uri($"http://127.0.0.1:{fixture.Environment.Azurite.Port}/devstoreaccount1"),
        "T" + Guid.NewGuid().ToString("N")[..20],
        new TableSharedKeyCredential(TableConnectionString.DevelopmentAccountName, TableConnectionString.DevelopmentAccountKey));

    [Fact]
    public async Task Entities_round_trip_every_supported_type()
    {
        var table = NewTable();
        await table.CreateIfNotExistsAsync();
        await table.CreateIfNotExistsAsync(); // an existing table is success
        var when = new DateTimeOffset(2026, 11, 22, 3, 4, 5, 678, TimeSpan.Zero);
        var id = Guid.NewGuid();
        var entity = new TableEntity("p", "o'brien 100% ünïcode")
        {
            ["Text"] = "it's \"quoted\"",
            ["Flag"] = true,
            ["Small"] = 42,
            ["Big"] = long.MaxValue,
            ["Ratio"] = 2.0,
            ["When"] = when,
            ["Id"] = id,
            ["Bytes"] = new byte[] { 1, 2, 3 },
        };

        var etag = await table.AddEntityAsync(entity);
        var read = (await table.GetEntityAsync("p", "o'brien 100% ünïcode"))!;

        read.ETag.ShouldBe(etag);
        read.Timestamp.ShouldNotBeNull();
        read.GetString("Text").ShouldBe("it's \"quoted\"");
        read.GetBoolean("Flag").ShouldBe(true);
        read["Small"].ShouldBe(42);
        read.GetInt64("Big").ShouldBe(long.MaxValue);
        read["Ratio"].ShouldBe(2.0);
        read.GetDateTimeOffset("When").ShouldBe(when);
        read["Id"].ShouldBe(id);
        read["Bytes"].ShouldBe(new byte[] { 1, 2, 3 });
    }

    [Fact]
    public async Task Adding_an_existing_entity_is_a_409()
    {
        var table = NewTable();
        await table.CreateIfNotExistsAsync();
        await table.AddEntityAsync(new TableEntity("p", "r"));

        var conflict = await Should.ThrowAsync<RequestFailedException>(() => table.AddEntityAsync(new TableEntity("p", "r")));
        conflict.Status.ShouldBe(409);
    }

    [Fact]
    public async Task A_write_with_a_stale_ETag_is_a_412_and_changes_nothing()
    {
        var table = NewTable();
        await table.CreateIfNotExistsAsync();
        var original = await table.AddEntityAsync(new TableEntity("p", "r") { ["Value"] = "first" });
        var current = await table.UpdateEntityAsync(new TableEntity("p", "r") { ["Value"] = "second" }, original);

        var stale = await Should.ThrowAsync<RequestFailedException>(() => table.UpdateEntityAsync(new TableEntity("p", "r") { ["Value"] = "lost update" }, original));
        stale.Status.ShouldBe(412);
        var staleDelete = await Should.ThrowAsync<RequestFailedException>(() => table.DeleteEntityAsync("p", "r", original));
        staleDelete.Status.ShouldBe(412);

        var read = (await table.GetEntityAsync("p", "r"))!;
        read.GetString("Value").ShouldBe("second");
        read.ETag.ShouldBe(current);
        await table.DeleteEntityAsync("p", "r", current);
        (await table.GetEntityAsync("p", "r")).ShouldBeNull();
        (await Should.ThrowAsync<RequestFailedException>(() => table.DeleteEntityAsync("p", "r", "*"))).Status.ShouldBe(404);
    }

    [Fact]
    public async Task Merge_keeps_other_properties_and_replace_removes_them()
    {
        var table = NewTable();
        await table.CreateIfNotExistsAsync();
        await table.UpsertEntityAsync(new TableEntity("p", "r") { ["A"] = "a", ["B"] = "b" });

        await table.UpsertEntityAsync(new TableEntity("p", "r") { ["B"] = "b2" }, TableUpdateMode.Merge);
        var merged = (await table.GetEntityAsync("p", "r"))!;
        merged.GetString("A").ShouldBe("a");
        merged.GetString("B").ShouldBe("b2");

        await table.UpsertEntityAsync(new TableEntity("p", "r") { ["C"] = "c" });
        var replaced = (await table.GetEntityAsync("p", "r"))!;
        replaced.Properties.Keys.ShouldBe(["C"]);
    }

    [Fact]
    public async Task Queries_follow_continuations_across_pages()
    {
        var table = NewTable();
        await table.CreateIfNotExistsAsync();
        foreach (var i in Enumerable.Range(0, 10))
        {
            await table.AddEntityAsync(new TableEntity(i < 5 ? "a" : "b", $"r{i:00}") { ["N"] = i });
        }

        var firstPage = await table.QueryPageAsync(null, top: 3);
        firstPage.Entities.Count.ShouldBe(3);
        firstPage.Continuation.ShouldNotBeNull();

        var all = new List<TableEntity>();
        await foreach (var entity in table.QueryAsync(null, pageSize: 3))
        {
            all.Add(entity);
        }

        all.Select(e => (int)e["N"]!).ShouldBe(Enumerable.Range(0, 10));
        all.ShouldAllBe(e => e.ETag != null);

        var filtered = new List<TableEntity>();
        await foreach (var entity in table.QueryAsync(TableFilter.Equal("PartitionKey", "b")))
        {
            filtered.Add(entity);
        }

        filtered.Count.ShouldBe(5);
    }

    [Theory]
    [InlineData("a/b")]
    [InlineData("a\\b")]
    [InlineData("a#b")]
    [InlineData("a?b")]
    [InlineData("a\tb")]
    [InlineData("a\u007Fb")]
    public void Keys_with_characters_Table_forbids_are_refused_before_any_request(string key)
    {
        TableKeys.IsValid(key).ShouldBeFalse();
        Should.Throw<ArgumentException>(() => new TableEntity(key, "r"));
        Should.Throw<ArgumentException>(() => new TableEntity("p", key));
    }

    [Fact]
    public void Filter_literals_are_quoted()
    {
        TableFilter.Equal("PartitionKey", "o'brien").ShouldBe("PartitionKey eq 'o''brien'");
    }

    [Fact]
    public async Task An_unreachable_table_service_is_StorageUnavailable_not_a_crash()
    {
        var options = new TableClientOptions();
        options.Retry.MaxRetries = 0;
        var closed = new TableClient(new Uri($"http://127.0.0.1:{OAuthBroker.LocalEnvironment.FreePort.Next()}/devstoreaccount1"), "Links",
            new TableSharedKeyCredential(TableConnectionString.DevelopmentAccountName, TableConnectionString.DevelopmentAccountKey), options);
        var handle = new TableHandle(closed);

        await Should.ThrowAsync<StorageUnavailableException>(() => handle.RunAsync(c => c.GetEntityAsync("p", "r"), default));
    }

    [Fact]
    public void Connection_strings_are_parsed_for_Azurite_and_accounts()
    {
        var dev = TableConnectionString.Parse("UseDevelopmentStorage=true");
        dev.TableEndpoint.ShouldBe(new Uri("http://127.0.0.1:10002/devstoreaccount1"));
        dev.Credential.AccountName.ShouldBe("devstoreaccount1");

        var account = TableConnectionString.Parse("DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=" + Convert.ToBase64String(new byte[32]) + ";EndpointSuffix=core.windows.net");
        account.TableEndpoint.ShouldBe(new Uri("https://acct.table.core.windows.net"));
        account.ToString().ShouldNotContain(Convert.ToBase64String(new byte[32]));

        Should.Throw<FormatException>(() => TableConnectionString.Parse("AccountName=acct"));
    }

    [Fact]
    public void Managed_identity_access_uses_the_storage_scope()
    {
        var credential = new RecordingCredential();
        var options = new TableClientOptions();
        options.Retry.MaxRetries = 0;
        var client = new TableClient(new Uri("https://127.0.0.1:1/"), "Links", credential, options);

        // The request fails (nothing listens); what matters is which token was asked for, and that it was asked.
        Should.Throw<Exception>(() => client.GetEntityAsync("p", "r").GetAwaiter().GetResult());
        credential.Scopes.ShouldBe(["https://storage.azure.com/.default"]);
    }

    private sealed class RecordingCredential : TokenCredential
    {
        public List<string> Scopes { get; } = [];

        public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken)
        {
            Scopes.AddRange(requestContext.Scopes);
            return new AccessToken("token", DateTimeOffset.UtcNow.AddHours(1));
        }

        public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
            ValueTask.FromResult(GetToken(requestContext, cancellationToken));
    }
}

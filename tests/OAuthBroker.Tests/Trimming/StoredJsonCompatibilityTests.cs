using System.Text.Json;
using OAuthBroker.Credentials;
using OAuthBroker.Providers;
using OAuthBroker.Storage;

namespace OAuthBroker.Tests.Trimming;

/// <summary>
/// The stored documents moved from the reflection serializer to generated code (CoreJsonContext, StorageJsonContext),
/// so that the package can be trimmed. What is already stored must still read, and what is written must not change:
/// vaulted credentials (Key Vault secrets), sealed grants of pending links, a link row's PendingProgress column. Each
/// value is written the old way (the reflection serializer with the options the call sites had), compared byte for
/// byte with the new way, and read back the new way.
/// </summary>
public sealed class StoredJsonCompatibilityTests
{
    private static readonly JsonSerializerOptions WebReflection = new(JsonSerializerDefaults.Web);
    private static readonly JsonSerializerOptions DefaultReflection = new();

    private static readonly ProviderCredential FullCredential = new()
    {
        AccessToken = "at-\u00e9\"<>&'+",
        RefreshToken = "rt-1",
        TokenType = "Bearer",
        AccessTokenExpiresAt = new DateTimeOffset(2026, 11, 22, 22, 30, 1, 123, TimeSpan.Zero),
        RefreshTokenExpiresAt = new DateTimeOffset(2027, 1, 1, 0, 0, 0, TimeSpan.FromHours(2)),
        ApiKey = "key",
        ApiSecret = "secret/+=",
        Metadata = new Dictionary<string, string> { ["externalId"] = "42", ["Mixed Case"] = "v" },
    };

    public static TheoryData<VaultedCredential> Credentials() => new(
        new VaultedCredential("bybit", FullCredential, new DateTimeOffset(2026, 11, 22, 22, 0, 0, TimeSpan.Zero))
        {
            Link = "p|r",
            GrantId = "g-1",
            RefreshedFrom = "0123456789abcdef",
            Version = "not-stored",
        },
        new VaultedCredential("acme", new ProviderCredential { AccessToken = "only" }, DateTimeOffset.UnixEpoch));

    [Theory]
    [MemberData(nameof(Credentials))]
    public void A_vaulted_credential_is_written_as_before_and_one_written_before_reads(VaultedCredential credential)
    {
        var old = JsonSerializer.Serialize(credential, WebReflection);
        JsonSerializer.Serialize(credential, CoreJsonContext.Default.VaultedCredential).ShouldBe(old);
        JsonSerializer.SerializeToUtf8Bytes(credential, CoreJsonContext.Default.VaultedCredential).ShouldBe(JsonSerializer.SerializeToUtf8Bytes(credential, WebReflection), "the size check before a spend measures what is written");

        var read = JsonSerializer.Deserialize(old, CoreJsonContext.Default.VaultedCredential)!;
        read.Version.ShouldBeNull("the version is the vault's, not part of the document");
        JsonSerializer.Serialize(read with { Version = credential.Version }, WebReflection).ShouldBe(old);
        read.Credential.AccessToken.ShouldBe(credential.Credential.AccessToken);
        read.Credential.Metadata.ShouldBe(credential.Credential.Metadata);
    }

    [Fact]
    public void A_sealed_grant_is_written_as_before_and_one_written_before_reads()
    {
        var grant = new ProviderGrant("626262001", "Display \u2603", FullCredential, ["openapi", "read"])
        {
            PendingProgress = new Dictionary<string, string> { ["step"] = "key", ["id"] = "7" },
            NextAttemptAt = new DateTimeOffset(2026, 11, 22, 23, 0, 0, TimeSpan.Zero),
            WaitingFor = "api_key",
        };
        foreach (var value in new[] { grant, new ProviderGrant("1", null, new ProviderCredential { AccessToken = "a" }, []) })
        {
            var old = JsonSerializer.SerializeToUtf8Bytes(value, WebReflection);
            JsonSerializer.SerializeToUtf8Bytes(value, CoreJsonContext.Default.ProviderGrant).ShouldBe(old);
            var read = JsonSerializer.Deserialize(old, CoreJsonContext.Default.ProviderGrant)!;
            JsonSerializer.SerializeToUtf8Bytes(read, WebReflection).ShouldBe(old);
            read.IsPending.ShouldBe(value.IsPending);
            read.Scopes.ShouldBe(value.Scopes);
        }
    }

    [Fact]
    public void A_link_rows_pending_progress_is_written_as_before_and_one_written_before_reads()
    {
        IReadOnlyDictionary<string, string> progress = new Dictionary<string, string> { ["ExternalId"] = "x\u00e9", ["attempt"] = "2" };
        var old = JsonSerializer.Serialize(progress, DefaultReflection);
        JsonSerializer.Serialize(progress, StorageJsonContext.Default.IReadOnlyDictionaryStringString).ShouldBe(old);
        JsonSerializer.Deserialize(old, StorageJsonContext.Default.DictionaryStringString).ShouldBe(progress);
        JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, string> { ["TableName"] = "AccountLinks" }, StorageJsonContext.Default.DictionaryStringString)
            .ShouldBe(JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, string> { ["TableName"] = "AccountLinks" }, DefaultReflection));
    }
}

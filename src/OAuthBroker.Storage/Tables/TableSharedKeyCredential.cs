using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Azure.Core;
using Azure.Core.Pipeline;

namespace OAuthBroker.Storage.Tables;

/// <summary>An account name and key for SharedKeyLite signing (Azurite, or accounts that still allow keys).</summary>
public sealed class TableSharedKeyCredential(string accountName, string accountKey)
{
    private readonly byte[] _key = Convert.FromBase64String(accountKey);

    public string AccountName { get; } = accountName;

    internal string Sign(string stringToSign)
    {
        using var hmac = new HMACSHA256(_key);
        return Convert.ToBase64String(hmac.ComputeHash(Encoding.UTF8.GetBytes(stringToSign)));
    }

    public override string ToString() => $"TableSharedKeyCredential {{ AccountName = {AccountName} }}";
}

/// <summary>
/// Signs each try of a request with the Table service's SharedKeyLite scheme:
/// <c>StringToSign = x-ms-date + "\n" + "/" + account + encoded-path</c>
/// (https://learn.microsoft.com/rest/api/storageservices/authorize-with-shared-key#shared-key-lite-and-table-service-format-for-2009-09-19-and-later).
/// Added per retry, so the date is fresh on every attempt.
/// </summary>
internal sealed class TableSharedKeyPolicy(TableSharedKeyCredential credential) : HttpPipelineSynchronousPolicy
{
    public override void OnSendingRequest(HttpMessage message)
    {
        var date = DateTimeOffset.UtcNow.ToString("r", CultureInfo.InvariantCulture);
        message.Request.Headers.SetValue("x-ms-date", date);

        var uri = message.Request.Uri.ToUri();
        var canonicalResource = "/" + credential.AccountName + uri.AbsolutePath;
        var comp = System.Web.HttpUtility.ParseQueryString(uri.Query)["comp"];
        if (comp is not null)
        {
            canonicalResource += "?comp=" + comp;
        }

        var signature = credential.Sign(date + "\n" + canonicalResource);
        message.Request.Headers.SetValue(HttpHeader.Names.Authorization, $"SharedKeyLite {credential.AccountName}:{signature}");
    }
}

using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace OAuthBroker.Sandbox.Tokens;

/// <summary>HS256 JWTs like Bybit's (the docs' sample token is HS256 with exp, ClientID, GrantMemberID, ApprovedScope, Nonce).</summary>
public sealed class HmacJwt
{
    private readonly byte[] _key = RandomNumberGenerator.GetBytes(32);

    public string Create(IReadOnlyDictionary<string, object> claims)
    {
        var header = Base64Url.EncodeToString("""{"alg":"HS256","typ":"JWT"}"""u8);
        var payload = Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(claims));
        var signature = Base64Url.EncodeToString(HMACSHA256.HashData(_key, Encoding.ASCII.GetBytes(header + "." + payload)));
        return header + "." + payload + "." + signature;
    }
}

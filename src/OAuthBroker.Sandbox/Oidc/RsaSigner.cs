using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace OAuthBroker.Sandbox.Oidc;

/// <summary>RS256 ID tokens and the JWKS that verifies them.</summary>
public sealed class RsaSigner : IDisposable
{
    private const string KeyId = "sandbox-1";
    private readonly RSA _key = RSA.Create(2048);

    public string Sign(IReadOnlyDictionary<string, object> claims)
    {
        var header = Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(new { alg = "RS256", typ = "JWT", kid = KeyId }));
        var payload = Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(claims));
        var signature = _key.SignData(Encoding.ASCII.GetBytes(header + "." + payload), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return header + "." + payload + "." + Base64Url.EncodeToString(signature);
    }

    public object Jwks()
    {
        var parameters = _key.ExportParameters(false);
        return new { keys = new[] { new { kty = "RSA", use = "sig", alg = "RS256", kid = KeyId, n = Base64Url.EncodeToString(parameters.Modulus), e = Base64Url.EncodeToString(parameters.Exponent) } } };
    }

    public void Dispose() => _key.Dispose();
}

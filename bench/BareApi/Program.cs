using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Serialization;

// The baseline: a bare minimal API built and published exactly like the broker's host (slim builder, same
// Directory.Build.props, same publish form), answering /api/health, and the smallest correct authorize answer: a 302
// to the provider with fresh state, nonce and PKCE S256 challenge (RFC 7636 §4.2) and a browser-binding cookie, with
// no storage. What the broker's authorize costs beyond this is the broker's own work.
var builder = WebApplication.CreateSlimBuilder(args);
if (builder.Configuration["FUNCTIONS_CUSTOMHANDLER_PORT"] is { Length: > 0 } port)
{
    builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
}

// Like the broker (its EndpointJsonContext), the answer's JSON code is generated at compile time, not built by reflection.
builder.Services.ConfigureHttpJsonOptions(json => json.SerializerOptions.TypeInfoResolverChain.Insert(0, BareJsonContext.Default));

var app = builder.Build();
var authorizeUrl = app.Configuration["AuthorizeUrl"] ?? "http://127.0.0.1/authorize";
app.MapGet("/api/health", () => TypedResults.Ok(new Health("ok")));
app.MapGet("/api/oauth/{provider}/authorize", (string provider, HttpContext context) =>
{
    static string Random32() => Base64Url(RandomNumberGenerator.GetBytes(32));
    var (state, nonce, verifier) = (Random32(), Random32(), Random32());
    var challenge = Base64Url(SHA256.HashData(Encoding.ASCII.GetBytes(verifier)));
    var callback = Uri.EscapeDataString($"http://127.0.0.1/api/oauth/{provider}/callback");
    context.Response.Cookies.Append("__Host-bench-flow", state, new CookieOptions { HttpOnly = true, Secure = true, SameSite = SameSiteMode.Lax, Path = "/" });
    return TypedResults.Redirect($"{authorizeUrl}?response_type=code&client_id=bench&redirect_uri={callback}&scope=openid%20profile&state={state}&nonce={nonce}&code_challenge={challenge}&code_challenge_method=S256");
});
await app.RunAsync();

static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

/// <summary>The health answer, named: the request delegate generator cannot emit anonymous types.</summary>
internal sealed record Health(string Status);

/// <summary>The answers' JSON code, generated at compile time.</summary>
[JsonSerializable(typeof(Health))]
internal sealed partial class BareJsonContext : JsonSerializerContext;

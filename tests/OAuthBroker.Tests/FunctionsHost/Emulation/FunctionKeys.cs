using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace OAuthBroker.Tests.FunctionsHost.Emulation;

/// <summary>
/// The host's keys and how it checks them before a function runs (the handler is never called when this fails):
/// <list type="bullet">
/// <item>a key is needed only when the function is not anonymous, or when the request carries <c>x-functions-key</c>, a
/// <c>code</c> query parameter or the Easy Auth principal header (<c>Middleware/FunctionInvocationMiddleware.cs:209-229</c>);</item>
/// <item>the key is the first <c>x-functions-key</c> value, else the first <c>code</c> value
/// (<c>Security/Authentication/Keys/AuthenticationLevelHandler.cs:85-104</c>);</item>
/// <item>master key: Admin; system keys: System; host function keys and the function's own keys: Function
/// (<c>Security/KeyManagement/SecretManager.cs:544-576</c>);</item>
/// <item>Admin passes everything, otherwise the level must equal the function's (<c>Security/Authorization/AuthUtility.cs:30-60</c>,
/// <c>FunctionAuthorizationHandler.cs:13-24</c>);</item>
/// <item>refusal is an empty 401 (<c>FunctionInvocationMiddleware.cs:117-121</c>, <c>UnauthorizedResult</c>).</item>
/// </list>
/// </summary>
public sealed class FunctionKeys
{
    public string MasterKey { get; } = NewKey();

    /// <summary>Host keys (any function of Function level); "default" exists on every app.</summary>
    public Dictionary<string, string> HostFunctionKeys { get; } = new(StringComparer.Ordinal) { ["default"] = NewKey() };

    public Dictionary<string, string> SystemKeys { get; } = new(StringComparer.Ordinal);

    /// <summary>Keys of one function (its own "default" is created with the function).</summary>
    public Dictionary<string, Dictionary<string, string>> PerFunction { get; } = new(StringComparer.OrdinalIgnoreCase);

    public string DefaultHostKey => HostFunctionKeys["default"];

    public string KeyOf(string function) => PerFunction[function]["default"];

    public void AddFunction(string function) => PerFunction.TryAdd(function, new Dictionary<string, string>(StringComparer.Ordinal) { ["default"] = NewKey() });

    public static bool RequiresAuthorization(HttpRequest request, FunctionDefinition function) =>
        function.AuthLevel != AuthorizationLevel.Anonymous
        || request.Headers.ContainsKey("x-ms-client-principal")
        || request.Headers.ContainsKey("x-functions-key")
        || request.Query.ContainsKey("code");

    public bool IsAuthorized(HttpRequest request, FunctionDefinition function)
    {
        if (!RequiresAuthorization(request, function))
        {
            return true;
        }

        string? key = null;
        if (request.Headers.TryGetValue("x-functions-key", out StringValues header))
        {
            key = header.First();
        }
        else if (request.Query.TryGetValue("code", out StringValues code))
        {
            key = code.First();
        }

        var level = string.IsNullOrEmpty(key) ? AuthorizationLevel.Anonymous : LevelOf(key, function.Name);
        return function.AuthLevel == AuthorizationLevel.Anonymous || level == AuthorizationLevel.Admin || level == function.AuthLevel;
    }

    private AuthorizationLevel LevelOf(string key, string function)
    {
        if (Equal(key, MasterKey))
        {
            return AuthorizationLevel.Admin;
        }

        if (SystemKeys.Values.Any(k => Equal(k, key)))
        {
            return AuthorizationLevel.System;
        }

        if (HostFunctionKeys.Values.Any(k => Equal(k, key)) || (PerFunction.TryGetValue(function, out var own) && own.Values.Any(k => Equal(k, key))))
        {
            return AuthorizationLevel.Function;
        }

        return AuthorizationLevel.Anonymous;
    }

    private static bool Equal(string a, string b) => CryptographicOperations.FixedTimeEquals(System.Text.Encoding.UTF8.GetBytes(a), System.Text.Encoding.UTF8.GetBytes(b));

    private static string NewKey() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(40)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

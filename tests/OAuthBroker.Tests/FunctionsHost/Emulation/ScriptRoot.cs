using System.Text.Json;

namespace OAuthBroker.Tests.FunctionsHost.Emulation;

/// <summary>
/// A Functions script root as the host reads it: <c>host.json</c> at the root and one folder per function with its
/// <c>function.json</c> (the folder name is the function's name). References below are to Azure/azure-functions-host
/// at 89dc438 (4.1037.0) unless another repository is named.
/// </summary>
public sealed class ScriptRoot
{
    private ScriptRoot(string path, JsonElement host, IReadOnlyList<FunctionDefinition> functions)
    {
        Path = path;
        Host = host;
        Functions = functions;
    }

    public string Path { get; }
    public JsonElement Host { get; }
    public IReadOnlyList<FunctionDefinition> Functions { get; }

    /// <summary><c>extensions.http.routePrefix</c>; "api" when absent (WebJobs HttpOptions default).</summary>
    public string RoutePrefix =>
        Host.TryGetProperty("extensions", out var e) && e.TryGetProperty("http", out var http) && http.TryGetProperty("routePrefix", out var p)
            ? p.GetString() ?? "" : "api";

    public JsonElement CustomHandler => Host.GetProperty("customHandler");

    public bool EnableForwardingHttpRequest =>
        CustomHandler.TryGetProperty("enableForwardingHttpRequest", out var f) && f.GetBoolean();

    /// <summary>
    /// The handler's executable and working directory: a relative <c>defaultExecutablePath</c> is taken from the worker
    /// directory (the script root) when the file exists there (<c>Workers/Http/HttpWorkerDescription.cs:31-57</c>), and an
    /// empty <c>workingDirectory</c> is the script root (<c>Workers/Http/Configuration/HttpWorkerOptionsSetup.cs:90-102</c>).
    /// </summary>
    public (string Executable, string WorkingDirectory, IReadOnlyList<string> Arguments) Worker
    {
        get
        {
            var description = CustomHandler.GetProperty("description");
            var executable = description.GetProperty("defaultExecutablePath").GetString()!;
            var full = System.IO.Path.Combine(Path, executable);
            var workingDirectory = description.TryGetProperty("workingDirectory", out var w) && w.GetString() is { Length: > 0 } dir
                ? System.IO.Path.IsPathRooted(dir) ? dir : System.IO.Path.Combine(Path, dir)
                : Path;
            var arguments = description.TryGetProperty("arguments", out var a) ? a.EnumerateArray().Select(x => x.GetString()!).ToList() : [];
            return (File.Exists(full) ? full : executable, workingDirectory, arguments);
        }
    }

    public static ScriptRoot Read(string path)
    {
        using var host = JsonDocument.Parse(File.ReadAllText(System.IO.Path.Combine(path, "host.json")));
        var functions = Directory.GetDirectories(path)
            .Where(d => File.Exists(System.IO.Path.Combine(d, "function.json")))
            .Order(StringComparer.Ordinal)
            .Select(d => FunctionDefinition.Read(System.IO.Path.GetFileName(d), System.IO.Path.Combine(d, "function.json")))
            .ToList();
        return new ScriptRoot(path, host.RootElement.Clone(), functions);
    }
}

/// <summary>One function: its bindings, split by direction as the host's <c>FunctionMetadata</c> does.</summary>
public sealed record FunctionDefinition(string Name, IReadOnlyList<JsonElement> InputBindings, IReadOnlyList<JsonElement> OutputBindings)
{
    public JsonElement Trigger => InputBindings.First(b => Type(b).EndsWith("Trigger", StringComparison.OrdinalIgnoreCase));

    public bool IsHttpTrigger => string.Equals(Type(Trigger), "httpTrigger", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Only a function with exactly one <c>httpTrigger</c> in and one <c>http</c> out is forwarded as an HTTP request
    /// (<c>src/WebJobs.Script/Extensions/FunctionMetadataExtensions.cs:25-41</c>, <c>DefaultHttpWorkerService.cs:60-72</c>);
    /// any other is posted as a payload to <c>/{name}</c>.
    /// </summary>
    public bool IsHttpInAndOutFunction =>
        InputBindings.Count == 1 && OutputBindings.Count == 1
        && string.Equals(Type(InputBindings[0]), "httpTrigger", StringComparison.OrdinalIgnoreCase)
        && string.Equals(Type(OutputBindings[0]), "http", StringComparison.OrdinalIgnoreCase);

    /// <summary>The route, or the function's name when none is given (<c>WebScriptHostHttpRoutesManager.cs:59-65</c>).</summary>
    public string Route => Trigger.TryGetProperty("route", out var r) && r.GetString() is { Length: > 0 } route ? route : Name;

    /// <summary>The allowed methods; null means all (<c>WebScriptHostHttpRoutesManager.cs:53-57</c>).</summary>
    public string[]? Methods => Trigger.TryGetProperty("methods", out var m) && m.ValueKind == JsonValueKind.Array
        ? m.EnumerateArray().Select(x => x.GetString()!).ToArray() : null;

    /// <summary><c>authLevel</c>; the HTTP trigger's default is <c>function</c>.</summary>
    public AuthorizationLevel AuthLevel => Trigger.TryGetProperty("authLevel", out var a)
        ? Enum.Parse<AuthorizationLevel>(a.GetString()!, ignoreCase: true) : AuthorizationLevel.Function;

    public static FunctionDefinition Read(string name, string file)
    {
        using var json = JsonDocument.Parse(File.ReadAllText(file));
        var bindings = json.RootElement.GetProperty("bindings").EnumerateArray().Select(b => b.Clone()).ToList();
        return new FunctionDefinition(name,
            bindings.Where(b => Direction(b) == "in").ToList(),
            bindings.Where(b => Direction(b) == "out").ToList());
    }

    public static string Type(JsonElement binding) => binding.GetProperty("type").GetString()!;

    private static string Direction(JsonElement binding) => binding.GetProperty("direction").GetString()!.ToLowerInvariant();
}

/// <summary>azure-webjobs-sdk-extensions <c>src/WebJobs.Extensions.Http/AuthorizationLevel.cs</c>.</summary>
public enum AuthorizationLevel
{
    Anonymous,
    User,
    Function,
    System,
    Admin,
}

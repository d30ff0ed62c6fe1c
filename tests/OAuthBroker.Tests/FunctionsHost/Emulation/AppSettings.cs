using Microsoft.Extensions.Configuration;

namespace OAuthBroker.Tests.FunctionsHost.Emulation;

/// <summary>
/// App settings as the job host sees them. In Azure (and under Core Tools) app settings are environment variables of the
/// host process. The job host's configuration gets them from the standard environment-variable provider, added by the
/// WebJobs SDK because the host adds none of its own to the job host builder (azure-webjobs-sdk
/// <c>src/Microsoft.Azure.WebJobs.Host/Hosting/WebJobsHostBuilderExtensions.cs:119-126,159-171</c>; the host's raw-name-aware
/// <c>ScriptEnvironmentVariablesConfigurationSource</c> replaces it only in the outer web host,
/// <c>src/WebJobs.Script.WebHost/Program.cs:60-69</c>). That provider stores <c>A__B</c> under <c>A:B</c>
/// (dotnet/runtime <c>Microsoft.Extensions.Configuration.EnvironmentVariables/src/EnvironmentVariablesConfigurationProvider.cs</c>,
/// <c>Normalize</c>: <c>key.Replace("__", ConfigurationPath.KeyDelimiter)</c>); a test checks this imitation against the real
/// provider. (Its connection-string prefixes are not imitated: the app uses none.)
/// </summary>
public sealed class AppSettings(IReadOnlyDictionary<string, string> values)
{
    public IReadOnlyDictionary<string, string> Values { get; } = values;

    public IConfiguration JobHostConfiguration { get; } = new ConfigurationBuilder()
        .AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key.Replace("__", ConfigurationPath.KeyDelimiter, StringComparison.Ordinal), v.Value)))
        .Build();

    /// <summary><c>DefaultNameResolver.Resolve</c>: <c>_configuration[name]</c> (azure-webjobs-sdk <c>src/Microsoft.Azure.WebJobs.Host/DefaultNameResolver.cs:27-35</c>).</summary>
    public string? Resolve(string name) => string.IsNullOrEmpty(name) ? null : JobHostConfiguration[name];

    /// <summary>
    /// <c>NameResolverExtensions.ResolveWholeString</c>: every <c>%name%</c> replaced, and a name that does not resolve is an
    /// error, "'%{name}%' does not resolve to a value." (azure-webjobs-sdk <c>src/Microsoft.Azure.WebJobs.Host/NameResolverExtensions.cs:39-115</c>).
    /// </summary>
    public string ResolveWholeString(string text)
    {
        var result = new System.Text.StringBuilder();
        var i = 0;
        while (i < text.Length)
        {
            var start = text.IndexOf('%', i);
            if (start < 0)
            {
                result.Append(text, i, text.Length - i);
                break;
            }

            var end = text.IndexOf('%', start + 1);
            if (end < 0)
            {
                throw new InvalidOperationException($"The '%' at position {start} does not have a closing '%'");
            }

            var name = text.Substring(start + 1, end - start - 1);
            var value = Resolve(name) ?? throw new InvalidOperationException($"'%{name}%' does not resolve to a value.");
            result.Append(text, i, start - i).Append(value);
            i = end + 1;
        }

        return result.ToString();
    }
}

using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OAuthBroker.Events;
using OAuthBroker.Flows;
using OAuthBroker.Host.Endpoints;
using OAuthBroker.Host.Identity;
using OAuthBroker.LocalEnvironment;
using OAuthBroker.Providers;
using OAuthBroker.Refresh;
using OAuthBroker.Sealing;
using OAuthBroker.Storage;

namespace OAuthBroker.Tests.Deployment;

/// <summary>
/// Configuration cannot drift: every setting the app reads in Azure is set by infra/ or has a documented default,
/// no secret is a template parameter, and local.settings.example.json is a complete, valid local configuration.
/// </summary>
public sealed partial class ConfigurationDriftTests
{
    private static readonly string Root = RepositoryRoot.Find();
    private static readonly string Resources = File.ReadAllText(Path.Combine(Root, "infra", "app", "resources.bicep"));
    private static readonly string Main = File.ReadAllText(Path.Combine(Root, "infra", "main.bicep"));

    /// <summary>Options the app binds, by section.</summary>
    private static readonly (string Section, Type Type)[] OptionSections =
    [
        (BrokerOptions.SectionName, typeof(BrokerOptions)),
        (StorageOptions.SectionName, typeof(StorageOptions)),
        (KeyVaultOptions.SectionName, typeof(KeyVaultOptions)),
        (RefreshOptions.SectionName, typeof(RefreshOptions)),
        (SealingOptions.SectionName, typeof(SealingOptions)),
        (UserAuthenticationOptions.SectionName, typeof(UserAuthenticationOptions)),
        (ClientAddressOptions.SectionName, typeof(ClientAddressOptions)),
        (EventsOptions.SectionName, typeof(EventsOptions)),
    ];

    /// <summary>Settings that have no default on purpose, and why infra/ leaves them unset.</summary>
    private static readonly Dictionary<string, string> OptionalWithoutDefault = new(StringComparer.Ordinal)
    {
        ["Broker__DefaultReturnUrl"] = "falls back to the broker's own origin",
        ["Storage__ConnectionString"] = "the alternative to Storage__TableServiceUri; Azure uses the identity",
        ["KeyVault__LocalAccessToken"] = "development only (the local vault endpoint)",
        ["KeyVault__LocalCertificatePath"] = "development only (the local vault endpoint)",
        ["Events__LocalCertificatePath"] = "development only (a loopback webhook receiver's certificate)",
        ["Sealing__CurrentKeyId"] = "only with Sealing:Keys; Azure seals with the Key Vault secret's versions",
        ["RateLimit__ClientAddressHeader"] = "Client-IP under the Functions host when unset (the Flex front end overwrites it)",
        ["RateLimit__FrontDoorId"] = "only behind Azure Front Door (required by start-up with X-Azure-ClientIP, and only with it)",
        ["Refresh__ProviderConnectTimeout"] = "derived when unset: half of Refresh:RefreshCallTimeout, at most 10 s",
    };

    /// <summary>Settings infra/ must set although the app has a default.</summary>
    private static readonly string[] AlwaysSetByInfra =
    [
        "REFRESH_SCHEDULE", // RefreshTokens/function.json reads %REFRESH_SCHEDULE%; the timer is in error without it.
        "AZURE_CLIENT_ID", // DefaultAzureCredential picks the user-assigned identity from it.
        "AzureWebJobsStorage__accountName",
        "AzureWebJobsStorage__credential",
        "AzureWebJobsStorage__clientId",
        "APPLICATIONINSIGHTS_CONNECTION_STRING",
        "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
    ];

    private static HashSet<string> InfraSettings() =>
        SettingName().Matches(Resources).Select(m => m.Groups["name"].Value).ToHashSet(StringComparer.Ordinal);

    [Fact]
    public void Every_setting_the_app_reads_in_Azure_is_set_by_infra_or_has_a_documented_default()
    {
        var infra = InfraSettings();
        foreach (var (section, type) in OptionSections)
        {
            var defaults = Activator.CreateInstance(type)!;
            foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite))
            {
                var key = $"{section}__{property.Name}";
                var hasDefault = property.GetValue(defaults) is not null and not "";
                var collection = property.PropertyType != typeof(string) && property.PropertyType.IsAssignableTo(typeof(System.Collections.IEnumerable));
                if (!hasDefault && !collection)
                {
                    (infra.Contains(key) || OptionalWithoutDefault.ContainsKey(key)).ShouldBeTrue($"{key} has no default and infra/ does not set it");
                }
            }
        }

        foreach (var key in AlwaysSetByInfra)
        {
            infra.ShouldContain(key);
        }

        Resources.ShouldContain("'Broker__AllowedReturnOrigins__${i}'");
        Resources.ShouldContain("'Broker__CompletionPages__${i}'");
        Resources.ShouldContain("'Providers__${p.id}__'");
        Resources.ShouldContain("'${acc.prefix}${entry.key}'");
        Resources.ShouldContain("'Backends__${b.name}__Key'");
        foreach (var property in typeof(WebhookEndpointOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite))
        {
            var list = property.PropertyType != typeof(string) && property.PropertyType.IsAssignableTo(typeof(System.Collections.IEnumerable));
            Resources.ShouldContain($"'Events__Endpoints__${{w.name}}__{property.Name}{(list ? "__" : "")}", Case.Sensitive, $"infra/ sets every webhook endpoint setting; not {property.Name}");
        }

        Resources.ShouldContain("backendSettings, webhookSettings)");
    }

    [Fact]
    public void The_README_deploy_step_names_every_field_of_a_webhook_endpoint_parameter()
    {
        var types = File.ReadAllText(Path.Combine(Root, "infra", "types.bicep"));
        var webhook = types[types.IndexOf("type webhookEndpointType", StringComparison.Ordinal)..];
        webhook = webhook[..webhook.IndexOf('}', StringComparison.Ordinal)];
        var fields = Regex.Matches(webhook, @"^  (\w+): \S+?(\?)?$", RegexOptions.Multiline).Select(m => $"\"{m.Groups[1].Value}\"{m.Groups[2].Value}").ToArray();
        fields.Length.ShouldBe(5);
        var readme = File.ReadAllText(Path.Combine(Root, "README.md"));
        readme.ShouldContain("`{ " + string.Join(", ", fields) + " }`");
        Main.ShouldContain("param webhookEndpoints webhookEndpointType[] = []");
        Main.ShouldContain("webhookEndpoints: webhookEndpoints");
    }

    [Fact]
    public void Secrets_reach_the_app_as_Key_Vault_references_never_as_template_parameters()
    {
        Resources.ShouldContain("'Providers__${p.id}__ClientSecret', value: '@Microsoft.KeyVault(VaultName=${vaultName};SecretName=${p.clientSecretName})'");
        Resources.ShouldContain("@Microsoft.KeyVault(VaultName=${vaultName};SecretName=${b.keySecretName})");
        foreach (var template in new[] { Main, Resources })
        {
            foreach (Match param in Parameter().Matches(template))
            {
                var name = param.Groups["name"].Value;
                Regex.IsMatch(name, "secret|password|key$", RegexOptions.IgnoreCase).ShouldBeFalse($"parameter {name} looks like a secret");
            }
        }

        Resources.ShouldContain("allowSharedKeyAccess: false");
        Resources.ShouldContain("DisableLocalAuth: true");
        Resources.ShouldContain("enableRbacAuthorization: true");
        Resources.ShouldContain("runtime: { name: 'custom', version: '1.0' }");
    }

    [Fact]
    public void Every_template_parameter_is_described_as_required_or_optional()
    {
        foreach (var template in new[] { Main, Resources })
        {
            var lines = template.Split('\n');
            for (var i = 0; i < lines.Length; i++)
            {
                if (!lines[i].StartsWith("param ", StringComparison.Ordinal))
                {
                    continue;
                }

                var decorators = string.Join('\n', lines[Math.Max(0, i - 4)..i]);
                DescribedParameter().IsMatch(decorators).ShouldBeTrue($"'{lines[i].Trim()}' needs @description('Required. …') or ('Optional. …')");
            }
        }

        var parametersFile = JsonDocument.Parse(File.ReadAllText(Path.Combine(Root, "infra", "main.parameters.json"))).RootElement.GetProperty("parameters");
        foreach (var parameter in parametersFile.EnumerateObject())
        {
            Main.ShouldContain($"param {parameter.Name} ", customMessage: $"main.parameters.json sets {parameter.Name}, which main.bicep does not declare");
        }
    }

    [Fact]
    public void Local_settings_example_is_a_complete_valid_local_configuration()
    {
        var values = JsonDocument.Parse(File.ReadAllText(Path.Combine(Root, "local.settings.example.json"))).RootElement.GetProperty("Values");
        var settings = values.EnumerateObject().ToDictionary(p => p.Name.Replace("__", ":", StringComparison.Ordinal), p => (string?)p.Value.GetString());
        foreach (var required in new[] { "FUNCTIONS_WORKER_RUNTIME", "AzureWebJobsStorage", "Broker:PublicBaseUrl", "Storage:ConnectionString", "KeyVault:VaultUri", "KeyVault:LocalAccessToken", "REFRESH_SCHEDULE" })
        {
            settings.ShouldContainKey(required);
        }

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection().AddLogging().AddBrokerCore(configuration).BuildServiceProvider();
        new BrokerOptions.Validator().Validate(null, configuration.GetSection("Broker").Get<BrokerOptions>()!).Succeeded.ShouldBeTrue();
        new RefreshOptions.Validator().Validate(null, configuration.GetSection("Refresh").Get<RefreshOptions>() ?? new RefreshOptions()).Succeeded.ShouldBeTrue();
        new StorageOptions.Validator().Validate(null, configuration.GetSection("Storage").Get<StorageOptions>()!).Succeeded.ShouldBeTrue();
        services.GetRequiredService<ProviderCatalog>().Descriptors.Count.ShouldBeGreaterThanOrEqualTo(4);
        settings.Keys.ShouldContain(k => k.StartsWith("Backends:", StringComparison.Ordinal) && k.EndsWith(":Key", StringComparison.Ordinal));
    }

    [Fact]
    public void The_schedule_setting_infra_and_the_local_settings_provide_resolves_the_way_the_host_resolves_it()
    {
        // The app setting fed from the refreshSchedule parameter, with main.bicep's default, as the host sees app settings.
        var name = Regex.Match(Resources, @"\{ name: '(?<name>[A-Za-z0-9_]+)', value: refreshSchedule \}").Groups["name"].Value;
        var value = Regex.Match(Main, @"param refreshSchedule string = '(?<value>[^']+)'").Groups["value"].Value;
        var root = FunctionsHost.Emulation.ScriptRoot.Read(Support.HandlerProcess.ScriptRoot);
        var timer = root.Functions.Single(f => f.Name == "RefreshTokens");

        var inAzure = FunctionsHost.Emulation.TimerTrigger.Index(timer, new FunctionsHost.Emulation.AppSettings(new Dictionary<string, string> { [name] = value }));
        inAzure.Error.ShouldBeNull();
        inAzure.ResolvedSchedule.ShouldBe(value);

        // func start puts local.settings.json's Values into the host's environment.
        var local = JsonDocument.Parse(File.ReadAllText(Path.Combine(Root, "local.settings.example.json"))).RootElement.GetProperty("Values")
            .EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);
        FunctionsHost.Emulation.TimerTrigger.Index(timer, new FunctionsHost.Emulation.AppSettings(local)).Error.ShouldBeNull();
    }

    [GeneratedRegex(@"\{ name: '(?<name>[A-Za-z0-9_]+)', value:")]
    private static partial Regex SettingName();

    [GeneratedRegex(@"^param (?<name>\w+) ", RegexOptions.Multiline)]
    private static partial Regex Parameter();

    [GeneratedRegex(@"@description\('(Required|Optional)\. ")]
    private static partial Regex DescribedParameter();
}

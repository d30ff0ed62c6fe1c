using Microsoft.Extensions.Options;

namespace OAuthBroker.Host.StartupChecks;

/// <summary>
/// Settings that must stop the app before it serves anyone, checked with the other options at start-up (every error
/// listed): Key Vault references the platform could not resolve, and settings meant for a developer's machine.
/// </summary>
public sealed class SettingsChecks
{
    internal sealed class Validator(IConfiguration configuration, IHostEnvironment environment) : IValidateOptions<SettingsChecks>
    {
        public ValidateOptionsResult Validate(string? name, SettingsChecks options)
        {
            var errors = UnresolvedKeyVaultReferences.Errors(configuration).Concat(DevelopmentOnlySettings.Errors(configuration, environment)).ToList();
            return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
        }
    }
}

public static class SettingsChecksExtensions
{
    public static IServiceCollection AddSettingsChecks(this IServiceCollection services)
    {
        services.AddOptions<SettingsChecks>().ValidateOnStart();
        services.AddSingleton<IValidateOptions<SettingsChecks>, SettingsChecks.Validator>();
        return services;
    }
}

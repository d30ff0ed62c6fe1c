using Microsoft.Extensions.Options;

namespace OAuthBroker.Host.StartupChecks;

/// <summary>
/// Settings that must stop the app before it serves anyone, checked with the other options at start-up (every error
/// listed): Key Vault references the platform could not resolve, settings meant for a developer's machine, and a refresh
/// schedule under which a pending WhiteBIT key's refresh token would die between runs (<see cref="PendingRenewalFit"/>).
/// </summary>
public sealed class SettingsChecks
{
    internal sealed class Validator(IConfiguration configuration, IHostEnvironment environment, IServiceProvider services) : IValidateOptions<SettingsChecks>
    {
        public ValidateOptionsResult Validate(string? name, SettingsChecks options)
        {
            var errors = UnresolvedKeyVaultReferences.Errors(configuration)
                .Concat(DevelopmentOnlySettings.Errors(configuration, environment))
                .Concat(PendingRenewalFit.Errors(configuration, services))
                .ToList();
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

using Microsoft.Extensions.Options;
using OAuthBroker.Credentials;

namespace OAuthBroker.Refresh;

/// <summary>
/// Everything one refresh can take while it holds a link's lease, each part bounded: the wait for a vault-write slot,
/// the provider calls (each with its timeout), the vault write with all its retries, and an allowance for clocks. A
/// lease shorter than this could lapse while its holder still acts, and a second refresher could then spend the same
/// rotating token, so start-up refuses it.
/// </summary>
public sealed record LeaseBudget(TimeSpan Pacing, TimeSpan Spend, TimeSpan VaultWrite, TimeSpan ClockAllowance)
{
    /// <summary>Provider calls one spend may make: Bybit tries client_secret both ways; a generic provider may fetch its discovery document first.</summary>
    public const int CallsPerSpend = 2;

    /// <summary>What the lease must last from the moment it is taken.</summary>
    public TimeSpan Total => Pacing + Spend + VaultWrite + ClockAllowance;

    /// <summary>What must be left of the lease when the refresh token is sent.</summary>
    public TimeSpan ForSpend => Spend + VaultWrite + ClockAllowance;

    internal sealed class Validator(IVaultWriteBudget vault) : IValidateOptions<RefreshOptions>
    {
        public ValidateOptionsResult Validate(string? name, RefreshOptions options)
        {
            var budget = options.BudgetWith(vault.WorstCaseWrite);
            return options.LeaseDuration >= budget.Total
                ? ValidateOptionsResult.Success
                : ValidateOptionsResult.Fail(
                    $"{RefreshOptions.SectionName}:LeaseDuration ({options.LeaseDuration}) is shorter than what one refresh can take while holding it ({budget.Total}: " +
                    $"pacing {budget.Pacing} + provider {budget.Spend} ({LeaseBudget.CallsPerSpend} × Refresh:RefreshCallTimeout) + vault write {budget.VaultWrite} " +
                    $"(KeyVault:NetworkTimeout, MaxRetries, RetryMaxDelay, RetryAfterCap) + clock allowance {budget.ClockAllowance}). Lengthen the lease or shorten those.");
        }
    }
}

namespace OAuthBroker.Events;

/// <summary>Where an endpoint's signing secrets come from (Key Vault): read at delivery time, so a rotation needs no restart.</summary>
public interface IWebhookSecretSource
{
    /// <summary>The secrets stored under <paramref name="secretName"/>; null when the value is missing or not valid <c>whsec_</c> secrets.</summary>
    Task<IReadOnlyList<WebhookSecret>?> GetAsync(string secretName, CT ct);
}

using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OAuthBroker.Providers;

namespace OAuthBroker.Tests.Providers;

/// <summary>Providers are data: every child of Providers is one provider; a bad catalogue fails start-up with every error.</summary>
public sealed class ProviderCatalogTests
{
    private static ProviderCatalog Build(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection().AddLogging().AddBrokerCore(configuration).BuildServiceProvider();
        return services.GetRequiredService<ProviderCatalog>();
    }

    [Fact]
    public void Seed_dialects_come_from_the_id_and_anything_else_is_a_standard_provider()
    {
        var catalog = Build(new()
        {
            ["Providers:Bybit:ClientId"] = "a",
            ["Providers:Bybit:ClientSecret"] = "b",
            ["Providers:builtbybit:ClientId"] = "a",
            ["Providers:builtbybit:ClientSecret"] = "b",
            ["Providers:bybit-testnet:Dialect"] = "bybit",
            ["Providers:bybit-testnet:Environment"] = "Testnet",
            ["Providers:bybit-testnet:ClientId"] = "a",
            ["Providers:bybit-testnet:ClientSecret"] = "b",
            ["Providers:github:AuthorizationEndpoint"] = "https://github.com/login/oauth/authorize",
            ["Providers:github:TokenEndpoint"] = "https://github.com/login/oauth/access_token",
            ["Providers:github:UserinfoEndpoint"] = "https://api.github.com/user",
            ["Providers:github:AccountIdSource"] = "Userinfo",
            ["Providers:github:AccountIdClaim"] = "id",
            ["Providers:github:ClientId"] = "a",
            ["Providers:github:ClientSecret"] = "b",
            ["Providers:off:Enabled"] = "false",
        });

        catalog.Descriptors.Select(d => d.Id).ShouldBe(["builtbybit", "bybit", "bybit-testnet", "github"]);
        catalog.Find("github").ShouldBeOfType<OAuthBroker.Providers.Generic.GenericOAuthProvider>();
        catalog.Find("bybit-testnet").ShouldBeOfType<OAuthBroker.Providers.Bybit.BybitProvider>();
        catalog.Find("off").ShouldBeNull();
    }

    [Fact]
    public void A_bad_catalogue_fails_with_every_error_listed()
    {
        var failure = Should.Throw<InvalidOperationException>(() => Build(new()
        {
            ["Providers:Bybit:ClientId"] = "a",
            ["Providers:Bad_Id:ClientId"] = "a",
            ["Providers:x:Dialect"] = "nonesuch",
            ["Providers:y:ClientId"] = "a",
        }));

        failure.Message.ShouldContain("Providers:Bybit:ClientSecret is required");
        failure.Message.ShouldContain("Providers:Bad_Id: provider ids are");
        failure.Message.ShouldContain("Dialect 'nonesuch'");
        failure.Message.ShouldContain("Providers:y: set AuthorizationEndpoint and TokenEndpoint, or Issuer");
    }

    [Fact]
    public void A_refresh_margin_travels_on_the_descriptor_and_the_provider_keeps_its_optional_interfaces()
    {
        var provider = Build(new()
        {
            ["Providers:whitebit:ClientId"] = "a",
            ["Providers:whitebit:ClientSecret"] = "b",
            ["Providers:whitebit:RefreshMargin"] = "00:01:00",
        }).Find("whitebit")!;

        provider.Descriptor.RefreshMargin.ShouldBe(TimeSpan.FromMinutes(1));
        provider.ShouldBeAssignableTo<IDeferredAuthorization>("a caller must still find the deferred completion behind a configured margin");
    }
}

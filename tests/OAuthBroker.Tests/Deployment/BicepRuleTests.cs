using OAuthBroker.LocalEnvironment;

namespace OAuthBroker.Tests.Deployment;

/// <summary>
/// The templates against the Bicep compiler's rules and Flex Consumption's restrictions (sources in infra/README.md), and
/// the checker against the compiler's own test baseline, so it is known to catch what the compiler rejects.
/// </summary>
public sealed class BicepRuleTests
{
    private static readonly string Infra = Path.Combine(RepositoryRoot.Find(), "infra");

    public static TheoryData<string> Templates => new() { "main.bicep", "app/resources.bicep", "types.bicep" };

    private static string Read(string template) => File.ReadAllText(Path.Combine(Infra, template));

    [Theory]
    [MemberData(nameof(Templates))]
    public void No_for_expression_or_lambda_is_where_the_compiler_rejects_it(string template)
    {
        BicepRules.MisplacedForExpressions(Read(template)).ShouldBeEmpty($"{template}: BCP138 at these lines");
        BicepRules.LambdasOutsideFunctionArguments(Read(template)).ShouldBeEmpty($"{template}: BCP242 at these lines");
        Read(template).ShouldNotContain("reference(", customMessage: "BCP248: no lambda may reach reference()");
    }

    [Fact]
    public void The_checker_finds_what_the_compilers_baseline_rejects_and_passes_what_it_accepts()
    {
        // Azure/bicep src/Bicep.Core.Samples/Files/baselines/InvalidVariables_LF/main.diagnostics.bicep:383-387: two BCP138.
        BicepRules.MisplacedForExpressions("var loopExpression = union([for thing in stuff: 4], [for thing in stuff: true])\n").Count.ShouldBe(2);
        // The shape these templates had (deployment review D1).
        BicepRules.MisplacedForExpressions("var providerSettings = flatten([for p in providers: concat(\n  [p.id]\n)])\n").ShouldBe([1]);
        BicepRules.MisplacedForExpressions("output o array = [for x in xs: x]\nvar v = [for (o, i) in os: { name: '${i}' }]\n").ShouldBeEmpty();
        BicepRules.MisplacedForExpressions("resource r 'a/b@1' = {\n  properties: {\n    list: [for x in xs: x]\n  }\n}\n").ShouldBeEmpty();
        BicepRules.MisplacedForExpressions("var v = {\n  list: [for x in xs: x]\n}\n").ShouldBe([2], "a variable's loop must be its whole value");
        // Lambdas_LF/main.bicep:12 (accepted) and InvalidLambdas_LF/main.diagnostics.bicep:111 (BCP242).
        BicepRules.LambdasOutsideFunctionArguments("var sayHello = map(doggos, i => 'Hello ${i}!')\n").ShouldBeEmpty();
        BicepRules.LambdasOutsideFunctionArguments("var noFunctionLambda = i => '${i}'\n").ShouldBe([1]);
    }

    [Fact]
    public void The_function_app_sets_nothing_Flex_Consumption_rejects()
    {
        // Learn "App settings reference for Azure Functions", Flex Consumption plan deprecations (site properties and settings).
        string[] properties = ["ftpsState", "alwaysOn", "containerSize", "isReserved", "IsXenon", "javaVersion", "linuxFxVersion", "netFrameworkVersion",
            "powerShellVersion", "functionAppScaleLimit", "preWarmedInstanceCount", "use32BitWorkerProcess", "windowsFxVersion"];
        string[] settings = ["ENABLE_ORYX_BUILD", "FUNCTIONS_EXTENSION_VERSION", "FUNCTIONS_WORKER_RUNTIME", "FUNCTIONS_WORKER_RUNTIME_VERSION",
            "FUNCTIONS_MAX_HTTP_CONCURRENCY", "FUNCTIONS_WORKER_PROCESS_COUNT", "FUNCTIONS_WORKER_DYNAMIC_CONCURRENCY_ENABLED", "SCM_DO_BUILD_DURING_DEPLOYMENT",
            "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING", "WEBSITE_CONTENTOVERVNET", "WEBSITE_CONTENTSHARE", "WEBSITE_DNS_SERVER",
            "WEBSITE_MAX_DYNAMIC_APPLICATION_SCALE_OUT", "WEBSITE_NODE_DEFAULT_VERSION", "WEBSITE_RUN_FROM_PACKAGE", "WEBSITE_SKIP_CONTENTSHARE_VALIDATION", "WEBSITE_VNET_ROUTE_ALL"];
        var resources = Read("app/resources.bicep");
        foreach (var property in properties)
        {
            System.Text.RegularExpressions.Regex.IsMatch(resources, $@"\b{property}\s*:", System.Text.RegularExpressions.RegexOptions.IgnoreCase).ShouldBeFalse(property);
        }

        foreach (var setting in settings)
        {
            resources.ShouldNotContain($"'{setting}'", Case.Insensitive);
        }
    }

    [Fact]
    public void The_app_waits_for_every_role_it_uses_and_the_platform_gets_the_frontends_CORS_origins()
    {
        var resources = Read("app/resources.bicep");
        var app = resources[resources.IndexOf("resource functionApp ", StringComparison.Ordinal)..];
        app = app[..app.IndexOf("\n}\n", StringComparison.Ordinal)];
        var dependsOn = app[app.IndexOf("dependsOn: [", StringComparison.Ordinal)..];
        dependsOn = dependsOn[..dependsOn.IndexOf(']', StringComparison.Ordinal)];
        foreach (var role in new[] { "blobOwner", "tableContributor", "secretsOfficer", "metricsPublisher" })
        {
            dependsOn.ShouldContain(role);
        }

        app.ShouldContain("cors: {");
        app.ShouldContain("allowedOrigins: allowedReturnOrigins");
        app.ShouldContain("supportCredentials: !empty(allowedReturnOrigins)");
    }
}

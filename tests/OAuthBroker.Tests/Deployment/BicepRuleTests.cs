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
        new BicepCode(Read(template)).Balanced.ShouldBeTrue($"{template}: brackets do not pair up");
        BicepRules.MisplacedForExpressions(Read(template)).ShouldBeEmpty($"{template}: BCP138 at these lines");
        BicepRules.NestedPropertyLoops(Read(template)).ShouldBeEmpty($"{template}: BCP142 at these lines");
        BicepRules.LambdasOutsideFunctionArguments(Read(template)).ShouldBeEmpty($"{template}: BCP242 at these lines");
        BicepRules.RuntimeFunctionsInLambdas(Read(template)).ShouldBeEmpty($"{template}: BCP248 at these lines");
        BicepRules.InnerLambdasUsingOuterVariables(Read(template)).ShouldBeEmpty($"{template}: an inner lambda reads the outer one's variable (Azure/bicep #9149)");
    }

    /// <summary>Cases from the compiler's own baselines (Azure/bicep at 9beb0fee, src/Bicep.Core.Samples/Files/baselines).</summary>
    [Fact]
    public void The_checker_finds_what_the_compilers_baselines_reject_and_passes_what_they_accept()
    {
        // InvalidVariables_LF/main.diagnostics.bicep:383-387: two BCP138.
        BicepRules.MisplacedForExpressions("var loopExpression = union([for thing in stuff: 4], [for thing in stuff: true])\n").Count.ShouldBe(2);
        // The shape these templates had (deployment review D1).
        BicepRules.MisplacedForExpressions("var providerSettings = flatten([for p in providers: concat(\n  [p.id]\n)])\n").ShouldBe([1]);
        BicepRules.MisplacedForExpressions("output o array = [for x in xs: x]\nvar v = [for (o, i) in os: { name: '${i}' }]\n").ShouldBeEmpty();
        BicepRules.MisplacedForExpressions("resource r 'a/b@1' = {\n  properties: {\n    list: [for x in xs: x]\n  }\n}\n").ShouldBeEmpty();
        BicepRules.MisplacedForExpressions("resource r 'a/b@1' = [for a in as: {\n  properties: {\n    list: [for x in a.xs: x]\n  }\n}]\n").ShouldBeEmpty();
        BicepRules.MisplacedForExpressions("var v = {\n  list: [for x in xs: x]\n}\n").ShouldBe([2], "a variable's loop must be its whole value");
        BicepRules.MisplacedForExpressions("var v = [for x in xs: [for y in x: y]]\n").ShouldBe([1], "nor nested in a variable's loop");
        // A parameter's default is no loop-capable declaration (ForSyntaxValidatorVisitor.cs:386-390; InvalidParameters_LF:424-426).
        BicepRules.MisplacedForExpressions("param p array = [for x in range(0, 2): x]\n").ShouldBe([1]);
        // InvalidResources_CRLF/main.diagnostics.bicep:2240-2247: both sides of a ternary in a resource property.
        BicepRules.MisplacedForExpressions("resource r 'a/b@1' = {\n  properties: {\n    destinations: empty([]) ? [for x in []: {}] : [for x in []: {}]\n  }\n}\n").Count.ShouldBe(2);
        // InvalidResources_CRLF:2221-2227: a property loop in an object that is a function argument.
        BicepRules.MisplacedForExpressions("resource r 'a/b@1' = {\n  properties: {\n    d: union({}, {\n      la: [for w in ws: { n: w }]\n    })\n  }\n}\n").ShouldBe([4]);
        BicepRules.MisplacedForExpressions("resource r 'a/b@1' = {\n  properties: {\n    d: {\n      la: [for w in ws: w]\n    }.la\n  }\n}\n").ShouldBe([4], "a property access on the way");

        // BCP142, InvalidResources_CRLF/main.diagnostics.bicep:1656-1660 and 1699-1707.
        var nested = "resource r 'a/b@1' = [for account in accounts: {\n  properties: {\n    networkAcls: {\n      virtualNetworkRules: [for rule in []: {\n        state: [for lol in []: 4]\n      }]\n    }\n  }\n}]\n";
        BicepRules.NestedPropertyLoops(nested).ShouldBe([5]);
        BicepRules.MisplacedForExpressions(nested).ShouldBeEmpty("nested property loops are BCP142, not BCP138");
        BicepRules.NestedPropertyLoops("resource r 'a/b@1' = [for a in as: {\n  properties: {\n    list: [for x in a.xs: x]\n  }\n}]\n").ShouldBeEmpty("the resource's own loop does not count");

        // Lambdas_LF/main.bicep:8-20 (accepted, with a user function and string interpolations nesting strings).
        BicepRules.LambdasOutsideFunctionArguments("""
            func isEven(i int) bool => i % 2 == 0
            var sayHello = map(doggos, i => 'Hello ${i}!')
            var sayHello2 = map(doggos, (dog, i) => '${isEven(i) ? 'Hi' : 'Ahoy'} ${dog}!')
            var evenDoggosNestedLambdas = map(filter(numbers, i => contains(filter(numbers, j => 0 == j % 2), i)), x => doggos[x])
            var reduceObjectUnion = reduce([
              { foo: 123 }
            ], {}, (cur, next) => union(cur, next))
            var inParentheses = map(doggos, (i => i))
            """).ShouldBeEmpty();
        // InvalidLambdas_LF/main.diagnostics.bicep:109-137 (BCP242), and a parenthesised lambda outside a call (EmitLimitationCalculator.cs:483-490).
        BicepRules.LambdasOutsideFunctionArguments("""
            var ternary = map([123], true ? i => '${i}' : i => 'hello!')
            var outsideArgs = i => 123
            var outsideArgs2 = (x, y, z) => '${x}${y}${z}'
            var inObject = {
              a: i => i
            }
            var inArray = [
              i => i
            ]
            var parenthesised = (x => x)
            """).ShouldBe([1, 2, 3, 5, 8, 10]);

        // InvalidLambdas_LF/main.diagnostics.bicep:155-167 (BCP248).
        BicepRules.RuntimeFunctionsInLambdas("output k array = map(ids, id => listKeys(id, stg[0].apiVersion).keys[0].value)\n").ShouldBe([1]);
        BicepRules.RuntimeFunctionsInLambdas("output t array = map(ids, foo => reference('${foo}').accessTier)\n").ShouldBe([1]);
        BicepRules.RuntimeFunctionsInLambdas("output t array = map(ids, foo => '${listSecrets(foo, '2023-01-01').value}')\n").ShouldBe([1], "inside an interpolation too");
        BicepRules.RuntimeFunctionsInLambdas("var ok = map(ids, id => 'list ${id}')\nvar keys = listKeys(sa.id, '2023-01-01')\n").ShouldBeEmpty();

        // The shape of Azure/bicep #9149 and of these templates before; LambdaTests.cs:280-317's shape is fine.
        BicepRules.InnerLambdasUsingOuterVariables("var productApis = flatten(map(apimSubscriptions, s => map(s.apis, a => '/${s.name}/${a}')))\n").ShouldBe([1]);
        BicepRules.InnerLambdasUsingOuterVariables("var abc = map(['abc'], a => map(split(a, ','), b => 'Hello ${b}'))\n").ShouldBeEmpty();
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

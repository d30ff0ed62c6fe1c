using System.Text.RegularExpressions;

namespace OAuthBroker.Tests.Deployment;

/// <summary>
/// The Bicep compiler's placement rules for loops and lambdas, applied to template text (no compiler runs here). Each
/// rule cites the compiler's source (Azure/bicep at 9beb0fee; infra/README.md lists them). Where text cannot tell what
/// the compiler's semantic model can, the check is stricter than the compiler, never looser.
/// </summary>
public static partial class BicepRules
{
    private enum LoopPlacement { TopLevel, PropertyLoop, Misplaced }

    private static readonly string[] LoopDeclarations = ["resource", "module", "var", "output"];

    /// <summary>
    /// BCP138 (<c>src/Bicep.Core/Emit/ForSyntaxValidatorVisitor.cs:384-416</c> <c>IsLoopAllowedHere</c>,
    /// <c>:455-471</c> <c>IsTopLevelLoop</c>, <c>:435-453</c> <c>IsPropertyLoopUsagePossibleInside</c>): a
    /// <c>[for …]</c> is allowed as the whole value of a <c>resource</c>, <c>module</c>, <c>var</c> or <c>output</c>
    /// (not a <c>param</c>'s default: a parameter declaration is no loop-capable declaration), or, in a resource or module
    /// only, as an object property's value reached from the declaration through object and array literals alone — any
    /// function call, parenthesis, operator (the ternary too) or property/index access on the way makes it BCP138.
    /// Returns the line of each for-expression in a place the compiler rejects.
    /// </summary>
    public static IReadOnlyList<int> MisplacedForExpressions(string template) =>
        Loops(new BicepCode(template)).Where(l => l.Placement == LoopPlacement.Misplaced).Select(l => l.Line).ToList();

    /// <summary>
    /// BCP142 (<c>ForSyntaxValidatorVisitor.cs:15-16</c> <c>MaximumNestedPropertyLoopCount = 1</c>, <c>:193-203</c>):
    /// a property loop inside another property loop (a resource's own top-level loop does not count).
    /// </summary>
    public static IReadOnlyList<int> NestedPropertyLoops(string template) =>
        Loops(new BicepCode(template)).Where(l => l.PropertyLoopDepth > 1).Select(l => l.Line).ToList();

    /// <summary>
    /// BCP242 (<c>src/Bicep.Core/Emit/EmitLimitationCalculator.cs:471-494</c>): walking up from a lambda, parentheses are
    /// skipped and the first other ancestor must be a function argument — so <c>(x => x)</c> outside a call, a lambda in
    /// a ternary, an object or an array are all rejected (InvalidLambdas_LF/main.diagnostics.bicep:109-137).
    /// </summary>
    public static IReadOnlyList<int> LambdasOutsideFunctionArguments(string template)
    {
        var code = new BicepCode(template);
        return Lambdas(code).Where(l => !IsFunctionArgument(code, l.Start, l.Frames)).Select(l => code.LineOf(l.Arrow)).Distinct().ToList();
    }

    /// <summary>
    /// BCP248 (<c>EmitLimitationCalculator.cs:496-528</c>): a lambda variable may not reach a function the deployment engine
    /// evaluates up front — <c>reference()</c> and <c>list*()</c> (<c>src/Bicep.Core/Semantics/Namespaces/AzNamespaceType.cs:635-652</c>,
    /// <c>^list[a-zA-Z]*$</c> in <c>TypeSystem/Providers/Az/AzConstants.cs:9</c>), resource <c>list*</c> methods
    /// (<c>AzResourceTypeProvider.cs:412-418</c>). Stricter here: any such call inside a lambda's body, whatever its arguments.
    /// </summary>
    public static IReadOnlyList<int> RuntimeFunctionsInLambdas(string template)
    {
        var code = new BicepCode(template);
        return Lambdas(code)
            .SelectMany(l => RuntimeFunctionCall().Matches(code.Text[(l.Arrow + 2)..l.BodyEnd]).Select(m => code.LineOf(l.Arrow + 2 + m.Index)))
            .Distinct()
            .ToList();
    }

    /// <summary>
    /// Not a compiler rule: an inner lambda that reads the enclosing lambda's variable. The compiler accepts it, but the
    /// deployment engine's handling of that shape has a bug report (Azure/bicep #9149, "Inconsistent results when using
    /// lambda functions", <c>flatten(map(s, s => map(s.apis, a => …s.name…)))</c>) and the compiler's nesting test never
    /// does it (<c>src/Bicep.Core.IntegrationTests/LambdaTests.cs:280-317</c> passes the outer variable only as the inner
    /// call's argument). The templates keep to the tested shape.
    /// </summary>
    public static IReadOnlyList<int> InnerLambdasUsingOuterVariables(string template)
    {
        var code = new BicepCode(template);
        var lambdas = Lambdas(code).ToList();
        var found = new List<int>();
        foreach (var outer in lambdas)
        {
            foreach (var inner in lambdas.Where(l => l.Arrow > outer.Arrow && l.Arrow < outer.BodyEnd))
            {
                var body = code.Text[(inner.Arrow + 2)..inner.BodyEnd];
                if (outer.Parameters.Except(inner.Parameters).Any(p => Regex.IsMatch(body, $@"(?<![\w.]){Regex.Escape(p)}(?!\w)")))
                {
                    found.Add(code.LineOf(inner.Arrow));
                }
            }
        }

        return found.Distinct().ToList();
    }

    private sealed record Loop(int Line, LoopPlacement Placement, int PropertyLoopDepth);

    private sealed record Lambda(int Arrow, int Start, int BodyEnd, int[] Frames, string[] Parameters);

    private static IEnumerable<Loop> Loops(BicepCode code)
    {
        var placements = new Dictionary<int, LoopPlacement>();
        var frames = new List<int>();
        for (var i = 0; i < code.Length; i++)
        {
            if (code[i] == '[' && code.IsKeywordAt(i + 1, "for"))
            {
                var placement = Place(code, i, frames);
                placements[i] = placement;
                var depth = placement == LoopPlacement.PropertyLoop
                    ? 1 + frames.Count(f => placements.TryGetValue(f, out var p) && p == LoopPlacement.PropertyLoop)
                    : 0;
                yield return new Loop(code.LineOf(i), placement, depth);
            }

            if (code[i] is '(' or '[' or '{')
            {
                frames.Add(i);
            }
            else if (code[i] is ')' or ']' or '}' && frames.Count > 0)
            {
                frames.RemoveAt(frames.Count - 1);
            }
        }
    }

    private static LoopPlacement Place(BicepCode code, int open, List<int> frames)
    {
        var declaration = code.DeclarationOf(open);
        if (frames.Count > 0 && IsDeclarationValue(code, open) && NestedResource().IsMatch(code.LineBefore(open)))
        {
            // A nested resource's own loop (resource child 'type' = [for …]) inside its parent's body.
            return LoopPlacement.TopLevel;
        }

        if (frames.Count == 0)
        {
            return IsDeclarationValue(code, open) && LoopDeclarations.Contains(declaration) ? LoopPlacement.TopLevel : LoopPlacement.Misplaced;
        }

        // ForSyntaxValidatorVisitor.cs:399-405: variable and output loops only as the whole value.
        if (declaration is not ("resource" or "module") || !IsPropertyValue(code, open, frames[^1]) || !EndsItsElement(code, open))
        {
            return LoopPlacement.Misplaced;
        }

        for (var f = 0; f < frames.Count; f++)
        {
            var frame = frames[f];
            var reachedThroughLiterals = code[frame] != '(' && EndsItsElement(code, frame) && (f == 0
                ? IsDeclarationValue(code, frame)
                : IsPropertyValue(code, frame, frames[f - 1]) || IsArrayItemOrLoopBody(code, frame, frames[f - 1]));
            if (!reachedThroughLiterals)
            {
                return LoopPlacement.Misplaced;
            }
        }

        return LoopPlacement.PropertyLoop;
    }

    /// <summary><c>= value</c>, or a resource's or module's <c>= if (condition) value</c>.</summary>
    private static bool IsDeclarationValue(BicepCode code, int index)
    {
        var before = code.PreviousSignificant(index - 1);
        if (code[before] == ')')
        {
            var condition = code.PreviousSignificant(code.Partner(before) - 1);
            return condition >= 1 && code.Text[(condition - 1)..(condition + 1)] == "if" && code[code.PreviousSignificant(condition - 2)] == '=';
        }

        return code[before] == '=';
    }

    private static bool IsPropertyValue(BicepCode code, int index, int enclosing) =>
        code[enclosing] == '{' && PropertyKey().IsMatch(code.ElementBefore(index));

    private static bool IsArrayItemOrLoopBody(BicepCode code, int index, int enclosing) =>
        code[enclosing] == '[' && code.ElementBefore(index) is var before && (before.Length == 0 || (code.IsKeywordAt(enclosing + 1, "for") && LoopHeader().IsMatch(before)));

    /// <summary>Nothing follows the bracketed value in its element (no <c>.name</c>, <c>[0]</c>, operator or ternary).</summary>
    private static bool EndsItsElement(BicepCode code, int open) => code.NextOnLine(code.Partner(open)) is '\n' or ',' or ')' or ']' or '}';

    private static IEnumerable<Lambda> Lambdas(BicepCode code)
    {
        var frames = new List<int>();
        for (var i = 0; i < code.Length; i++)
        {
            // A user function's own arrow (func name(params) type => body) is a declaration, not a lambda.
            if (code[i] == '=' && code[i + 1] == '>' && !(frames.Count == 0 && code.DeclarationOf(i) == "func"))
            {
                var start = code.PreviousSignificant(i - 1);
                string[] parameters;
                if (code[start] == ')')
                {
                    var open = code.Partner(start);
                    parameters = code.Text[(open + 1)..start].Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
                    start = open;
                }
                else
                {
                    var end = start;
                    while (start > 0 && BicepCode.IsIdentifierChar(code[start - 1]))
                    {
                        start--;
                    }

                    parameters = [code.Text[start..(end + 1)]];
                }

                // The lambda's frames exclude its own parameter list, which closed before the arrow.
                yield return new Lambda(i, start, BodyEnd(code, i + 2), [.. frames], parameters);
            }

            if (code[i] is '(' or '[' or '{')
            {
                frames.Add(i);
            }
            else if (code[i] is ')' or ']' or '}' && frames.Count > 0)
            {
                frames.RemoveAt(frames.Count - 1);
            }
        }
    }

    /// <summary>The end of a lambda's body: the comma or closing bracket that ends its argument.</summary>
    private static int BodyEnd(BicepCode code, int index)
    {
        for (; index < code.Length; index++)
        {
            if (code[index] is '(' or '[' or '{')
            {
                index = code.Partner(index);
                if (index < 0)
                {
                    return code.Length;
                }
            }
            else if (code[index] is ',' or ')' or ']' or '}')
            {
                return index;
            }
        }

        return code.Length;
    }

    private static bool IsFunctionArgument(BicepCode code, int start, int[] frames)
    {
        var position = start;
        for (var f = frames.Length - 1; f >= 0; f--)
        {
            var frame = frames[f];
            if (code[frame] != '(' || code.ElementBefore(position).Length != 0)
            {
                return false;
            }

            if (BicepCode.IsIdentifierChar(code[code.PreviousSignificant(frame - 1)]))
            {
                return true;
            }

            // A parenthesised expression: keep searching upwards (EmitLimitationCalculator.cs:483-487).
            position = frame;
        }

        return false;
    }

    [GeneratedRegex(@"^resource\s")]
    private static partial Regex NestedResource();

    [GeneratedRegex(@"^([A-Za-z_]\w*|'\s*')\s*:$")]
    private static partial Regex PropertyKey();

    [GeneratedRegex(@"^for\s.+\sin\s.+:$", RegexOptions.Singleline)]
    private static partial Regex LoopHeader();

    [GeneratedRegex(@"(?<![\w])(reference|list[a-zA-Z]*)\s*\(")]
    private static partial Regex RuntimeFunctionCall();
}

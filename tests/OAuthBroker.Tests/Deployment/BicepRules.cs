using System.Text;

namespace OAuthBroker.Tests.Deployment;

/// <summary>
/// The Bicep compiler's placement rules for loops and lambdas, applied to template text (no compiler runs here; the
/// rules and their sources are listed in infra/README.md): comments and string contents are skipped, brackets tracked.
/// </summary>
public static class BicepRules
{
    /// <summary>
    /// BCP138 (Azure/bicep <c>ForSyntaxValidatorVisitor.cs:384-416,455-471</c>): a <c>[for …]</c> is allowed as the whole
    /// value of a declaration, or as a property value inside a resource or module body, and never inside a function call.
    /// Returns the line of each for-expression in a place the compiler rejects.
    /// </summary>
    public static IReadOnlyList<int> MisplacedForExpressions(string template)
    {
        var misplaced = new List<int>();
        Scan(template, (code, i, stack, line) =>
        {
            if (code[i] != '[' || !IsKeywordAt(code, i + 1, "for"))
            {
                return;
            }

            var before = PreviousSignificant(code, i - 1);
            var declaration = Declaration(code, i);
            var inCall = stack.Contains('(');
            var allowed = !inCall && ((stack.Count == 0 && before == '=')
                || (before == ':' && declaration is "resource" or "module"));
            if (!allowed)
            {
                misplaced.Add(line);
            }
        });
        return misplaced;
    }

    /// <summary>BCP242 (<c>EmitLimitationCalculator.cs:471-494</c>): every lambda is directly a function argument.</summary>
    public static IReadOnlyList<int> LambdasOutsideFunctionArguments(string template)
    {
        var misplaced = new List<int>();
        Scan(template, (code, i, stack, line) =>
        {
            if (code[i] == '=' && i + 1 < code.Length && code[i + 1] == '>' && (stack.Count == 0 || stack.Peek() != '('))
            {
                misplaced.Add(line);
            }
        });
        return misplaced;
    }

    private delegate void Visitor(string code, int index, Stack<char> brackets, int line);

    /// <summary>Walks the code outside comments and strings (string interpolations are skipped whole), tracking brackets.</summary>
    private static void Scan(string template, Visitor visit)
    {
        var code = Blank(template);
        var stack = new Stack<char>();
        var line = 1;
        for (var i = 0; i < code.Length; i++)
        {
            var c = code[i];
            if (c == '\n')
            {
                line++;
            }

            visit(code, i, stack, line);
            switch (c)
            {
                case '(' or '[' or '{':
                    stack.Push(c);
                    break;
                case ')' or ']' or '}':
                    stack.Pop();
                    break;
            }
        }
    }

    /// <summary>The template with comments and string contents replaced by spaces (newlines kept for line numbers).</summary>
    private static string Blank(string template)
    {
        var result = new StringBuilder(template);
        for (var i = 0; i < template.Length; i++)
        {
            if (template[i] == '/' && i + 1 < template.Length && template[i + 1] == '/')
            {
                for (; i < template.Length && template[i] != '\n'; i++)
                {
                    result[i] = ' ';
                }
            }
            else if (template[i] == '/' && i + 1 < template.Length && template[i + 1] == '*')
            {
                var end = template.IndexOf("*/", i + 2, StringComparison.Ordinal) + 2;
                for (; i < end; i++)
                {
                    result[i] = template[i] == '\n' ? '\n' : ' ';
                }
            }
            else if (template[i] == '\'')
            {
                // '…' with \' escapes and ${…} interpolations (whose braces may nest): all of it is string here.
                var depth = 0;
                for (i++; i < template.Length; i++)
                {
                    if (template[i] == '\\')
                    {
                        result[i] = ' ';
                        i++;
                    }
                    else if (depth == 0 && template[i] == '\'')
                    {
                        break;
                    }
                    else if (template[i] == '$' && i + 1 < template.Length && template[i + 1] == '{')
                    {
                        depth++;
                    }
                    else if (template[i] == '}' && depth > 0)
                    {
                        depth--;
                    }

                    result[i] = template[i] == '\n' ? '\n' : ' ';
                }
            }
        }

        return result.ToString();
    }

    private static bool IsKeywordAt(string code, int index, string keyword)
    {
        while (index < code.Length && char.IsWhiteSpace(code[index]))
        {
            index++;
        }

        return string.CompareOrdinal(code, index, keyword, 0, keyword.Length) == 0
            && (index + keyword.Length >= code.Length || !char.IsLetterOrDigit(code[index + keyword.Length]));
    }

    private static char PreviousSignificant(string code, int index)
    {
        while (index >= 0 && char.IsWhiteSpace(code[index]))
        {
            index--;
        }

        return index >= 0 ? code[index] : '\0';
    }

    /// <summary>The keyword of the top-level declaration the position is in (the last line starting at column 0 with one).</summary>
    private static string Declaration(string code, int index)
    {
        var start = index;
        while (start > 0)
        {
            start = code.LastIndexOf('\n', start - 1);
            var lineStart = start + 1;
            foreach (var keyword in new[] { "resource", "module", "var", "output", "param" })
            {
                if (string.CompareOrdinal(code, lineStart, keyword + " ", 0, keyword.Length + 1) == 0)
                {
                    return keyword;
                }
            }

            if (start < 0)
            {
                break;
            }
        }

        return "";
    }
}

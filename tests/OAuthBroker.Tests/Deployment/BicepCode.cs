using System.Text;

namespace OAuthBroker.Tests.Deployment;

/// <summary>
/// A Bicep template's code as the rule checks read it: comments and string literals blanked out (an interpolation's
/// <c>${…}</c> expression kept, since it is code), each bracket's partner, and the line of each position.
/// </summary>
public sealed class BicepCode
{
    private readonly int[] _partner;
    private readonly List<int> _lineStarts = [0];

    public BicepCode(string template)
    {
        Text = Blank(template);
        _partner = new int[Text.Length];
        Array.Fill(_partner, -1);
        var open = new Stack<int>();
        for (var i = 0; i < Text.Length; i++)
        {
            switch (Text[i])
            {
                case '\n':
                    _lineStarts.Add(i + 1);
                    break;
                case '(' or '[' or '{':
                    open.Push(i);
                    break;
                case ')' or ']' or '}' when open.Count > 0:
                    var start = open.Pop();
                    _partner[start] = i;
                    _partner[i] = start;
                    break;
                case ')' or ']' or '}':
                    Balanced = false;
                    break;
            }
        }

        Balanced = Balanced && open.Count == 0;
    }

    /// <summary>Every bracket has its partner: the checks below read the template's structure from them.</summary>
    public bool Balanced { get; } = true;

    public string Text { get; }

    public int Length => Text.Length;

    public char this[int index] => index >= 0 && index < Text.Length ? Text[index] : '\0';

    /// <summary>The matching bracket's position (-1 for an unmatched one: the template does not parse).</summary>
    public int Partner(int index) => _partner[index];

    /// <summary>1-based line of a position.</summary>
    public int LineOf(int index)
    {
        var found = _lineStarts.BinarySearch(index);
        return (found >= 0 ? found : ~found - 1) + 1;
    }

    /// <summary>The line's text before a position, trimmed.</summary>
    public string LineBefore(int index) => Text[_lineStarts[LineOf(index) - 1]..index].Trim();

    /// <summary>The position of the last non-whitespace character at or before <paramref name="index"/>, or -1.</summary>
    public int PreviousSignificant(int index)
    {
        while (index >= 0 && char.IsWhiteSpace(Text[index]))
        {
            index--;
        }

        return index;
    }

    /// <summary>The first non-blank character after <paramref name="index"/> on the same line, or '\n' at the line's end.</summary>
    public char NextOnLine(int index)
    {
        for (index++; index < Text.Length && Text[index] is ' ' or '\t' or '\r'; index++)
        {
        }

        return index < Text.Length ? Text[index] : '\n';
    }

    /// <summary>
    /// The text of the element that <paramref name="index"/> starts, from the element's start in its enclosing bracket
    /// (after the opening bracket, a comma or a line break at that depth; whole bracketed groups skipped) up to the
    /// position, trimmed: empty for an array item or argument, <c>name:</c> for an object property's value,
    /// <c>for … in …:</c> for a loop body, anything else for an operand.
    /// </summary>
    public string ElementBefore(int index)
    {
        var i = index - 1;
        while (i >= 0)
        {
            var c = Text[i];
            if (c is ')' or ']' or '}')
            {
                i = _partner[i] - 1;
                continue;
            }

            if (c is '(' or '[' or '{' or ',' or '\n' || (c == '=' && this[i + 1] is not ('=' or '>') && this[i - 1] is not ('=' or '!' or '<' or '>')))
            {
                break;
            }

            i--;
        }

        return Text[(i + 1)..index].Trim();
    }

    /// <summary>The keyword of the top-level declaration a position is in (the last line starting at column 0 with one).</summary>
    public string DeclarationOf(int index)
    {
        var line = LineOf(index) - 1;
        for (; line >= 0; line--)
        {
            var start = _lineStarts[line];
            foreach (var keyword in new[] { "resource", "module", "var", "output", "param", "func", "type" })
            {
                if (string.CompareOrdinal(Text, start, keyword + " ", 0, keyword.Length + 1) == 0)
                {
                    return keyword;
                }
            }
        }

        return "";
    }

    /// <summary>Whether the keyword starts (after whitespace) at <paramref name="index"/>.</summary>
    public bool IsKeywordAt(int index, string keyword)
    {
        while (index < Text.Length && char.IsWhiteSpace(Text[index]))
        {
            index++;
        }

        return string.CompareOrdinal(Text, index, keyword, 0, keyword.Length) == 0 && !IsIdentifierChar(this[index + keyword.Length]);
    }

    public static bool IsIdentifierChar(char c) => char.IsAsciiLetterOrDigit(c) || c == '_';

    /// <summary>The template with comments and string literals replaced by spaces (newlines kept for line numbers).</summary>
    private static string Blank(string template)
    {
        var result = new StringBuilder(template);
        var i = 0;
        BlankCode(template, result, ref i, untilBrace: false);
        return result.ToString();
    }

    /// <summary>Code up to the end, or up to the <c>}</c> closing an interpolation (which is blanked).</summary>
    private static void BlankCode(string t, StringBuilder result, ref int i, bool untilBrace)
    {
        var depth = 0;
        for (; i < t.Length; i++)
        {
            if (t[i] == '/' && At(t, i + 1) == '/')
            {
                for (; i < t.Length && t[i] != '\n'; i++)
                {
                    result[i] = ' ';
                }
            }
            else if (t[i] == '/' && At(t, i + 1) == '*')
            {
                var end = t.IndexOf("*/", i + 2, StringComparison.Ordinal) is var close and >= 0 ? close + 2 : t.Length;
                for (; i < end; i++)
                {
                    result[i] = t[i] == '\n' ? '\n' : ' ';
                }

                i--;
            }
            else if (string.CompareOrdinal(t, i, "'''", 0, 3) == 0)
            {
                // Multi-line string: no escapes, no interpolation.
                var end = t.IndexOf("'''", i + 3, StringComparison.Ordinal) is var close and >= 0 ? close : t.Length;
                for (i += 3; i < end; i++)
                {
                    result[i] = t[i] == '\n' ? '\n' : ' ';
                }

                i += 2;
            }
            else if (t[i] == '\'')
            {
                BlankString(t, result, ref i);
            }
            else if (untilBrace && t[i] == '{')
            {
                depth++;
            }
            else if (untilBrace && t[i] == '}' && depth-- == 0)
            {
                result[i] = ' ';
                return;
            }
        }
    }

    /// <summary>'…' with \ escapes and ${…} interpolations, from the opening quote to the closing one (quotes kept).</summary>
    private static void BlankString(string t, StringBuilder result, ref int i)
    {
        for (i++; i < t.Length && t[i] != '\''; i++)
        {
            if (t[i] == '\\')
            {
                result[i] = ' ';
                result[++i] = ' ';
            }
            else if (t[i] == '$' && At(t, i + 1) == '{')
            {
                result[i] = ' ';
                result[i + 1] = ' ';
                i += 2;
                BlankCode(t, result, ref i, untilBrace: true);
            }
            else
            {
                result[i] = t[i] == '\n' ? '\n' : ' ';
            }
        }
    }

    private static char At(string t, int index) => index < t.Length ? t[index] : '\0';
}

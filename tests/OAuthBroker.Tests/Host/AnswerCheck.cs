using System.Text.Json;

namespace OAuthBroker.Tests.Host;

/// <summary>
/// Checks real answers of the running broker against the OpenAPI description's response for their route, method and
/// status, and keeps which routes have shown a success.
/// </summary>
internal sealed class AnswerCheck(JsonElement document)
{
    public HashSet<(string Method, string Path)> Succeeded { get; } = [];

    /// <summary>A 2xx JSON answer whose body fits the described schema of its status; returns the body.</summary>
    public async Task<JsonElement> SuccessAsync(string method, string path, HttpResponseMessage answer)
    {
        using var _ = answer;
        var status = (int)answer.StatusCode;
        var text = await answer.Content.ReadAsStringAsync();
        (status is >= 200 and < 300).ShouldBeTrue($"{method} {path} answered {status}: {text}");
        answer.Content.Headers.ContentType!.MediaType.ShouldBe("application/json", $"{method} {path}");
        var body = JsonSerializer.Deserialize<JsonElement>(text);
        DescribedSchemas.Fits(document, body, SchemaOf(method, path, status, "application/json"), $"{method} {path} {status}");
        Succeeded.Add((method, path));
        return body;
    }

    /// <summary>A described redirect (302 with a Location).</summary>
    public Task RedirectAsync(string method, string path, HttpResponseMessage answer)
    {
        using var disposed = answer;
        ((int)answer.StatusCode).ShouldBe(302, $"{method} {path}");
        answer.Headers.Location.ShouldNotBeNull();
        Response(method, path, 302).GetProperty("headers").TryGetProperty("Location", out _).ShouldBeTrue($"{method} {path}: 302 describes its Location");
        Succeeded.Add((method, path));
        return Task.CompletedTask;
    }

    /// <summary>An RFC 9457 answer with <paramref name="code"/>, whose body fits the problem schema described at its status.</summary>
    public async Task ProblemAsync(string method, string path, string code, HttpResponseMessage answer)
    {
        using var _ = answer;
        var status = (int)answer.StatusCode;
        answer.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json", $"{method} {path} {status}");
        var body = JsonSerializer.Deserialize<JsonElement>(await answer.Content.ReadAsStringAsync());
        body.GetProperty("code").GetString().ShouldBe(code, $"{method} {path} {status}");
        DescribedSchemas.Fits(document, body, SchemaOf(method, path, status, "application/problem+json"), $"{method} {path} {status} {code}");
    }

    private JsonElement Response(string method, string path, int status)
    {
        var responses = document.GetProperty("paths").GetProperty(path).GetProperty(method.ToLowerInvariant()).GetProperty("responses");
        responses.TryGetProperty(status.ToString(System.Globalization.CultureInfo.InvariantCulture), out var response)
            .ShouldBeTrue($"{method} {path} answered {status}, which the description does not give");
        return response;
    }

    private JsonElement SchemaOf(string method, string path, int status, string mediaType) =>
        Response(method, path, status).GetProperty("content").GetProperty(mediaType).GetProperty("schema");
}

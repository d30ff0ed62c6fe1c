using Microsoft.AspNetCore.Diagnostics;
using OAuthBroker.Errors;
using OAuthBroker.Links;

namespace OAuthBroker.Host.Endpoints;

/// <summary>
/// Turns exceptions into problem responses: dependency outages into 503 with what to do, anything else into a
/// bare 500. Never a stack trace or exception message in a response.
/// </summary>
public sealed partial class BrokerExceptionHandler(ILogger<BrokerExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CT cancellationToken)
    {
        var error = exception switch
        {
            StorageUnavailableException => BrokerErrors.StorageUnavailable,
            VaultUnavailableException => BrokerErrors.VaultUnavailable,
            LinkConcurrencyException => BrokerErrors.ConcurrentChange,
            BadHttpRequestException bad => new BrokerError("bad_request", bad.StatusCode, "Bad request", "The request could not be read."),
            _ => new BrokerError("internal_error", 500, "Internal error", "The broker failed unexpectedly. Nothing secret was exposed; retry, and report the trace id if it persists."),
        };

        if (error.Status >= 500)
        {
            LogFailure(logger, error.Code, exception.GetType().Name);
        }

        httpContext.Response.NoStore();
        await Problems.From(error).ExecuteAsync(httpContext);
        return true;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Request failed with {ProblemCode} ({ExceptionType})")]
    private static partial void LogFailure(ILogger logger, string problemCode, string exceptionType);
}

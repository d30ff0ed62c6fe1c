namespace OAuthBroker.Sandbox.Faults;

public static class FaultEndpoints
{
    /// <summary>
    /// Applies scripted faults around the provider endpoints.
    /// <para>
    /// Processed-then-lost answers are how real servers fail: a server finishes a request it has fully received even
    /// when the client has gone. In ASP.NET Core the client going away only signals
    /// <c>HttpContext.RequestAborted</c> ("Notifies when the connection underlying this request is aborted and thus
    /// request operations should be cancelled", Microsoft.AspNetCore.Http.HttpContext API docs); a handler that does not
    /// observe it, as a token endpoint committing a rotation does not, runs to the end. A gateway in front answers
    /// 502/504 when its upstream failed or was too slow, which says nothing about whether the upstream acted (RFC 9110
    /// §15.6.3, §15.6.5), and this is why RFC 9110 §9.2.2 forbids resending a non-idempotent request (a token POST)
    /// without knowing the first was never applied.
    /// </para>
    /// </summary>
    public static void UseFaults(this WebApplication app)
    {
        var faults = app.Services.GetRequiredService<FaultInjector>();
        app.Use(async (context, next) =>
        {
            if (context.Request.Path.StartsWithSegments("/_sandbox") || faults.Take(context.Request.Path.Value ?? "") is not { } fault)
            {
                await next(context);
                return;
            }

            if (fault.Phase == FaultPhase.AfterHandler)
            {
                await ProcessThenDeliverAsync(context, next, fault);
                return;
            }

            if (fault.Delay > TimeSpan.Zero)
            {
                // A request held up before it reaches the provider: a client that gives up takes it with it.
                await Task.Delay(fault.Delay, context.RequestAborted);
            }

            if (fault.Status == 0)
            {
                await next(context);
                return;
            }

            await WriteFaultAsync(context, fault);
        });

        app.MapPost("/_sandbox/faults", (Fault fault, FaultInjector injector) =>
        {
            injector.Add(fault);
            return TypedResults.NoContent();
        });
        app.MapDelete("/_sandbox/faults", (FaultInjector injector) =>
        {
            injector.Clear();
            return TypedResults.NoContent();
        });
    }

    /// <summary>The provider's handler runs to the end (its answer buffered); then the answer is delayed, dropped, cut short or replaced.</summary>
    private static async Task ProcessThenDeliverAsync(HttpContext context, RequestDelegate next, Fault fault)
    {
        var network = context.Response.Body;
        using var answer = new MemoryStream();
        context.Response.Body = answer;
        try
        {
            await next(context);
        }
        finally
        {
            context.Response.Body = network;
        }

        fault.MarkProcessed();
        if (fault.Delay > TimeSpan.Zero)
        {
            // Not RequestAborted: the work is done whether or not anyone still listens.
            await Task.Delay(fault.Delay, CancellationToken.None);
        }

        try
        {
            switch (fault.Delivery)
            {
                case FaultDelivery.Drop:
                    context.Abort();
                    return;
                case FaultDelivery.Replace:
                    context.Response.Headers.Clear();
                    await WriteFaultAsync(context, fault);
                    return;
                case FaultDelivery.Truncate:
                    context.Response.ContentLength = answer.Length;
                    await network.WriteAsync(answer.GetBuffer().AsMemory(0, (int)(answer.Length / 2)), context.RequestAborted);
                    await network.FlushAsync(context.RequestAborted);
                    context.Abort();
                    return;
                default:
                    context.Response.ContentLength = answer.Length;
                    await network.WriteAsync(answer.GetBuffer().AsMemory(0, (int)answer.Length), context.RequestAborted);
                    return;
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException)
        {
            // The client had gone: the answer is lost, the work stays done.
        }
    }

    private static async Task WriteFaultAsync(HttpContext context, Fault fault)
    {
        context.Response.StatusCode = fault.Status;
        context.Response.ContentType = fault.ContentType;
        foreach (var (name, value) in fault.Headers)
        {
            context.Response.Headers[name] = value;
        }

        await context.Response.WriteAsync(fault.Body, context.RequestAborted);
    }
}

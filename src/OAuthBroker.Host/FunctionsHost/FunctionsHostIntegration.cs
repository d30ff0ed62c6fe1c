namespace OAuthBroker.Host.FunctionsHost;

/// <summary>
/// The custom-handler contract, as far as the app is concerned: when the Functions host starts it, it passes a
/// free port in <c>FUNCTIONS_CUSTOMHANDLER_PORT</c> and forwards HTTP requests unchanged
/// (<c>enableForwardingHttpRequest</c> in host.json) to the same <c>/api/...</c> paths the app serves standalone.
/// The function definitions are the <c>function.json</c> files beside this class.
/// </summary>
public static class FunctionsHostIntegration
{
    public const string PortVariable = "FUNCTIONS_CUSTOMHANDLER_PORT";

    public static void UseFunctionsHostPortWhenPresent(this WebApplicationBuilder builder)
    {
        var port = builder.Configuration[PortVariable];
        if (string.IsNullOrEmpty(port))
        {
            return;
        }

        if (!ushort.TryParse(port, out var number) || number == 0)
        {
            throw new InvalidOperationException($"{PortVariable} must be a TCP port number.");
        }

        // Only the host talks to the handler: loopback, not the public interface.
        builder.WebHost.UseUrls($"http://127.0.0.1:{number}");
    }
}

using System.Net;
using System.Net.Sockets;

namespace OAuthBroker.Tests.Refresh;

/// <summary>
/// A loopback port where connection attempts go unanswered, as at a provider whose network silently drops them: a
/// listener that never accepts, its accept queue filled, so the kernel drops further SYNs (Linux tcp_conn_request:
/// "if (sk_acceptq_is_full(sk)) ... goto drop") and the client waits until its connect timeout.
/// </summary>
public sealed class UnansweredPort : IDisposable
{
    private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    private readonly List<Socket> _queued = [];

    private UnansweredPort()
    {
    }

    public int Port => ((IPEndPoint)_listener.LocalEndPoint!).Port;

    public static async Task<UnansweredPort> OpenAsync()
    {
        var port = new UnansweredPort();
        port._listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        port._listener.Listen(1);
        // Fill the accept queue until a connection attempt is no longer answered.
        for (var i = 0; i < 16; i++)
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            using var wait = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
            try
            {
                await socket.ConnectAsync(IPAddress.Loopback, port.Port, wait.Token);
                port._queued.Add(socket);
            }
            catch (OperationCanceledException)
            {
                socket.Dispose();
                return port;
            }
        }

        port.Dispose();
        throw new InvalidOperationException("The accept queue never filled: connection attempts are still answered.");
    }

    public void Dispose()
    {
        foreach (var socket in _queued)
        {
            socket.Dispose();
        }

        _listener.Dispose();
    }
}

using System.Net;
using System.Net.Sockets;

namespace OAuthBroker.Tests.Support;

/// <summary>
/// A loopback TCP relay in front of a server (Azurite), which a test can take down and bring back: the storage outage
/// of a fault test without stopping the real server (whose in-memory data would go with it).
/// </summary>
public sealed class TcpProxy : IAsyncDisposable
{
    private readonly int _target;
    private readonly List<TcpClient> _connections = [];
    private readonly Lock _gate = new();
    private TcpListener? _listener;
    private CancellationTokenSource? _stop;

    public TcpProxy(int target)
    {
        _target = target;
        Port = OAuthBroker.LocalEnvironment.FreePort.Next();
        Start();
    }

    public int Port { get; }

    public void Start()
    {
        _stop = new CancellationTokenSource();
        _listener = new TcpListener(IPAddress.Loopback, Port);
        _listener.Start();
        var stop = _stop.Token;
        var listener = _listener;
        _ = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                TcpClient client;
                try
                {
                    client = await listener.AcceptTcpClientAsync(stop);
                }
                catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
                {
                    return;
                }

                _ = RelayAsync(client, stop);
            }
        }, CancellationToken.None);
    }

    /// <summary>Refuses new connections and cuts the open ones.</summary>
    public void Stop()
    {
        _stop?.Cancel();
        _listener?.Stop();
        lock (_gate)
        {
            foreach (var connection in _connections)
            {
                connection.Dispose();
            }

            _connections.Clear();
        }
    }

    private async Task RelayAsync(TcpClient client, CancellationToken stop)
    {
        using var server = new TcpClient();
        lock (_gate)
        {
            _connections.Add(client);
            _connections.Add(server);
        }

        try
        {
            await server.ConnectAsync(IPAddress.Loopback, _target, stop);
            using var up = client.GetStream();
            using var down = server.GetStream();
            await Task.WhenAny(up.CopyToAsync(down, stop), down.CopyToAsync(up, stop));
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The outage, or the end of a connection.
        }
        finally
        {
            client.Dispose();
        }
    }

    public ValueTask DisposeAsync()
    {
        Stop();
        return ValueTask.CompletedTask;
    }
}

using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace OAuthBroker.Tests.Support;

/// <summary>
/// An HTTPS proxy on loopback (the CONNECT method, RFC 9110 §9.3.6) that tunnels every host it is asked for to one
/// loopback port. A process given <c>HTTPS_PROXY</c> then reaches <c>https://name.vault.azure.net/</c> at a local
/// server without a DNS entry: the URL, the TLS server name and the Key Vault SDK's challenge check
/// (the challenge's resource must be a suffix of the request's host) are those of the real service, and nothing
/// leaves the machine. The TLS session is end to end, between the client and the local server.
/// </summary>
public sealed class ConnectTunnel : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;

    public ConnectTunnel(int target)
    {
        Port = OAuthBroker.LocalEnvironment.FreePort.Next();
        _listener = new TcpListener(IPAddress.Loopback, Port);
        _listener.Start();
        _accepting = AcceptAsync(target);
    }

    public int Port { get; }

    /// <summary>The authorities (<c>host:port</c>) clients asked to be connected to.</summary>
    public ConcurrentQueue<string> Requested { get; } = new();

    private async Task AcceptAsync(int target)
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = TunnelAsync(client, target, _stop.Token);
        }
    }

    private async Task TunnelAsync(TcpClient client, int target, CancellationToken stop)
    {
        using (client)
        {
            try
            {
                var stream = client.GetStream();
                var head = await ReadHeadAsync(stream, stop);
                var requestLine = head.Split("\r\n")[0].Split(' ');
                if (requestLine is not ["CONNECT", var authority, _])
                {
                    await stream.WriteAsync("HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n"u8.ToArray(), stop);
                    return;
                }

                Requested.Enqueue(authority);
                using var server = new TcpClient();
                await server.ConnectAsync(IPAddress.Loopback, target, stop);
                await stream.WriteAsync("HTTP/1.1 200 Connection Established\r\n\r\n"u8.ToArray(), stop);
                var upstream = server.GetStream();
                await Task.WhenAny(stream.CopyToAsync(upstream, stop), upstream.CopyToAsync(stream, stop));
            }
            catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
                // A client or server that went away ends its tunnel.
            }
        }
    }

    private static async Task<string> ReadHeadAsync(NetworkStream stream, CancellationToken stop)
    {
        var head = new StringBuilder();
        var one = new byte[1];
        while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal) && head.Length < 8192)
        {
            if (await stream.ReadAsync(one, stop) == 0)
            {
                break;
            }

            head.Append((char)one[0]);
        }

        return head.ToString();
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        _stop.Dispose();
    }
}

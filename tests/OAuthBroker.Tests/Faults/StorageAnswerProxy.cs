using System.Net;
using System.Net.Sockets;
using System.Text;

namespace OAuthBroker.Tests.Faults;

/// <summary>
/// A loopback relay in front of Azurite that can lose or hold up the answer to one chosen request after the server has
/// processed it, the way networks fail: the server commits what it fully received, and the client never hears (a reset
/// on the way back) or hears late. The Table client then does what it does with a lost answer: retries the request
/// (Azure.Core RetryPolicy; a conditional PUT retried after its first attempt committed gets 412).
/// </summary>
public sealed class StorageAnswerProxy : IAsyncDisposable
{
    private readonly int _target;
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private Trigger? _armed;
    private int _triggered;

    public StorageAnswerProxy(int target)
    {
        _target = target;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _ = AcceptAsync();
    }

    public int Port { get; }

    /// <summary>How many armed requests have been answered the scripted way.</summary>
    public int Triggered => Volatile.Read(ref _triggered);

    /// <summary>
    /// The next request with <paramref name="method"/> whose head or body contains <paramref name="marker"/> goes to the
    /// server as it is; its answer is then dropped (the connection is cut: <paramref name="delay"/> null) or delivered
    /// only after <paramref name="delay"/>.
    /// </summary>
    public void Arm(string method, string marker, TimeSpan? delay)
    {
        lock (_gate)
        {
            _armed = new Trigger(method, marker, delay, null);
        }
    }

    /// <summary>
    /// The next request with <paramref name="method"/> whose head or body contains <paramref name="marker"/> goes to the
    /// server as it is; its answer is held until the test releases it: a client process that stalls after the server
    /// committed its request (a GC pause, a starved thread) sees the same thing, its call returning only when it runs on.
    /// </summary>
    public HeldAnswer ArmHold(string method, string marker)
    {
        var held = new HeldAnswer();
        lock (_gate)
        {
            _armed = new Trigger(method, marker, null, held);
        }

        return held;
    }

    /// <summary>The connection string of <paramref name="azurite"/> with its table endpoint moved to this relay.</summary>
    public string ConnectionStringFor(string azurite, int azuritePort) =>
        azurite.Replace($":{azuritePort}/", $":{Port}/", StringComparison.Ordinal);

    private Trigger? TakeIfMatches(string method, string request)
    {
        lock (_gate)
        {
            if (_armed is { } armed && armed.Method == method && request.Contains(armed.Marker, StringComparison.Ordinal))
            {
                _armed = null;
                return armed;
            }

            return null;
        }
    }

    private async Task AcceptAsync()
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

            _ = RelayAsync(client);
        }
    }

    private async Task RelayAsync(TcpClient client)
    {
        using var _ = client;
        using var server = new TcpClient();
        var connection = new Connection();
        try
        {
            await server.ConnectAsync(IPAddress.Loopback, _target, _stop.Token);
            var up = client.GetStream();
            var down = server.GetStream();
            await Task.WhenAny(RequestsAsync(up, down, connection), AnswersAsync(down, up, client, connection));
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The end of a connection.
        }
    }

    /// <summary>Client to server, one HTTP/1.1 request at a time (HttpClient does not pipeline): head, then Content-Length bytes.</summary>
    private async Task RequestsAsync(NetworkStream from, NetworkStream to, Connection connection)
    {
        var pending = new List<byte>();
        var chunk = new byte[16 * 1024];
        while (true)
        {
            var end = HeadEnd(pending);
            while (end < 0)
            {
                var read = await from.ReadAsync(chunk, _stop.Token);
                if (read == 0)
                {
                    return;
                }

                pending.AddRange(chunk.AsSpan(0, read).ToArray());
                end = HeadEnd(pending);
            }

            var head = Encoding.ASCII.GetString([.. pending.Take(end)]);
            var length = ContentLength(head);
            while (pending.Count < end + length)
            {
                var read = await from.ReadAsync(chunk, _stop.Token);
                if (read == 0)
                {
                    return;
                }

                pending.AddRange(chunk.AsSpan(0, read).ToArray());
            }

            var request = pending.Take(end + length).ToArray();
            pending.RemoveRange(0, end + length);
            var method = head[..head.IndexOf(' ', StringComparison.Ordinal)];
            if (TakeIfMatches(method, Encoding.UTF8.GetString(request)) is { } trigger)
            {
                connection.Answer = trigger;
            }

            await to.WriteAsync(request, _stop.Token);
        }
    }

    /// <summary>Server to client, except the answer to an armed request, which is dropped or held up.</summary>
    private async Task AnswersAsync(NetworkStream from, NetworkStream to, TcpClient client, Connection connection)
    {
        var chunk = new byte[16 * 1024];
        while (true)
        {
            var read = await from.ReadAsync(chunk, _stop.Token);
            if (read == 0)
            {
                return;
            }

            if (Interlocked.Exchange(ref connection.Answer, null) is { } trigger)
            {
                Interlocked.Increment(ref _triggered);
                if (trigger.Hold is { } hold)
                {
                    // The server has committed and answered; the client hears only when released.
                    hold.Arrived();
                    await hold.Released.WaitAsync(_stop.Token);
                }
                else if (trigger.Delay is not { } delay)
                {
                    // The server committed; the answer is lost on the way back.
                    client.Client.LingerState = new LingerOption(true, 0);
                    client.Close();
                    return;
                }
                else
                {
                    await Task.Delay(delay, _stop.Token);
                }
            }

            await to.WriteAsync(chunk.AsMemory(0, read), _stop.Token);
        }
    }

    private static int HeadEnd(List<byte> bytes)
    {
        for (var i = 3; i < bytes.Count; i++)
        {
            if (bytes[i - 3] == '\r' && bytes[i - 2] == '\n' && bytes[i - 1] == '\r' && bytes[i] == '\n')
            {
                return i + 1;
            }
        }

        return -1;
    }

    private static int ContentLength(string head)
    {
        foreach (var line in head.Split("\r\n"))
        {
            if (line.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))
            {
                return int.Parse(line["Content-Length:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return 0;
    }

    public ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        _stop.Dispose();
        return ValueTask.CompletedTask;
    }

    private sealed record Trigger(string Method, string Marker, TimeSpan? Delay, HeldAnswer? Hold);

    /// <summary>An answer the relay holds: <see cref="Committed"/> completes when the server's answer reached the relay.</summary>
    public sealed class HeldAnswer
    {
        private readonly TaskCompletionSource _committed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>The server processed the request and answered (the answer waits in the relay).</summary>
        public Task Committed => _committed.Task;

        internal Task Released => _released.Task;

        /// <summary>Delivers the held answer.</summary>
        public void Release() => _released.TrySetResult();

        internal void Arrived() => _committed.TrySetResult();
    }

    private sealed class Connection
    {
        public Trigger? Answer;
    }
}

using Microsoft.AspNetCore.OpenApi;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.OpenApi;
using OAuthBroker.Host.OpenApi;

namespace OAuthBroker.Tests.Host;

/// <summary>
/// The cached OpenAPI description's first build runs outside the cache's lock: a request arriving while the generator is
/// still walking the endpoints (synchronous work, before its first await) gets the shared build's task at once instead of
/// waiting on the lock. The generator here only holds its synchronous part until the test lets it go; the document it
/// then returns is an empty one (what the build does with it is shown by <c>OpenApiServingTests</c>).
/// </summary>
public sealed class OpenApiDescriptionCacheTests
{
    [Fact]
    public async Task A_request_during_the_first_build_shares_it_without_waiting_on_the_lock()
    {
        using var generator = new HeldGenerator();
        await using var services = new ServiceCollection().AddKeyedSingleton<IOpenApiDocumentProvider>("v1", generator).BuildServiceProvider();
        var cache = new OpenApiDescriptionCache(services);
        try
        {
            var first = Task.Factory.StartNew(cache.GetAsync, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
            await generator.Started.Task.WaitAsync(TimeSpan.FromSeconds(30));

            var second = await Task.Factory.StartNew(cache.GetAsync, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)
                .WaitAsync(TimeSpan.FromSeconds(30));
            second.IsCompleted.ShouldBeFalse("the build is still held, and the second request got its task");

            generator.Release();
            (await second).ShouldBe(await first);
            generator.Builds.ShouldBe(1);
        }
        finally
        {
            generator.Release();
        }
    }

    /// <summary>A generator whose synchronous part blocks until released, as a walk over many endpoints takes a while.</summary>
    private sealed class HeldGenerator : IOpenApiDocumentProvider, IDisposable
    {
        private readonly ManualResetEventSlim _release = new();
        private int _builds;

        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Builds => Volatile.Read(ref _builds);

        public void Release() => _release.Set();

        public Task<OpenApiDocument> GetOpenApiDocumentAsync(CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _builds);
            Started.TrySetResult();
            _release.Wait(TimeSpan.FromSeconds(60), cancellationToken);
            return Task.FromResult(new OpenApiDocument());
        }

        public void Dispose() => _release.Dispose();
    }
}

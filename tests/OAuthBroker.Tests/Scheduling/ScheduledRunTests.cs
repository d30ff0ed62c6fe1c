using Microsoft.Extensions.DependencyInjection;
using OAuthBroker.Scheduling;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Scheduling;

[Collection(BrokerEnvironmentGroup.Name)]
public sealed class ScheduledRunTests(BrokerEnvironmentFixture fixture)
{
    [Fact]
    public async Task A_failing_housekeeping_task_is_reported_and_the_next_one_still_runs()
    {
        var after = new CountingTask("after", 3);
        var run = ActivatorUtilities.CreateInstance<ScheduledRun>(fixture.Environment.Broker.Services,
            (IEnumerable<IHousekeepingTask>)[new FailingTask(), after]);

        var report = await run.RunAsync(default);

        report.FailedTasks.ShouldBe(["failing"]);
        report.Housekeeping.ShouldBe(new Dictionary<string, int> { ["after"] = 3 });
        after.Runs.ShouldBe(1);
        report.Summary(pastDue: false).ShouldEndWith("housekeeping: after 3; failed: failing.");
    }

    private sealed class FailingTask : IHousekeepingTask
    {
        public string Name => "failing";

        public Task<int> RunAsync(DateTimeOffset deadline, CancellationToken ct) => throw new InvalidOperationException("storage down");
    }

    private sealed class CountingTask(string name, int handled) : IHousekeepingTask
    {
        public int Runs { get; private set; }

        public string Name => name;

        public Task<int> RunAsync(DateTimeOffset deadline, CancellationToken ct)
        {
            Runs++;
            return Task.FromResult(handled);
        }
    }
}

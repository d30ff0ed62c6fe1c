using System.Text;
using OAuthBroker.Events;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Events;

/// <summary>Reading the shared environment's event log in tests: every page, then one user's events.</summary>
internal static class EventLogReading
{
    public static async Task<IReadOnlyList<LoggedEvent>> AllAsync(IEventLog log)
    {
        var all = new List<LoggedEvent>();
        string? after = null;
        while (true)
        {
            var page = await log.ListAsync(after, 1000, default);
            all.AddRange(page);
            if (page.Count < 1000)
            {
                return all;
            }

            after = page[^1].Cursor;
        }
    }

    public static async Task<IReadOnlyList<LinkEvent>> OfUserAsync(IEventLog log, string userId) =>
        (await AllAsync(log)).Select(l => l.Event).Where(e => e.UserId == userId).ToArray();

    /// <summary>The fixture's secret scan, over event bodies: no token, key, code or client secret in any event.</summary>
    public static void ShouldHoldNoSecret(BrokerEnvironmentFixture fixture, IEnumerable<LinkEvent> events) =>
        LogAssertions.ContainNone(
            events.Select(e => Encoding.UTF8.GetString(LinkEventJson.Serialize(e))).ToArray(),
            fixture.SeenSecrets.All.Concat(fixture.SandboxIssued.All));
}
